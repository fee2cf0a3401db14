"""Runs the console starts in the background: the promotion of a reviewed job, and "Run now" of
a config (with an uploaded file for file sources); and the Dagster runs a config change may
leave behind.

Both kinds are submitted to the Dagster instance through `orchestration.runner` (queued,
counted against the run limits, launched by the run launcher as a process of its own, never in
the console's web process); a background thread only waits for the run and records its end.
A `Launcher` keeps the last task of each source config in memory for the pages to show (the
job tables stay the record of truth), and refuses a second task for a config while one runs in
this process.

Dagster and the orchestration package are imported where they are used: they take seconds
to import, and most console requests never need them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from sqlalchemy import Engine

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.console import queries
from listings_pipeline.console.sql import queries as queries_of
from listings_pipeline.console.sql import query
from listings_pipeline.jobs import latest_job_id
from listings_pipeline.private_files import open_private, private_dir
from listings_pipeline.settings import get_settings

# Extensions accepted for an upload, by the config's file format.
UPLOAD_EXTENSIONS = {
    "csv": (".csv", ".txt", ".tsv"),
    "json": (".json",),
    "jsonl": (".jsonl", ".ndjson"),
    "xlsx": (".xlsx",),
}
MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # 50,000 listings of ~10 KB, with room to spare
_CHUNK = 1 << 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# Dagster run states that a config change could still affect.
_WAITING = ("QUEUED", "NOT_STARTED")
_ACTIVE = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")


class Busy(Exception):
    """A task for this source config is already running in this console."""


class UploadRejected(ValueError):
    """The uploaded file cannot be imported; nothing was started."""


@dataclass
class Task:
    slug: str
    kind: Literal["run", "promote"]
    started_by: str
    started_at: datetime = field(default_factory=datetime.now)
    job_id: int | None = None  # promote: the job; run: the job the run created
    input_name: str | None = None  # run: the uploaded file's name
    finished_at: datetime | None = None
    run_id: str | None = None
    success: bool | None = None
    failures: list[str] = field(default_factory=list)
    gate: dict[str, Any] | None = None
    error: str | None = None  # the runner itself raised
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def stopped_at_review(self) -> bool:
        """The run ended (successfully: a wait is not a failure) with rows waiting for review."""
        return bool(self.gate) and not self.gate["passed"]  # type: ignore[index]


class Launcher:
    """Background tasks of one console app, at most one running per source config."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}

    def last(self, slug: str | None) -> Task | None:
        with self._lock:
            return self._tasks.get(slug) if slug else None

    def start(self, task: Task, work: Callable[[Task], None], cleanup: Callable[[], None]) -> Task:
        with self._lock:
            current = self._tasks.get(task.slug)
            if current is not None and current.running:
                cleanup()
                raise Busy(
                    f"a {'promotion' if current.kind == 'promote' else 'run'} of"
                    f" {task.slug} started by {current.started_by} at"
                    f" {current.started_at:%H:%M:%S} is still in progress"
                )
            self._tasks[task.slug] = task

        def target() -> None:
            try:
                work(task)
            except Exception as err:  # shown on the page; the run's own record is in Dagster
                task.error = f"{type(err).__name__}: {err}"
                task.success = False
            finally:
                cleanup()
                task.finished_at = datetime.now()
                task.done.set()

        threading.Thread(
            target=target, name=f"console-{task.kind}-{task.slug}", daemon=True
        ).start()
        return task

    def wait(self, slug: str, timeout: float) -> Task | None:
        """Wait for the task of `slug` to finish (tests, scripts)."""
        task = self.last(slug)
        if task is not None:
            task.done.wait(timeout)
        return task


def _record(task: Task, outcome: Any) -> None:
    task.run_id = outcome.run_id
    task.success = outcome.success
    task.failures = list(outcome.failures)
    task.gate = outcome.gate


# --- promotion -------------------------------------------------------------------------------


def promotion_refusal(engine: Engine, job: dict[str, Any], launcher: Launcher) -> str | None:
    """Why the job cannot be promoted now (the review gate's own words), or None."""
    job_id, slug, status = job["id"], job["slug"], job["status"]
    if not slug:
        return f"Job {job_id} has no source config, so it cannot be promoted."
    if status == "completed":
        return f"Job {job_id} was already promoted."
    if status in ("superseded", "failed", "cancelled"):
        return f"Job {job_id} is {status}; run the source again to promote its data."
    with engine.connect() as conn:
        latest = latest_job_id(conn, slug)
    if latest != job_id:
        return (
            f"Job {job_id} is not the latest job of {slug} (job {latest} is); only the latest"
            " job of a source can be promoted."
        )
    stages = {s["name"]: s["status"] for s in queries.job_stages(engine, job_id)}
    if stages.get("transform") != "completed":
        return f"Job {job_id}: the transform did not complete; there is nothing to promote yet."
    if stages.get("promote") == "running":
        return f"The promotion of job {job_id} is already running."
    current = launcher.last(slug)
    if current is not None and current.running:
        return f"A {current.kind} of {slug} started by {current.started_by} is still running."
    gate = pipeline.gate(engine, job_id)
    if not gate.passed:
        return f"Review gate: {gate.describe()}. Decide them on the review page first."
    return None


def start_promotion(launcher: Launcher, job: dict[str, Any], username: str) -> Task:
    from listings_pipeline.orchestration.runner import promote_partition

    def work(task: Task) -> None:  # this thread only waits: the run is a process of its own
        _record(task, promote_partition(task.slug, task.job_id, trigger=f"console:{username}"))

    task = Task(job["slug"], "promote", username, job_id=job["id"])
    return launcher.start(task, work, lambda: None)


# --- run now ---------------------------------------------------------------------------------


def is_file_source(config: SourceConfig) -> bool:
    return config.source_type in pipeline.FILE_SOURCES


def upload_format(config: SourceConfig) -> str:
    return config.import_.format or config.source_type


def upload_limit() -> str:
    mb = MAX_UPLOAD_BYTES / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{MAX_UPLOAD_BYTES} bytes"


def save_upload(config: SourceConfig, filename: str, stream: BinaryIO) -> Path:
    """Copy an uploaded file into a fresh private directory under LISTINGS_HOME/uploads,
    checking its name, size and (xlsx) signature; the caller removes the directory."""
    max_bytes = MAX_UPLOAD_BYTES
    name = Path(filename.replace("\\", "/")).name.strip()
    if not name:
        raise UploadRejected("Choose a file to upload.")
    allowed = UPLOAD_EXTENSIONS[upload_format(config)]
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise UploadRejected(
            f"{name}: {config.slug} imports {upload_format(config)} files; the file name must"
            f" end with {' or '.join(allowed)}."
        )
    safe = _SAFE_NAME.sub("_", Path(name).stem)[:80].strip("._") or "upload"
    uploads = private_dir(get_settings().uploads_dir)
    directory = Path(tempfile.mkdtemp(prefix=f"{config.slug}-", dir=uploads))  # mode 0700
    path = directory / f"{safe}{suffix}"
    size = 0
    try:
        with open_private(path) as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRejected(
                        f"{name} is larger than the upload limit ({upload_limit()})."
                    )
                out.write(chunk)
        if size == 0:
            raise UploadRejected(f"{name} is empty.")
        if suffix == ".xlsx" and path.read_bytes()[:4] != b"PK\x03\x04":
            raise UploadRejected(f"{name} is not an Excel workbook (.xlsx).")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return path


def run_input(
    config: SourceConfig, upload: tuple[str, BinaryIO] | None, *, how_to_send: str
) -> Path | None:
    """The input of a run started from the console (page or API): a file source takes the
    uploaded file (saved, checked) unless its config names a file (source_url); other sources
    take none. Refused with UploadRejected; `how_to_send` completes "choose a file" advice."""
    if not is_file_source(config):
        if upload is not None:
            raise UploadRejected(
                f"{config.slug} reads from {config.source_type}; it takes no uploaded file."
            )
        return None
    if upload is not None:
        return save_upload(config, *upload)
    if config.source_url and "://" not in config.source_url:
        return None  # the configured file
    raise UploadRejected(f"{config.slug} imports {config.source_type} files: {how_to_send}.")


def start_run(
    launcher: Launcher, engine: Engine, slug: str, username: str, upload: Path | None
) -> Task:
    """Import → transform → (gate) → promote of `slug` in the background, with `upload` as the
    input of a file source; the upload's directory is removed when the run ends (the raw
    store keeps the imported copy)."""
    from listings_pipeline.job_runs import job_created_by_run
    from listings_pipeline.orchestration.runner import run_partition

    def work(task: Task) -> None:  # this thread only waits: the run is a process of its own
        outcome = run_partition(slug, upload, triggered_by=f"console:{username}")
        _record(task, outcome)
        with engine.connect() as conn:
            task.job_id = job_created_by_run(conn, outcome.run_id)

    def cleanup() -> None:
        if upload is not None:
            shutil.rmtree(upload.parent, ignore_errors=True)

    task = Task(slug, "run", username, input_name=upload.name if upload else None)
    return launcher.start(task, work, cleanup)


# --- Dagster runs of a partition -------------------------------------------------------------


@dataclass(frozen=True)
class DagsterRunInfo:
    run_id: str
    job_name: str
    status: str
    created: datetime | None

    @property
    def waiting(self) -> bool:
        return self.status in _WAITING


def partition_runs(slug: str) -> list[DagsterRunInfo]:
    """Runs of the partition that have not finished (queued, starting or running)."""
    import dagster as dg

    from listings_pipeline.orchestration.instance import get_instance

    statuses = [dg.DagsterRunStatus[s] for s in _ACTIVE]
    with get_instance() as instance:
        runs = instance.get_runs(
            dg.RunsFilter(statuses=statuses, tags={"dagster/partition": slug}), limit=100
        )
        records = (
            {
                r.dagster_run.run_id: r.create_timestamp
                for r in instance.get_run_records(dg.RunsFilter(run_ids=[r.run_id for r in runs]))
            }
            if runs
            else {}
        )
    return [
        DagsterRunInfo(r.run_id, r.job_name, r.status.value, records.get(r.run_id)) for r in runs
    ]


def cancel_waiting_runs(slug: str, run_ids: list[str], message: str) -> list[str]:
    """Mark the given runs of the partition canceled if they are still queued; the daemon then
    never launches them. Runs that started meanwhile are left alone."""
    import dagster as dg

    from listings_pipeline.orchestration.instance import get_instance

    if not run_ids:
        return []
    cancelled = []
    with get_instance() as instance:
        for run in instance.get_runs(dg.RunsFilter(run_ids=run_ids)):
            if run.status.value in _WAITING and run.tags.get("dagster/partition") == slug:
                instance.report_run_canceled(run, message=message)
                cancelled.append(run.run_id)
    return cancelled


def cancel_jobs(engine: Engine, slug: str, job_ids: list[int], message: str) -> list[int]:
    """Mark the given unfinished jobs of `slug` cancelled; return the ids that were."""
    if not job_ids:
        return []
    with engine.begin() as conn:
        found = conn.execute(
            query("jobs_cancel"), {"slug": slug, "ids": job_ids, "message": message}
        )
        return sorted(found.scalars())


def promotion_progress(engine: Engine, job_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        row = conn.execute(queries_of("review")["promotion_progress"], {"job_id": job_id}).one()
    return dict(row._mapping)


def promotion_status(engine: Engine, job: dict[str, Any], launcher: Launcher) -> dict[str, Any]:
    """Where the job's promotion stands: state, why not (the gate's words), progress, and the
    console's task for it (the last run or promotion of this job started here)."""
    task = launcher.last(job["slug"])
    if task is not None and task.job_id != job["id"]:
        task = None  # another job's, or a run that has not told us its job yet
    stages = {s["name"]: s["status"] for s in queries.job_stages(engine, job["id"])}
    promoting = stages.get("promote") == "running" or bool(
        task and task.running and task.kind == "promote"
    )
    detail = None
    if job["status"] == "completed":
        state = "completed"
    elif promoting:
        state = "running"
    elif job["status"] in ("review", "running"):
        detail = promotion_refusal(engine, job, launcher)
        if detail is None:
            state = "ready"
        elif detail.startswith("Review gate:"):
            state = "waiting_for_review"
        else:
            state = "not_promotable"
    else:
        state, detail = "not_promotable", f"Job {job['id']} is {job['status']}."
    return {
        "job_id": job["id"],
        "state": state,
        "detail": detail,
        "progress": promotion_progress(engine, job["id"]),
        "task": task,
    }
