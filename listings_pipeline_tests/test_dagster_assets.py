"""The Dagster layer in-process: the pipeline job of a partition, the review gate (a wait for
review is not a failure), the approval job and the promotion job, against a temporary Dagster
instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import Engine, text

from listings_pipeline.definitions import defs
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, place, write_csv


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def _write_config(config_dir: Path) -> str:
    config = csv_config("harbour-csv", 3)
    (config_dir / "harbour-csv.yaml").write_text(yaml.safe_dump(config.to_json()))
    return config.slug


def _run(instance: dg.DagsterInstance, job: str, slug: str, input_path: Path | None = None):
    instance.add_dynamic_partitions(source_configs.name, [slug])
    run_config = {}
    if input_path is not None:
        run_config = {"ops": {"raw_file": {"config": {"input_path": str(input_path)}}}}
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=slug, run_config=run_config, raise_on_error=False
    )


def approval_config(**values: object) -> dict:
    return {"ops": {"apply_review_decision": {"config": values}}}


def test_gate_holds_promotion_without_failing_until_approved_in_dagster(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    slug = _write_config(config_dir)
    first = _run(
        instance, "listings_pipeline", slug, write_csv(tmp_path / "a.csv", [place(1), place(2)])
    )
    assert first.success
    materialized = {
        e.asset_key.path[-1]
        for e in first.all_events
        if e.is_step_materialization and e.asset_key is not None
    }
    assert materialized == {"raw_file", "staged_rows", "promoted_listings"}
    assert count(engine, "public.listings") == 2

    # Place 2 is missing from the next export: it waits for a person. The run does not fail
    # (a review is routine); the gate warns, says how to decide, and nothing is promoted.
    second = _run(instance, "listings_pipeline", slug, write_csv(tmp_path / "b.csv", [place(1)]))
    assert second.success
    assert second.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    [check] = second.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.description.startswith("waiting for review: ")
    assert "1 rows wait for review (1 delete)" in check.description
    assert "listings-pipeline review approve" in check.description
    assert "/review" in check.metadata["review_page"].value
    materialized = {e.asset_key.path[-1] for e in second.get_asset_materialization_events()}
    assert materialized == {"raw_file", "staged_rows"}
    tags = instance.get_run_by_id(second.run_id).tags
    assert tags["listings/review"].startswith("waiting: 1 rows, job ")
    with engine.connect() as conn:
        job_id, status = conn.execute(
            text("SELECT id, status FROM pipeline.jobs ORDER BY id DESC LIMIT 1")
        ).one()
        assert status == "review"
        assert (
            conn.execute(
                text("SELECT count(*) FROM public.listings WHERE listing_visible")
            ).scalar_one()
            == 2
        )

    approval_job = defs.resolve_job_def("review_approval")
    # A misspelt decision is refused when the run is launched, before anything is decided.
    with pytest.raises(dg.DagsterInvalidConfigError, match="aprove"):
        approval_job.execute_in_process(
            instance=instance,
            partition_key=slug,
            run_config=approval_config(decision="aprove", reviewer="rita", kind="delete"),
        )
    # The approval job finds the partition's waiting job itself.
    approval = approval_job.execute_in_process(
        instance=instance,
        partition_key=slug,
        run_config=approval_config(decision="approve", reviewer="rita", kind="delete"),
    )
    assert approval.success
    with engine.connect() as conn:
        decided = conn.execute(
            text(
                "SELECT reviewed_by FROM stage.listings_flat WHERE job_id = :j"
                " AND change_kind = 'delete'"
            ),
            {"j": job_id},
        ).scalar_one()
    assert decided == "rita"
    promoted = _run(instance, "promote_listings", slug)
    assert promoted.success
    assert promoted.get_asset_check_evaluations()[0].passed
    with engine.connect() as conn:
        visible = (
            conn.execute(
                text("SELECT name FROM public.listings WHERE listing_visible ORDER BY name")
            )
            .scalars()
            .all()
        )
    assert visible == ["Place 1"]


def test_partition_without_config_fails_with_clear_message(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance
) -> None:
    result = _run(instance, "listings_pipeline", "gone-csv")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no source config for partition 'gone-csv'" in str(failure.event_specific_data)
    assert count(engine, "pipeline.jobs") == 0
