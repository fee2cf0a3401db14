"""The sensors, evaluated as the daemon evaluates them (build_sensor_context + evaluate_tick)
against a real Dagster instance, a real PostgreSQL and real files in the uploads inbox."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from listings_pipeline.orchestration import schedules
from listings_pipeline.orchestration.sensors import (
    inbox_failure_sensor,
    promotion_after_review_sensor,
    uploads_inbox_sensor,
)
from listings_pipeline.review import decide
from listings_pipeline.settings import get_settings
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.dagster_support import (
    age,
    apply_partitions,
    execute,
    import_config,
    one,
    run_request,
    source_configs_sensor,
    tick,
    write_source,
)
from listings_pipeline_tests.helpers import place, write_csv

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def inbox() -> Iterator[Path]:
    root = get_settings().inbox_dir
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def partition_requests(data) -> list[tuple[str, list[str]]]:  # noqa: ANN001
    return [
        (type(r).__name__.removesuffix("DynamicPartitionsRequest"), list(r.partition_keys))
        for r in data.dynamic_partitions_requests or []
    ]


def stored_config(engine: Engine, slug: str) -> tuple:
    row = one(engine, "SELECT version, active FROM pipeline.configs WHERE slug = :s", s=slug)
    return tuple(row)


# --- source configs ------------------------------------------------------------------------------
def test_new_changed_broken_and_deleted_configs(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, capsys: Capture
) -> None:
    path = write_source(config_dir, "alpha-csv")
    data = tick(source_configs_sensor, instance)
    assert partition_requests(data) == [("Add", ["alpha-csv"])]
    assert data.run_requests == []
    assert stored_config(engine, "alpha-csv") == (1, True)
    apply_partitions(instance, data)

    data = tick(source_configs_sensor, instance, data.cursor)  # nothing changed: nothing to do
    assert partition_requests(data) == [] and data.run_requests == []

    write_source(config_dir, "alpha-csv", name="Alpha renamed")
    data = tick(source_configs_sensor, instance, data.cursor)
    assert partition_requests(data) == []
    assert stored_config(engine, "alpha-csv") == (2, True)

    # An invalid cron: the file is named in the log, no partition and no run for it, and a
    # config that was fine keeps its partition while its file is being fixed.
    write_source(config_dir, "beta-csv", schedule="61 * * * *")
    write_source(config_dir, "alpha-csv", schedule="every day")
    capsys.readouterr()
    data = tick(source_configs_sensor, instance, data.cursor)
    assert partition_requests(data) == [] and data.run_requests == []
    log = capsys.readouterr().err
    assert "beta-csv.yaml" in log and "schedule '61 * * * *' is not a valid cron" in log
    assert "alpha-csv.yaml" in log and "schedule 'every day' must have 5 fields" in log
    assert stored_config(engine, "alpha-csv") == (2, True)
    assert instance.get_dynamic_partitions("source_configs") == ["alpha-csv"]

    path.unlink()
    data = tick(source_configs_sensor, instance, data.cursor)
    assert partition_requests(data) == [("Delete", ["alpha-csv"])]
    assert stored_config(engine, "alpha-csv") == (2, False)


def sensor_cursor(configs: list[schedules.ScheduledConfig], at: datetime) -> str:
    """The cursor the sensor would have stored after a tick at `at`."""
    seen = schedules.evaluate_tick(configs, None, at, lambda: [c.slug for c in configs])
    return json.dumps({"configs": None, "tick": seen.cursor})


def test_cron_due_not_due_and_a_day_of_downtime(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance
) -> None:
    now = datetime.now(UTC)
    later = now + timedelta(hours=12)  # a daily schedule not due for another 12 hours
    write_source(config_dir, "hourly-csv", schedule="0 * * * *")
    write_source(config_dir, "daily-csv", schedule=f"{later.minute} {later.hour} * * *")
    instance.add_dynamic_partitions("source_configs", ["hourly-csv", "daily-csv"])
    configs = [
        schedules.ScheduledConfig("hourly-csv", "0 * * * *", "v"),
        schedules.ScheduledConfig("daily-csv", f"{later.minute} {later.hour} * * *", "v"),
    ]

    last_hour = now.replace(minute=0, second=0, microsecond=0)
    hourly_key = f"hourly-csv:{last_hour.isoformat()}"

    # Last tick an hour ago: the hourly config is due, the daily one (12 hours away) is not.
    data = tick(source_configs_sensor, instance, sensor_cursor(configs, now - timedelta(hours=1)))
    assert [r.run_key for r in data.run_requests] == [hourly_key]

    # The daemon was down for a day: 24 hourly ticks were missed, one run starts for each config.
    data = tick(source_configs_sensor, instance, sensor_cursor(configs, now - timedelta(days=1)))
    keys = sorted(r.run_key for r in data.run_requests)
    assert keys == [
        f"daily-csv:{(later - timedelta(days=1)).replace(second=0, microsecond=0).isoformat()}",
        hourly_key,
    ]
    request = data.run_requests[0]
    assert request.tags["listings/trigger"] == "schedule"
    assert request.run_config["ops"]["raw_file"]["config"]["trigger_type"] == "schedule"

    # Evaluated again right away: nothing is due.
    assert tick(source_configs_sensor, instance, data.cursor).run_requests == []


# --- uploads inbox -------------------------------------------------------------------------------
def test_uploaded_file_starts_one_run_and_is_never_imported_twice(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, inbox: Path, capsys: Capture
) -> None:
    write_source(config_dir, "alpha-csv")
    folder = inbox / "alpha-csv"
    folder.mkdir(parents=True)
    upload = age(write_csv(folder / "march.csv", [place(i) for i in range(1, 4)]), 60)
    age(write_csv(folder / "april.csv", [place(9)]), 0)  # still being written: not yet
    (inbox / "ghost").mkdir()
    age(write_csv(inbox / "ghost" / "x.csv", [place(1)]), 60)

    data = tick(uploads_inbox_sensor, instance)
    assert len(data.run_requests) == 1
    request = data.run_requests[0]
    assert request.partition_key == "alpha-csv"
    assert request.run_key.startswith("inbox:alpha-csv:march.csv:")
    assert request.run_config["ops"]["raw_file"]["config"]["inbox_file"] == str(upload)
    assert partition_requests(data) == [("Add", ["alpha-csv"])]  # config newer than the sync
    log = capsys.readouterr().err
    assert "inbox/ghost/: files wait but nothing is imported: no readable config ghost.yaml" in log

    # The run is queued: the next tick does not ask again.
    assert tick(uploads_inbox_sensor, instance, data.cursor).run_requests == []

    apply_partitions(instance, data)
    result = run_request(instance, request, "listings_pipeline")
    assert result.success
    assert count(engine, "public.listings") == 3
    assert not upload.exists()
    (done,) = (folder / "done").iterdir()
    assert done.name.endswith("-job-000001-march.csv")
    job = one(engine, "SELECT trigger_type, triggered_by FROM pipeline.jobs")
    assert tuple(job) == ("upload", "inbox:march.csv")

    # The same request launched again (a duplicate launch) imports nothing.
    again = run_request(instance, request, "listings_pipeline")
    assert not again.success
    assert count(engine, "pipeline.jobs") == 1
    assert tick(uploads_inbox_sensor, instance, data.cursor).run_requests == []  # april: too new


def test_upload_that_cannot_be_imported_is_moved_to_failed_with_the_reason(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, inbox: Path
) -> None:
    write_source(config_dir, "alpha-csv")
    folder = inbox / "alpha-csv"
    folder.mkdir(parents=True)
    upload = folder / "empty.csv"
    upload.write_bytes(b"")
    age(upload, 60)
    data = tick(uploads_inbox_sensor, instance)
    apply_partitions(instance, data)
    result = run_request(instance, data.run_requests[0], "listings_pipeline")
    assert not result.success
    assert upload.exists()  # the import never completed: raw_file left it

    context = dg.build_run_status_sensor_context(
        sensor_name="inbox_failure_sensor",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    inbox_failure_sensor(context)
    assert not upload.exists()
    moved = [p for p in (folder / "failed").iterdir() if p.name.endswith("-empty.csv")]
    reason = moved[0].with_name(moved[0].name + ".error.txt").read_text()
    assert "input file is empty" in reason and result.run_id in reason
    assert count(engine, "pipeline.jobs") == 0
    assert tick(uploads_inbox_sensor, instance).skip_message == "no file waits in the uploads inbox"


# --- promotion after review ----------------------------------------------------------------------
def test_promotion_starts_once_when_the_last_waiting_row_is_decided(
    engine: Engine, config_dir: Path, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    write_source(config_dir, "alpha-csv")
    first = write_csv(tmp_path / "first.csv", [place(i) for i in range(1, 4)])
    second = write_csv(tmp_path / "second.csv", [place(1), place(2)])
    assert execute(instance, "listings_pipeline", "alpha-csv", import_config(first)).success
    # Place 3 is missing from the second import: a deletion, which waits for a person (the
    # run ends without failing; promotion waits).
    waiting = execute(instance, "listings_pipeline", "alpha-csv", import_config(second))
    assert waiting.success
    job_id, status = one(engine, "SELECT id, status FROM pipeline.jobs ORDER BY id DESC LIMIT 1")
    assert status == "review"

    data = tick(promotion_after_review_sensor, instance)
    assert data.run_requests == []  # a row still waits

    decide(engine, job_id, "approve", reviewer="ana", all_rows=True)
    data = tick(promotion_after_review_sensor, instance, data.cursor)
    assert [(r.run_key, r.partition_key) for r in data.run_requests] == [
        (f"promote:{job_id}", "alpha-csv")
    ]
    assert tick(promotion_after_review_sensor, instance, data.cursor).run_requests == []

    assert run_request(instance, data.run_requests[0], "promote_listings").success
    hidden = one(engine, "SELECT listing_visible, listing_status FROM public.listings "
                 "WHERE name = 'Place 3'")  # fmt: skip
    assert tuple(hidden) == (False, "missing_from_import")
    assert one(engine, "SELECT status FROM pipeline.jobs WHERE id = :j", j=job_id)[0] == (
        "completed"
    )
    assert tick(promotion_after_review_sensor, instance).run_requests == []
