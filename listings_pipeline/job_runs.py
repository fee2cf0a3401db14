"""Which pipeline job an orchestrated run works on, and what it needs — decided here, in
plain Python and SQL, so the Dagster assets and sensors only ask.

* A run works on the job it created, or (a retried step, a re-execution) the job its earlier
  attempt created, or the job it was started for (a promotion after review), else the
  partition's latest job.
* A backfill or a re-execution resumes: it continues the partition's unfinished job from its
  failed stage instead of importing again; a new run imports afresh.
* A file source started with no file (a backfill, a schedule, "Materialize" in the UI) imports
  the file the source names (`source_url`, within the allowed input roots), else the newest
  earlier input that still exists (an upload kept in the inbox's done/ folder, or the path an
  operator gave with `--input` before).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.settings import get_settings

Q = load_queries(__file__, "job_runs.sql")


def job_created_by_run(conn: Connection, run_id: str) -> int | None:
    return conn.execute(text(Q["job_created_by_run"]), {"run_id": run_id}).scalar()


def job_of_run(
    conn: Connection, slug: str, run_ids: Iterable[str | None], tagged_job: int | None = None
) -> int | None:
    """The job a run of partition `slug` works on: `tagged_job` if given (and of this source),
    else the job one of `run_ids` (the run, its parent, its root) created, else the latest."""
    if tagged_job is not None:
        return conn.execute(text(Q["tagged_job"]), {"slug": slug, "job_id": tagged_job}).scalar()
    runs = [r for r in run_ids if r]
    if runs:
        job_id = conn.execute(text(Q["job_of_runs"]), {"slug": slug, "runs": runs}).scalar()
        if job_id is not None:
            return job_id
    return conn.execute(text(Q["latest_job"]), {"slug": slug}).scalar()


def wants_resume(explicit: bool | None, *, reexecution: bool, backfill: bool) -> bool:
    """Resume the partition's unfinished job? As asked, else in re-executions and backfills."""
    return explicit if explicit is not None else (reexecution or backfill)


def job_to_continue(engine: Engine, slug: str, run_id: str, *, resume: bool) -> int | None:
    """The job whose completed import this run continues instead of importing (its own job
    when a step is retried after the import; the resumable job when resuming), else None."""
    with engine.connect() as conn:
        own = job_created_by_run(conn, run_id)
    if own is not None:
        return own if pipeline.stage_state(engine, own).get("import") == "completed" else None
    return pipeline.resumable_job(engine, slug) if resume else None


def waiting_jobs(conn: Connection, slug: str | None = None) -> list[tuple[int, str]]:
    """Jobs stopped at the review gate (of one source, or of all), newest first."""
    return [(r.id, r.slug) for r in conn.execute(text(Q["waiting_jobs"]), {"slug": slug})]


def waiting_job(engine: Engine, slug: str) -> int | None:
    """The partition's job that waits at the review gate, if any."""
    with engine.connect() as conn:
        jobs = waiting_jobs(conn, slug)
    return jobs[0][0] if jobs else None


def cleared_jobs(engine: Engine) -> list[tuple[int, str]]:
    """Jobs stopped at the review gate whose gate now passes (every row decided, every hold
    accepted): promotion can start."""
    with engine.connect() as conn:
        jobs = waiting_jobs(conn)
    return sorted((j, s) for j, s in jobs if pipeline.gate(engine, j).passed)


def find_input(engine: Engine, config: SourceConfig) -> Path | None:
    """The file a file source imports when none is given (None: not a file source, or none)."""
    if config.source_type not in pipeline.FILE_SOURCES or config.source_url:
        return None  # not a file source, or the file it names (pipeline.resolve_input checks it)
    with engine.connect() as conn:
        earlier = [
            Path(p) for p in conn.execute(text(Q["last_inputs"]), {"slug": config.slug}).scalars()
        ]
    done = get_settings().inbox_dir / config.slug / "done"
    uploads = (
        sorted(done.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True)
        if done.is_dir()
        else []
    )
    for path in [*uploads, *earlier]:
        if path.is_file() and not path.name.endswith(".error.txt"):
            return path
    return None
