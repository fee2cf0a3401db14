"""The instance's run coordinator: Dagster's run queue, which also works without a daemon.

Every run — the UI, sensors, backfills, the CLI, the console, the demo — is submitted to the
instance and queued (`QUEUED`). While a Dagster daemon is alive (`listings-pipeline ui`, or
`dagster-daemon run` in production) the daemon dequeues it within the limits of dagster.yaml
(`concurrency.runs`: at most N runs, one per partition, image runs apart) and launches it with
the configured run launcher, exactly as `QueuedRunCoordinator` does.

With no live daemon (a heartbeat younger than DAEMON_TOLERANCE_SECONDS), nothing would ever
dequeue the run, so the process that submitted it dequeues it itself: it waits until the same
limits allow the run, then launches it through the same run launcher. Submitters take turns
under a PostgreSQL advisory lock, so two of them never both take the last slot. If a daemon
comes up meanwhile, the submitter steps back and leaves the run in the queue for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from listings_pipeline.orchestration.instance import storage_url_from_env

QUEUE_DAEMON = "QUEUED_RUN_COORDINATOR"
# The daemon beats every 30 s; two missed beats and a margin mean it is gone.
DAEMON_TOLERANCE_SECONDS = 75
_LOCK_KEY = 7_231_018  # pg_advisory_lock key: one submitter at a time checks and takes a slot
_IN_PROGRESS = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
log = logging.getLogger("listings_pipeline.run_coordinator")


def daemon_alive(instance: dg.DagsterInstance, now: float | None = None) -> bool:
    """Whether a daemon that dequeues runs has sent a heartbeat recently."""
    beat = instance.get_daemon_heartbeats().get(QUEUE_DAEMON)
    return beat is not None and (now or time.time()) - beat.timestamp < DAEMON_TOLERANCE_SECONDS


def _rule_applies(rule: Mapping[str, Any], tags: Mapping[str, str], own: Mapping[str, str]) -> bool:
    """Whether a run with `tags` counts against `rule` as applied to a run with tags `own`."""
    key, value = rule["key"], rule.get("value")
    if key not in tags or key not in own:
        return False
    if isinstance(value, dict) and value.get("applyLimitPerUniqueValue"):
        return tags[key] == own[key]
    return value is None or (tags[key] == value and own[key] == value)


def blocking_reason(
    run: dg.DagsterRun,
    in_progress: Sequence[dg.DagsterRun],
    max_concurrent_runs: int,
    tag_limits: Sequence[Mapping[str, Any]],
) -> str | None:
    """Why `run` may not start now under the queue's limits, or None if it may."""
    others = [r for r in in_progress if r.run_id != run.run_id]
    if 0 <= max_concurrent_runs <= len(others):
        return f"{len(others)} runs in progress (max_concurrent_runs {max_concurrent_runs})"
    for rule in tag_limits:
        holders = [r for r in others if _rule_applies(rule, r.tags, run.tags)]
        if holders and len(holders) >= rule["limit"]:
            ids = ", ".join(r.run_id[:8] for r in holders)
            return f"{rule['key']}={run.tags.get(rule['key'])} is taken by run {ids}"
    return None


class ListingsRunCoordinator(dg.QueuedRunCoordinator):
    """QueuedRunCoordinator whose submitter dequeues its own run while no daemon is alive."""

    def submit_run(self, context: Any) -> dg.DagsterRun:
        run = super().submit_run(context)
        instance = self._instance
        if run.status != dg.DagsterRunStatus.QUEUED or daemon_alive(instance):
            return run
        return self._launch_when_free(instance, run.run_id, context.workspace)

    def _launch_when_free(
        self, instance: dg.DagsterInstance, run_id: str, workspace: Any
    ) -> dg.DagsterRun:
        config = instance.get_concurrency_config().run_queue_config
        max_runs = config.max_concurrent_runs if config else -1
        tag_limits = list(config.tag_concurrency_limits or []) if config else []
        engine = create_engine(storage_url_from_env(), poolclass=NullPool)
        said = None
        try:
            while True:
                with engine.connect() as conn:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
                    try:
                        run = instance.get_run_by_id(run_id)
                        if run is None or run.status != dg.DagsterRunStatus.QUEUED:
                            return run  # type: ignore[return-value]  # canceled meanwhile
                        if daemon_alive(instance):
                            return run  # a daemon came up: it dequeues the run
                        in_progress = instance.get_runs(dg.RunsFilter(statuses=_IN_PROGRESS))
                        reason = blocking_reason(run, in_progress, max_runs, tag_limits)
                        if reason is None:
                            # Reports the run STARTING (so the next submitter counts it) and
                            # hands it to the instance's run launcher.
                            return instance.launch_run(run_id, workspace)
                    finally:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                if reason != said:
                    instance.report_engine_event(f"Queued: {reason}", run)
                    said = reason
                time.sleep(1.0)
        finally:
            engine.dispose()
