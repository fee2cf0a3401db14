"""The nightly maintenance job (schedule daily_maintenance): stale-job sweep, then stage
retention, then expiry — one after the other, in one run."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
from sqlalchemy import Engine

from listings_pipeline.definitions import defs


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def test_maintenance_sweeps_prunes_and_expires_in_order(
    engine: Engine, config_dir: object, instance: dg.DagsterInstance
) -> None:
    result = defs.resolve_job_def("maintenance").execute_in_process(instance=instance)
    assert result.success
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert started == ["sweep_stale_jobs_op", "prune_stage_op", "archive_expired_listings"]
    logs = [r.user_message for r in instance.all_logs(result.run_id) if r.user_message]
    assert any(m.startswith("pruned 0 stage rows of 0 jobs") for m in logs)
    schedule = defs.resolve_schedule_def("daily_maintenance")
    assert (schedule.cron_schedule, schedule.job_name) == ("15 3 * * *", "maintenance")
