"""The pipeline's stages with their bookkeeping, independent of Dagster:
start a job → import → transform → review gate → promote.

The Dagster assets and the tests call these; each keeps pipeline.jobs / job_stages /
stage_results truthful, including on failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from listings_pipeline import jobs
from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.configs.sync import sync_config
from listings_pipeline.db import load_queries
from listings_pipeline.failures import JobSuperseded, StageNotReady, describe
from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.importing.connectors.files import require_file
from listings_pipeline.importing.input_roots import config_path
from listings_pipeline.importing.stage import ImportResult, run_import
from listings_pipeline.locks import SourceBusy, source_lock
from listings_pipeline.maintenance.sweep import fail_dead_jobs
from listings_pipeline.promotion.promote import (
    BATCH_ROWS as PROMOTE_BATCH_ROWS,
)
from listings_pipeline.promotion.promote import (
    PromotionRefused,
    PromotionResult,
    check_promotable,
    newer_job,
    promote_job,
    recheck_new_listings,
    waiting_rows,
)
from listings_pipeline.review.holds import Hold, accept_command, blocking_holds, review_page
from listings_pipeline.review.source_change import SourceChangeFailed, check_job
from listings_pipeline.transform.stage import BatchHook, TransformResult, run_transform

Q = load_queries(__file__, "pipeline.sql")
FILE_SOURCES = ("csv", "json", "jsonl", "xlsx")
Progress = Callable[[str], None]  # a line for the person watching (the Dagster run log, stderr)


@dataclass(frozen=True)
class GateResult:
    """The review gate of a job: rows waiting for a person, by review reason, and the job's
    holds that keep it from promotion (pending, or rejected)."""

    job_id: int
    waiting: dict[str, int]
    holds: tuple[Hold, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.waiting and not self.holds

    def describe(self) -> str:
        if self.passed:
            return f"job {self.job_id}: nothing waits for review"
        parts = []
        if self.holds:
            named = "; ".join(f"hold {h.id}: {h.describe()}" for h in self.holds)
            parts.append(f"held ({named})")
        if self.waiting:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.waiting.items()))
            parts.append(f"{sum(self.waiting.values())} rows wait for review ({kinds})")
        text_ = f"job {self.job_id}: " + "; ".join(parts)
        if any(h.status == "pending" for h in self.holds):
            text_ += (
                f". Accept the change with `{accept_command(self.job_id)}` or on the console's"
                f" review page {review_page(self.job_id)} (or fix the config and run again)"
            )
        return text_

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "waiting": self.waiting,
            "holds": [h.as_dict() for h in self.holds],
            "description": self.describe(),
        }


def resolve_input(config: SourceConfig, input_path: Path | None) -> Path | None:
    """The file to import for file sources: the one given (the operator's `--input`, an
    inbox file or a console upload), or the config's source_url path — only under the allowed
    input roots, checked before the file is even looked at."""
    if config.source_type not in FILE_SOURCES:
        return input_path
    if input_path is None and config.source_url and "://" not in config.source_url:
        input_path = config_path(config.source_url, config.slug)
    return require_file(input_path, config.slug).resolve()


def start_job(
    engine: Engine,
    config: SourceConfig,
    *,
    input_path: Path | None,
    triggered_by: str = "cli",
    trigger_type: str = "manual",
    dagster_run_id: str | None = None,
) -> int:
    """Create the job (after checking the input exists, so bad input leaves no job).

    Under the source's lock: a run refused because another run holds the source (SourceBusy)
    creates no job, and jobs a dead worker left running are marked failed first.
    """
    input_path = resolve_input(config, input_path)
    with source_lock(engine, config.slug, stage="start"):
        fail_dead_jobs(engine, config.slug, found_by="the next run")
        with engine.begin() as conn:
            stored = sync_config(conn, config)
            return jobs.create_job(
                conn,
                config,
                stored,
                input_path=str(input_path) if input_path else None,
                triggered_by=triggered_by,
                trigger_type=trigger_type,
                dagster_run_id=dagster_run_id,
            )


def stage_state(engine: Engine, job_id: int) -> dict[str, str]:
    """Status of each stage of the job: {"import": "completed", "transform": "failed", ...}."""
    with engine.connect() as conn:
        return {r.name: r.status for r in conn.execute(text(Q["stage_state"]), {"job_id": job_id})}


def resumable_job(engine: Engine, slug: str) -> int | None:
    """The source's latest job if it stopped after its import completed (failed in transform or
    promote, waiting at the review gate, or left running by a worker that died), else None.

    A retry continues such a job from its failed stage instead of importing again.
    """
    with engine.connect() as conn:
        return conn.execute(text(Q["resumable_job"]), {"slug": slug}).scalar()


def _refuse_if_superseded(engine: Engine, job_id: int, slug: str) -> None:
    """A job a newer one has overtaken (its transform started) must not work any more: its
    decisions would be made against, or applied over, that job's production."""
    with engine.begin() as conn:
        status = conn.execute(text(Q["job_status"]), {"job_id": job_id}).scalar()
        newer = newer_job(conn, slug, job_id)
        if newer is not None:
            conn.execute(text(Q["mark_superseded"]), {"job_id": job_id, "newer": newer})
    if status == "cancelled":
        raise JobSuperseded(f"job {job_id} of {slug!r} is cancelled; nothing more is done")
    if newer is not None:
        raise JobSuperseded(
            f"job {job_id} of {slug!r} is superseded by job {newer}, a newer import of the same"
            " source that has started its transform; nothing more is done for this one"
        )


def import_stage(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    input_path: Path | None,
    *,
    progress: Progress | None = None,
) -> ImportResult:
    with source_lock(engine, config.slug, stage="import", job_id=job_id):
        fail_dead_jobs(engine, config.slug, found_by="the next run")
        _refuse_if_superseded(engine, job_id, config.slug)
        with engine.begin() as conn:
            jobs.start_stage(conn, job_id, "import")
        try:
            result = run_import(
                engine, job_id, config, resolve_input(config, input_path), progress=progress
            )
        except Exception as err:
            jobs.fail_stage(engine, job_id, "import", describe(err))
            raise
        with engine.begin() as conn:
            jobs.finish_stage(conn, job_id, "import", result.counts)
            jobs.set_job_counts(conn, job_id, result.counts)
    return result


def _batch_progress(progress: Progress) -> BatchHook:
    """A transform hook that reports each batch (one count of the batch's temp table)."""
    done = {"batches": 0, "rows": 0}

    def hook(conn: Connection) -> dict[str, int]:
        rows = conn.execute(text(Q["batch_rows"])).scalar_one()
        done["batches"] += 1
        done["rows"] += rows
        progress(f"transform: batch {done['batches']} staged, {done['rows']:,} records so far")
        return {}

    return hook


def transform_stage(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    *,
    hooks: list[BatchHook] | None = None,
    progress: Progress | None = None,
) -> TransformResult:
    """Transform under the source's lock, reading the DMO's catalogue under its shared lock
    (no other config's promotion half done underneath). Starting it supersedes the source's
    older unpromoted jobs: from now on their stage rows are out of date."""
    with source_lock(engine, config.slug, stage="transform", job_id=job_id) as lock:
        fail_dead_jobs(engine, config.slug, found_by="the next run")
        if stage_state(engine, job_id).get("import") != "completed":
            raise StageNotReady(f"job {job_id}: the import did not complete; run the import again")
        _refuse_if_superseded(engine, job_id, config.slug)
        with engine.begin() as conn:
            jobs.start_stage(conn, job_id, "transform")
            superseded = list(
                conn.execute(
                    text(Q["supersede_older"]), {"slug": config.slug, "job_id": job_id}
                ).scalars()
            )
        if progress is not None:
            hooks = [*(hooks or []), _batch_progress(progress)]
        try:
            with lock.catalogue(config.dmo_id, exclusive=False):
                result = run_transform(engine, job_id, config, hooks=hooks)
                checked = check_job(engine, job_id, config, missing_sources=result.missing_sources)
        except Exception as err:
            jobs.fail_stage(engine, job_id, "transform", describe(err))
            raise
        result.counts.extra["holds"] = checked.blocking_holds
        result.counts.extra["quality_mean"] = checked.quality_mean
        result.step_seconds["fill_stats"] = round(checked.fill_seconds, 3)
        waiting = result.counts.extra.get("waiting_for_review", 0)
        with engine.begin() as conn:
            jobs.finish_stage(
                conn,
                job_id,
                "transform",
                result.counts,
                job_status="review" if waiting or checked.blocking_holds else "running",
            )
            jobs.set_job_counts(conn, job_id, result.counts)
    result.counts.extra["superseded_jobs"] = superseded
    return result


def read_gate(conn: Connection, job_id: int) -> GateResult:
    return GateResult(
        job_id=job_id,
        waiting=waiting_rows(conn, job_id),
        holds=tuple(blocking_holds(conn, job_id)),
    )


def gate(engine: Engine, job_id: int) -> GateResult:
    with engine.connect() as conn:
        return read_gate(conn, job_id)


def promote_stage(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    *,
    promoted_by: str,
    progress: Progress | None = None,
) -> PromotionResult:
    """Check and promote under the source's lock and the DMO's catalogue (exclusive): every
    check below (supersession above all) still holds when the first batch is written."""
    with (
        source_lock(engine, config.slug, stage="promote", job_id=job_id) as lock,
        lock.catalogue(config.dmo_id, exclusive=True),
    ):
        fail_dead_jobs(engine, config.slug, found_by="the next run")
        return _promote_locked(engine, job_id, config, promoted_by=promoted_by, progress=progress)


def _promote_locked(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    *,
    promoted_by: str,
    progress: Progress | None = None,
) -> PromotionResult:
    state = stage_state(engine, job_id)
    if state.get("transform") != "completed":
        raise StageNotReady(f"job {job_id}: the transform did not complete; nothing to promote")
    if state.get("promote") == "completed":
        with engine.connect() as conn:  # promoting twice changes nothing: report and stop
            job = jobs.get_job(conn, job_id)
        raise PromotionRefused(f"job {job_id} was already promoted (status {job['status']})")
    with engine.begin() as conn:  # before the job is marked running again
        check_promotable(conn, job_id, config.slug)
        # Before the gate: a row decided again here may now need a person.
        linked = recheck_new_listings(conn, job_id, config)
    checked = gate(engine, job_id)
    if not checked.passed:
        raise PromotionRefused(f"review gate: {checked.describe()}")
    with engine.connect() as conn:
        approved = conn.execute(text(Q["approved_rows"]), {"job_id": job_id}).scalar_one()
        unchanged = conn.execute(text(Q["unchanged_of"]), {"job_id": job_id}).scalar()
    # An unchanged job (importing/unchanged.py) has nothing to write; promoting it completes it.
    if approved == 0 and unchanged is None:
        raise PromotionRefused(f"job {job_id}: no row is approved for promotion")
    with engine.begin() as conn:
        jobs.start_stage(conn, job_id, "promote")

    def after_batch(batch: int) -> None:
        if progress is not None:
            done = min(batch * PROMOTE_BATCH_ROWS, approved)
            progress(f"promote: batch {batch} committed, {done:,} of {approved:,} rows")

    try:
        result = promote_job(
            engine,
            job_id,
            config.slug,
            promoted_by=promoted_by,
            config=config,
            after_batch=after_batch,
        )
    except Exception as err:
        jobs.fail_stage(engine, job_id, "promote", describe(err))
        raise
    result.counts.extra["rows_linked_at_promotion"] += linked
    with engine.begin() as conn:
        review = jobs.StageCounts(total=result.counts.total)
        jobs.finish_stage(conn, job_id, "review", review, job_status="running")
        jobs.finish_stage(conn, job_id, "promote", result.counts, job_status="running")
        if unchanged is None:  # an unchanged job's records are counted by its transform
            jobs.set_job_counts(conn, job_id, result.counts)
        jobs.finish_job(conn, job_id, "completed")
    return result


__all__ = [
    "GateResult",
    "ImportFailed",
    "JobSuperseded",
    "PromotionRefused",
    "SourceBusy",
    "SourceChangeFailed",
    "StageNotReady",
    "gate",
    "import_stage",
    "promote_stage",
    "read_gate",
    "resumable_job",
    "stage_state",
    "start_job",
    "transform_stage",
]
