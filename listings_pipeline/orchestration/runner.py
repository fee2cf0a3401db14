"""One way in: every run the project starts is submitted to the Dagster instance.

`submit` hands a job, a partition, typed run config and tags to `dagster job launch` (Dagster's
own command for "launch through the instance's run coordinator and run launcher"), so the run
is queued, counted against the limits of dagster.yaml, monitored, retried and launched by the
configured run launcher like a run started in the UI. `follow` waits for the run and reports
its progress (the run's own log: step starts, counts as the stages go, the review gate,
failures) line by line. The CLI, the console (in a background thread: the run itself is always
another process), the demo and the JSON API call `run_partition` / `promote_partition`.

Without a live daemon the submitting process dequeues its own run within the same limits
(orchestration/coordinator.py), so the CLI works with or without `listings-pipeline ui`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from listings_pipeline.orchestration.instance import WORKSPACE_YAML, get_instance
from listings_pipeline.orchestration.run_config import (
    JOB_TAG,
    TRIGGER_TAG,
    import_run_config,
)

PIPELINE_JOB = "listings_pipeline"
PROMOTION_JOB = "promote_listings"
PARTITIONS = "source_configs"  # the dynamic partitions definition's name
Echo = Callable[[str], None]
_POLL_SECONDS = 0.5
_SHOWN_STEP_EVENTS = {"STEP_START", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "STEP_RESTARTED"}
_FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


class LaunchFailed(Exception):
    """`dagster job launch` could not create or submit the run."""


class DaemonGone(Exception):
    """The run was queued for a daemon that stopped before taking it (it was cancelled)."""


@dataclass
class RunOutcome:
    run_id: str
    status: str  # SUCCESS, FAILURE or CANCELED
    failures: list[str] = field(default_factory=list)
    gate: dict[str, Any] | None = None  # the review_gate check: passed, description

    @property
    def success(self) -> bool:
        return self.status == "SUCCESS"


@dataclass
class Submitted:
    run_id: str
    process: subprocess.Popen
    log: Path


def submit(
    job: str,
    partition: str | None,
    run_config: dg.RunConfig | None = None,
    tags: dict[str, str] | None = None,
) -> Submitted:
    """Create the run in the instance and submit it; return once it is queued or launched."""
    instance = get_instance()
    if partition is not None and not instance.has_dynamic_partition(PARTITIONS, partition):
        try:
            instance.add_dynamic_partitions(PARTITIONS, [partition])
        except Exception:  # another run of a new source added it meanwhile
            if not instance.has_dynamic_partition(PARTITIONS, partition):
                raise
    run_id = str(uuid.uuid4())
    run_tags = {**(tags or {}), **({"dagster/partition": partition} if partition else {})}
    config = run_config.to_config_dict() if run_config is not None else {}
    logs = Path(os.environ["DAGSTER_HOME"]) / "launches"
    logs.mkdir(exist_ok=True)
    log = logs / f"{run_id}.log"
    command = [
        sys.executable, "-m", "dagster", "job", "launch", "-w", str(WORKSPACE_YAML),
        "-j", job, "--run-id", run_id, "--tags", json.dumps(run_tags),
        "--config-json", json.dumps(config),
    ]  # fmt: skip
    with log.open("wb") as out:
        # Its own session: Ctrl-C in a terminal stops the CLI's wait, and the CLI then
        # terminates the run through Dagster, as the UI's "Terminate" does.
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    while (run := instance.get_run_by_id(run_id)) is None or run.status.value == "NOT_STARTED":
        if process.poll() is not None:
            if run is None or process.returncode != 0:
                raise LaunchFailed(f"dagster job launch failed:\n{_tail(log)}")
            break
        time.sleep(0.2)
    return Submitted(run_id, process, log)


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def describe(entry: Any) -> str | None:
    """One line for a person following the run, or None for events that say nothing new."""
    event = entry.dagster_event
    where = entry.step_key or "run"
    if event is None:  # context.log messages: the stages' progress
        return f"{where}: {entry.user_message}" if entry.level >= 20 else None
    kind = event.event_type_value
    if kind in _SHOWN_STEP_EVENTS:
        data = event.event_specific_data
        error = getattr(data, "error", None)
        message = f"{kind.lower().replace('_', ' ')}" + (
            f": {error.message.strip()}" if error else ""
        )
        return f"{where}: {message}"
    if kind == "ASSET_CHECK_EVALUATION":
        return f"review gate: {event.event_specific_data.description}"
    if kind in ("PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_START"):
        return {"PIPELINE_ENQUEUED": "queued", "PIPELINE_STARTING": "launching",
                "PIPELINE_START": "started"}[kind]  # fmt: skip
    if kind == "ENGINE_EVENT" and (entry.message or "").startswith("Queued: "):
        return entry.message  # the coordinator says what the run waits for
    if kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_CANCELED"):
        return f"run {kind.removeprefix('PIPELINE_').lower()}"
    return None


def follow(submitted: Submitted, echo: Echo | None = None) -> RunOutcome:
    """Wait for the run to finish, passing each progress line to `echo`."""
    instance = get_instance()
    cursor: str | None = None
    failures: list[str] = []
    gate: dict[str, Any] | None = None
    try:
        while True:
            run = instance.get_run_by_id(submitted.run_id)
            connection = instance.get_records_for_run(submitted.run_id, cursor=cursor, limit=500)
            cursor = connection.cursor
            for record in connection.records:
                entry = record.event_log_entry
                event = entry.dagster_event
                if event is not None and event.is_step_failure:
                    failures.append(event.event_specific_data.error.message.strip())
                if event is not None and event.event_type_value == "ASSET_CHECK_EVALUATION":
                    data = event.event_specific_data
                    gate = {"passed": data.passed, "description": data.description}
                line = describe(entry)
                if line and echo:
                    echo(line)
            if connection.has_more:
                continue
            if run is not None and run.status.value in _FINISHED:
                if run.status.value == "FAILURE" and not failures:
                    failures.append(_run_failure_message(instance, submitted.run_id))
                return RunOutcome(submitted.run_id, run.status.value, failures, gate)
            if _orphaned(instance, run, submitted.process):
                instance.report_run_canceled(run, message="no Dagster daemon left to launch it")
                raise DaemonGone(submitted.run_id)
            time.sleep(_POLL_SECONDS)
    except KeyboardInterrupt:
        instance.run_coordinator.cancel_run(submitted.run_id)
        raise
    finally:
        _reap(submitted.process)


def _reap(process: subprocess.Popen) -> None:
    """`dagster job launch` exits by itself once its code server has let go of the run (a few
    seconds after it ends). It is left to do so — killing it would orphan the code server — and
    collected in the background, so the caller returns as soon as the run is over."""
    threading.Thread(target=process.wait, name="reap-dagster-launch", daemon=True).start()


def _orphaned(
    instance: dg.DagsterInstance, run: dg.DagsterRun | None, process: subprocess.Popen
) -> bool:
    """Queued for a daemon that has since stopped: nothing will ever launch it."""
    from listings_pipeline.orchestration.coordinator import daemon_alive

    queued = run is not None and run.status == dg.DagsterRunStatus.QUEUED
    return queued and process.poll() is not None and not daemon_alive(instance)


def _finished(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is not None and run.status.value in _FINISHED


def _run_failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.RUN_FAILURE, ascending=False, limit=1
    ).records
    return (records[0].event_log_entry.user_message if records else "") or "the run failed"


def submit_partition_run(
    slug: str, input_path: Path | None, *, trigger_type: str = "manual", triggered_by: str = "cli"
) -> Submitted:
    """Queue (or launch) import → transform → gate → promote of `slug`; return at once."""
    config = import_run_config(
        input_path=str(input_path.resolve()) if input_path else None,
        trigger_type=trigger_type,
        triggered_by=triggered_by,
    )
    return submit(PIPELINE_JOB, slug, config, {TRIGGER_TAG: trigger_type})


def submit_promotion(slug: str, job_id: int | None = None, *, trigger: str = "manual") -> Submitted:
    """Queue (or launch) the promotion of `slug`'s job `job_id` (default: its latest job)."""
    tags = {TRIGGER_TAG: trigger, **({JOB_TAG: str(job_id)} if job_id is not None else {})}
    return submit(PROMOTION_JOB, slug, None, tags)


def run_partition(
    slug: str,
    input_path: Path | None,
    *,
    trigger_type: str = "manual",
    triggered_by: str = "cli",
    echo: Echo | None = None,
) -> RunOutcome:
    def again() -> Submitted:
        return submit_partition_run(
            slug, input_path, trigger_type=trigger_type, triggered_by=triggered_by
        )

    return _follow_once_more(again, echo)


def promote_partition(
    slug: str, job_id: int | None = None, *, trigger: str = "manual", echo: Echo | None = None
) -> RunOutcome:
    return _follow_once_more(lambda: submit_promotion(slug, job_id, trigger=trigger), echo)


def _follow_once_more(submit_run: Callable[[], Submitted], echo: Echo | None) -> RunOutcome:
    """Submit and follow; if the daemon the run was queued for has gone, submit it once more
    (then this process launches it itself)."""
    try:
        return follow(submit_run(), echo)
    except DaemonGone:
        if echo:
            echo("the Dagster daemon stopped before taking the run: submitting it again")
        return follow(submit_run(), echo)
