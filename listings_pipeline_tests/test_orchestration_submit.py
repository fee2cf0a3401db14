"""One way in: runs are submitted to the Dagster instance (queued, then launched by the run
launcher, within dagster.yaml's limits) even with no daemon, whose job the submitter then does
for its own run. Real instance on PostgreSQL, real `dagster job launch`, real run workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine, text

from listings_pipeline.orchestration.coordinator import blocking_reason, daemon_alive
from listings_pipeline.orchestration.instance import get_instance
from listings_pipeline.orchestration.runner import RunOutcome, run_partition
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.dagster_support import write_source
from listings_pipeline_tests.helpers import place, write_csv

LIMITS = [
    {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
    {"key": "listings/images", "limit": 1},
]


def fake_run(run_id: str, **tags: str) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="listings_pipeline", run_id=run_id, tags=tags)


def test_queue_limits_one_run_per_partition_images_apart_and_a_total() -> None:
    part = "dagster/partition"
    mine = fake_run("new-run", **{part: "coast-csv"})
    other_source = fake_run("aaaaaaaa-1", **{part: "lake-csv"})
    images = fake_run("bbbbbbbb-2", **{"listings/images": "all"})
    same_source = fake_run("cccccccc-3", **{part: "coast-csv"})
    assert blocking_reason(mine, [other_source, images], 4, LIMITS) is None
    assert blocking_reason(mine, [other_source, same_source], 4, LIMITS) == (
        "dagster/partition=coast-csv is taken by run cccccccc"
    )
    more_images = fake_run("new-images", **{"listings/images": "all"})
    assert "listings/images=all is taken by run bbbbbbbb" in str(
        blocking_reason(more_images, [images], 4, LIMITS)
    )
    busy = [fake_run(f"run-{i}", **{part: f"s{i}"}) for i in range(4)]
    assert blocking_reason(mine, busy, 4, LIMITS) == "4 runs in progress (max_concurrent_runs 4)"
    assert blocking_reason(mine, busy, -1, LIMITS) is None  # -1: no total limit


def events(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, float, str]]:
    return [
        (
            r.event_log_entry.dagster_event.event_type_value,
            r.event_log_entry.timestamp,
            r.event_log_entry.message or "",
        )
        for r in instance.get_records_for_run(run_id).records
        if r.event_log_entry.dagster_event is not None
    ]


def window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    stamps = {kind: at for kind, at, _ in events(instance, run_id)}
    return stamps["PIPELINE_START"], stamps["PIPELINE_SUCCESS"]


HOLD_KEY = 424_242


def hold_transforms(engine: Engine) -> None:
    """Make a transform wait while the test holds advisory lock HOLD_KEY (a statement trigger
    that takes and releases it), so a run stays in progress exactly as long as the test wants."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION public.test_hold() RETURNS trigger LANGUAGE plpgsql"
                f" AS $$ BEGIN PERFORM pg_advisory_lock({HOLD_KEY});"
                f" PERFORM pg_advisory_unlock({HOLD_KEY}); RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER test_hold BEFORE INSERT ON stage.listings_flat"
                " FOR EACH STATEMENT EXECUTE FUNCTION public.test_hold()"
            )
        )


def wait_for(what: str, found: Callable[[], object], seconds: float = 300) -> object:
    deadline = time.monotonic() + seconds
    while not (value := found()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return value


def test_two_submitted_runs_of_one_partition_never_run_at_once(
    engine: Engine, config_dir: Path, tmp_path: Path
) -> None:
    write_source(config_dir, "alpha-csv")
    files = [write_csv(tmp_path / f"{n}.csv", [place(i) for i in range(1, 30)]) for n in "ab"]
    instance = get_instance()
    assert not daemon_alive(instance)  # no daemon: each submitter launches its own run
    outcomes: list[RunOutcome] = []
    lines: list[str] = []

    def submit(path: Path) -> None:
        outcomes.append(run_partition("alpha-csv", path, echo=lines.append))

    hold_transforms(engine)
    threads = [threading.Thread(target=submit, args=(f,)) for f in files]
    partition = {"dagster/partition": "alpha-csv"}
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": HOLD_KEY})
        try:
            threads[0].start()  # the first run starts, then waits in its transform
            wait_for("the first run starts", lambda: instance.get_runs(
                dg.RunsFilter(tags=partition, statuses=[dg.DagsterRunStatus.STARTED])))  # fmt: skip
            threads[1].start()  # the second is queued behind it, with the reason in its log
            wait_for("the second run waits", lambda: instance.get_runs(
                dg.RunsFilter(tags=partition, statuses=[dg.DagsterRunStatus.QUEUED])))  # fmt: skip
            time.sleep(3)  # it stays queued while the first runs
            queued = instance.get_runs(
                dg.RunsFilter(tags=partition, statuses=[dg.DagsterRunStatus.QUEUED])
            )
            assert len(queued) == 1
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": HOLD_KEY})
            holder.commit()
    try:
        for thread in threads:
            thread.join(timeout=600)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS test_hold ON stage.listings_flat"))
    assert [o.status for o in outcomes] == ["SUCCESS", "SUCCESS"], [o.failures for o in outcomes]
    first, second = sorted((window(instance, o.run_id), o.run_id) for o in outcomes)
    assert first[0][1] <= second[0][0]  # the second started after the first had finished
    for outcome in outcomes:
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None and run.tags["dagster/partition"] == "alpha-csv"
        kinds = [kind for kind, _, _ in events(instance, outcome.run_id)]
        # Queued first, like any run started in the UI, then launched by the run launcher.
        assert kinds.index("PIPELINE_ENQUEUED") < kinds.index("PIPELINE_STARTING")
    waited = [m for _, _, m in events(instance, second[1]) if m.startswith("Queued: ")]
    assert waited and "dagster/partition=alpha-csv is taken by run" in waited[0]
    assert "queued" in lines and any("raw_file: import: 29 records read" in ln for ln in lines)
    assert count(engine, "pipeline.jobs") == 2
