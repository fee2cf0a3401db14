"""Runs of the Dagster jobs in process against a real instance and a real PostgreSQL: retries
that resume instead of re-importing, transient errors retried with backoff, bad input failing
once with a clear message, the database pool, the images after promotion, and what each
materialisation shows in the UI."""

from __future__ import annotations

import functools
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.instance.ref import InstanceRef
from dagster._core.test_utils import create_run_for_test
from PIL import Image
from sqlalchemy import Engine, text

from listings_pipeline.definitions import defs
from listings_pipeline.orchestration.assets import POOL
from listings_pipeline.orchestration.instance import INSTANCE_YAML
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.dagster_support import (
    execute,
    fail_stage_inserts,
    failures,
    heal_stage_inserts,
    import_config,
    materialization,
    one,
    reexecute_from_failure,
    write_source,
)
from listings_pipeline_tests.helpers import place, write_csv
from listings_pipeline_tests.local_http import LocalServer, Reply

SLUG = "alpha-csv"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def stage_trigger(engine: Engine) -> Iterator[Callable[..., None]]:
    yield functools.partial(fail_stage_inserts, engine)
    heal_stage_inserts(engine)


def step_events(result: dg.ExecuteInProcessResult, step: str, kind: str) -> int:
    return sum(1 for e in result.all_events if e.step_key == step and e.event_type_value == kind)


def job_row(engine: Engine, job_id: int) -> tuple:
    return tuple(
        one(
            engine,
            "SELECT status, current_stage::text, error_message FROM pipeline.jobs WHERE id = :j",
            j=job_id,
        )  # fmt: skip
    )


# --- retries and resuming ------------------------------------------------------------------------
def test_backfill_resumes_the_failed_transform_without_importing_again(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, tmp_path: Path, stage_trigger
) -> None:
    write_source(config_dir, SLUG)
    csv = write_csv(tmp_path / "places.csv", [place(i) for i in range(1, 6)])
    stage_trigger("P0001", "stage table is full")  # not transient: no retry

    failed = execute(instance, "listings_pipeline", SLUG, import_config(csv))
    assert not failed.success
    assert step_events(failed, "staged_rows", "STEP_UP_FOR_RETRY") == 0
    (message,) = failures(failed)
    assert "RaiseException: stage table is full" in message and "[SQL:" not in message
    # The dead letter: the job is failed with its reason, at the stage that failed.
    status, stage, error = job_row(engine, 1)
    assert (status, stage) == ("failed", "transform") and "stage table is full" in error
    assert error.startswith("RaiseException: ") and "[SQL:" not in error  # no statement dump
    assert count(engine, "pipeline.files") == 1

    heal_stage_inserts(engine)
    # A backfill over the failed partition (Dagster tags its runs with dagster/backfill).
    retried = execute(instance, "listings_pipeline", SLUG, tags={"dagster/backfill": "bf1"})
    assert retried.success, failures(retried)
    assert materialization(retried, "raw_file")["resumed"] is True
    assert count(engine, "pipeline.jobs") == 1 and count(engine, "pipeline.files") == 1
    assert job_row(engine, 1) == ("completed", "promote", None)
    assert count(engine, "public.listings") == 5

    # A plain new run is a new job, not a resume. Of the same file it is an unchanged import
    # (issue 19): the first job's raw file stands in, none is stored again.
    fresh = execute(instance, "listings_pipeline", SLUG, import_config(csv))
    assert fresh.success
    assert materialization(fresh, "raw_file")["resumed"] is False
    assert count(engine, "pipeline.jobs") == 2 and count(engine, "pipeline.files") == 1
    with engine.connect() as conn:
        unchanged_of = conn.execute(text("SELECT unchanged_of FROM pipeline.jobs WHERE id = 2"))
        assert unchanged_of.scalar_one() == 1


def test_reexecution_from_failure_continues_the_same_job(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, tmp_path: Path, stage_trigger
) -> None:
    write_source(config_dir, SLUG)
    csv = write_csv(tmp_path / "places.csv", [place(i) for i in range(1, 4)])
    stage_trigger("P0001", "stage table is full")
    failed = execute(instance, "listings_pipeline", SLUG, import_config(csv))
    assert not failed.success
    heal_stage_inserts(engine)

    again = reexecute_from_failure(instance, failed.run_id)
    assert again.success
    assert count(engine, "pipeline.jobs") == 1 and count(engine, "pipeline.files") == 1
    assert job_row(engine, 1) == ("completed", "promote", None)
    assert count(engine, "public.listings") == 3


def test_transient_database_error_is_retried_with_backoff(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, tmp_path: Path, stage_trigger
) -> None:
    write_source(config_dir, SLUG)
    csv = write_csv(tmp_path / "places.csv", [place(i) for i in range(1, 4)])
    stage_trigger("08006", "connection failure", times=1)  # the server went away, once

    result = execute(instance, "listings_pipeline", SLUG, import_config(csv))
    assert result.success, failures(result)
    assert step_events(result, "staged_rows", "STEP_UP_FOR_RETRY") == 1
    attempts = one(
        engine,
        "SELECT attempt_count, retry_count, status FROM pipeline.job_stages"
        " WHERE job_id = 1 AND name = 'transform'",
    )
    assert tuple(attempts) == (2, 1, "completed")
    assert job_row(engine, 1) == ("completed", "promote", None)
    assert count(engine, "public.listings") == 3


def test_asset_retry_policy_is_exponential_with_jitter() -> None:
    for name in ("raw_file", "staged_rows", "promoted_listings", "listing_images"):
        policy = defs.resolve_assets_def(name).op.retry_policy
        assert policy is not None and policy.max_retries >= 3, name
        assert (policy.backoff, policy.jitter) == (dg.Backoff.EXPONENTIAL, dg.Jitter.PLUS_MINUS)


def test_partition_without_config_fails_once_with_a_clear_message(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance
) -> None:
    result = execute(instance, "listings_pipeline", "gone-csv", tags={"dagster/backfill": "bf"})
    assert not result.success
    (message,) = failures(result)
    assert "no source config for partition 'gone-csv'" in message
    assert "gone-csv.yaml does not exist" in message
    assert step_events(result, "raw_file", "STEP_UP_FOR_RETRY") == 0
    assert count(engine, "pipeline.jobs") == 0


# --- concurrency ---------------------------------------------------------------------------------
def test_database_heavy_steps_share_a_pool_of_two_slots(
    tmp_path: Path, dagster_storage: str
) -> None:
    pooled = {
        name: defs.resolve_assets_def(name).op.pool
        for name in ("raw_file", "staged_rows", "promoted_listings", "listing_images")
    }
    assert pooled == {
        "raw_file": None,  # waits on HTTP sources: must not hold a database slot
        "staged_rows": POOL,
        "promoted_listings": POOL,
        "listing_images": None,
    }
    shutil.copy(INSTANCE_YAML, tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        runs = [create_run_for_test(instance, f"job{i}") for i in range(3)]
        contexts = [InstanceConcurrencyContext(instance, run) for run in runs]
        for context in contexts:
            context.__enter__()
        claimed = [context.claim(POOL, "staged_rows") for context in contexts]
        assert claimed == [True, True, False]  # the third step waits in its run
        assert instance.event_log_storage.get_pool_limits()[0].limit == 2
        contexts[0].free_step("staged_rows")
        retry = InstanceConcurrencyContext(instance, runs[2])
        assert retry.claim(POOL, "staged_rows")
        for context in contexts:
            context.__exit__(None, None, None)
    finally:
        instance.dispose()


# --- images and metadata -------------------------------------------------------------------------
def jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_images_follow_promotion_and_a_broken_image_does_not_fail_the_run(
    engine: Engine,
    config_dir: Path,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")  # the image server's address
    monkeypatch.setenv("LISTINGS_IMAGES_DIR", str(tmp_path / "images"))
    write_source(config_dir, SLUG)
    with LocalServer() as server:
        server.routes["/ok.jpg"] = lambda _: Reply(
            200, jpeg((640, 480)), {"Content-Type": "image/jpeg"}
        )
        rows = [place(1, Image1=f"{server.url}/ok.jpg"), place(2, Image1=f"{server.url}/gone.jpg")]
        csv = write_csv(tmp_path / "places.csv", rows)
        automation = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert automation.total_requested == 0

        result = execute(instance, "listings_pipeline", SLUG, import_config(csv))
        assert result.success
        automation = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=automation.cursor
        )
        # One images run for all sources, without a partition: it never takes the source's
        # run slot (dagster/partition), only its own (listings/images, dagster.yaml).
        assert automation.total_requested == 1
        assert automation.get_num_requested(dg.AssetKey("listing_images")) == 1
        assert defs.resolve_assets_def("listing_images").partitions_def is None

        images_job = defs.resolve_job_def("process_images")
        assert images_job.tags["listings/images"] == "all"
        images = images_job.execute_in_process(instance=instance, raise_on_error=False)
        assert images.success, failures(images)
    meta = materialization(images, "listing_images")
    assert (meta["stored"], meta["failed"], meta["jobs"]) == (1, 1, [1])
    assert "| http_status | 1 |" in meta["failed_by_reason"]
    assert "/gone.jpg" in meta["failed_preview"] and "404" in meta["failed_preview"]
    assert count(engine, "pipeline.image_assets") == 2
    automation = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=automation.cursor
    )
    assert automation.total_requested == 0  # done: not requested again


def test_materialisations_show_counts_as_numbers_and_previews(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    write_source(config_dir, SLUG)
    first = write_csv(tmp_path / "first.csv", [place(i) for i in range(1, 4)])
    second = write_csv(tmp_path / "second.csv", [place(1), place(2)])
    assert execute(instance, "listings_pipeline", SLUG, import_config(first)).success
    blocked = execute(instance, "listings_pipeline", SLUG, import_config(second))
    assert blocked.success  # waiting for review is not a failure

    raw = blocked.get_asset_materialization_events()[0].step_materialization_data.materialization
    assert isinstance(raw.metadata["records_total"], dg.IntMetadataValue)
    assert isinstance(raw.metadata["seconds"], dg.FloatMetadataValue)
    assert raw.metadata["dagster/row_count"].value == 2
    assert raw.metadata["input_file"].value == "second.csv"
    assert "job-000002-01.jsonl.gz" in raw.metadata["files"].value

    staged = materialization(blocked, "staged_rows")
    assert (staged["records_deleted"], staged["waiting_for_review"]) == (1, 1)
    assert staged["review_pending"] == 1
    assert "| delete |" in staged["waiting_preview"] and "Place 3" in staged["waiting_preview"]
    assert "| listings |" in staged["actions_by_table"]
    (check,) = blocked.get_asset_check_evaluations()
    assert not check.passed and check.metadata["waiting_delete"].value == 1
