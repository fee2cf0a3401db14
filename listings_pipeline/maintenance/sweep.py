"""No job left behind (issue 15): a worker killed or crashed mid-stage leaves its stage marked
running; the next run of the source, or the daily sweep, marks it failed with the reason and
removes the raw files an unfinished import wrote but never registered.

A dead worker is told from a live one by the source lock: every stage runs holding it, so a
stage still marked running while the lock is free (or held by the caller itself) has no worker.
A job whose worker stopped *between* stages holds no lock either; it is failed only once nothing
has happened to it for `LISTINGS_STALE_JOB_HOURS` (a live run moves to its next stage at once or
waits in 'review'). Failed jobs whose import completed still resume (a retry or re-execution).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from listings_pipeline.db import load_queries
from listings_pipeline.importing.raw_store import RawStore, get_raw_store
from listings_pipeline.locks import SourceBusy, source_lock
from listings_pipeline.settings import get_settings

log = logging.getLogger(__name__)
Q = load_queries(__file__, "sweep.sql")

NEXT_STEP = {
    "import": "run the source again (the import starts over)",
    "transform": "run it again to resume the transform from its last staged record",
    "promote": "promote again to finish it (committed batches stay; the rest follows)",
}


@dataclass(frozen=True)
class StaleJob:
    job_id: int
    slug: str
    stage: str
    reason: str
    raw_files_removed: int = 0


@dataclass
class SweepResult:
    failed: list[StaleJob] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # sources a live run holds: not looked at

    def as_dict(self) -> dict:
        return {
            "failed": [vars(job) for job in self.failed],
            "busy_sources": self.busy,
        }


def remove_unregistered(engine: Engine, store: RawStore, prefix: str) -> int:
    """Delete what an import wrote under `prefix` that pipeline.files does not name."""
    prefix = prefix + "-"  # job-000012-01.jsonl.gz, job-000012-original.csv; not job-0000123
    with engine.connect() as conn:
        registered = set(
            conn.execute(text(Q["registered_keys"]), {"prefix": prefix + "%"}).scalars()
        )
    removed = store.discard_partial(prefix)
    for key in store.keys(prefix):
        if key not in registered:
            store.delete(key)
            removed += 1
    return removed


def fail_dead_jobs(
    engine: Engine,
    slug: str,
    *,
    found_by: str,
    store: RawStore | None = None,
    stale_hours: float | None = None,
) -> list[StaleJob]:
    """Fail the jobs of `slug` no worker is working on. The caller holds the source lock."""
    stale_hours = get_settings().stale_job_hours if stale_hours is None else stale_hours
    params = {"slug": slug, "stale_hours": stale_hours}
    with engine.connect() as conn:
        dead = list(conn.execute(text(Q["dead_stages"]), params).mappings())
        idle = list(conn.execute(text(Q["idle_jobs"]), params).mappings())
    # Leftovers first: if the store cannot be cleaned now, the job stays detectable (its stage
    # still marked running) and the next run or sweep tries again; nothing is ever orphaned.
    removed: dict[int, int] = {}
    for row in dead:
        if row["stage"] == "import" and row["raw_prefix"]:
            store = store or get_raw_store()
            removed[row["job_id"]] = remove_unregistered(engine, store, row["raw_prefix"])
    found: list[StaleJob] = []
    with engine.begin() as conn:
        for row in dead:
            reason = (
                f"worker {row['worker'] or 'unknown'} died during {row['stage']} (started"
                f" {row['started_at']:%Y-%m-%d %H:%M:%S}); found by {found_by}."
                f" To continue: {NEXT_STEP.get(row['stage'], 'run the source again')}"
            )
            conn.execute(text(Q["fail_stage"]), {"stage_id": row["stage_id"], "message": reason})
            conn.execute(text(Q["fail_job"]), {"job_id": row["job_id"], "message": reason})
            found.append(
                StaleJob(row["job_id"], slug, row["stage"], reason, removed.get(row["job_id"], 0))
            )
        for row in idle:
            reason = (
                f"abandoned: no worker took job {row['job_id']} further after its"
                f" {row['stage']}, and nothing happened to it since"
                f" {row['last_activity']:%Y-%m-%d %H:%M:%S} (over {stale_hours:g} h);"
                f" found by {found_by}. To continue: run the source again"
            )
            conn.execute(text(Q["fail_job"]), {"job_id": row["job_id"], "message": reason})
            found.append(StaleJob(row["job_id"], slug, row["stage"], reason))
    for job in found:
        log.warning("job %s of %r marked failed: %s", job.job_id, slug, job.reason)
    return found


def sweep_stale_jobs(
    engine: Engine, *, stale_hours: float | None = None, store: RawStore | None = None
) -> SweepResult:
    """Fail every job left pending/running by a dead worker, in every source (daily schedule).

    Sources a live run holds are skipped (reported in `busy`): their jobs are not stale.
    """
    result = SweepResult()
    with engine.connect() as conn:
        slugs = list(conn.execute(text(Q["unfinished_slugs"])).scalars())
    for slug in slugs:
        try:
            with source_lock(engine, slug, stage="sweep", wait=0):
                result.failed += fail_dead_jobs(
                    engine, slug, found_by="the sweep", store=store, stale_hours=stale_hours
                )
        except SourceBusy:
            result.busy.append(slug)
    return result
