"""Promote a job's approved stage rows into production (seed 000 step 5).

Only rows with ok_to_promote reach production; a job superseded by a newer job of the same
source is refused. Each batch is one transaction: the writes, the history versions of every
production row it changed (seeds 002/004) and its change notification (NOTIFY, delivered at
commit), so an interrupted promotion leaves production exactly as before the interrupted batch
and a re-run completes it; rows already promoted are never promoted twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import ReviewSettings
from listings_pipeline.db import load_queries
from listings_pipeline.jobs import StageCounts
from listings_pipeline.locks import source_lock
from listings_pipeline.promotion.batch import NOTIFY_CHUNK, ensure_batch_tables
from listings_pipeline.promotion.expiry import archive_expired
from listings_pipeline.promotion.policy import PromotionPolicy
from listings_pipeline.review.holds import accept_command, blocking_holds
from listings_pipeline.transform.stage import RESTAGE_STEPS, collection_flags, redo_rows, row_step

if TYPE_CHECKING:
    from listings_pipeline.configs.model import SourceConfig

log = logging.getLogger(__name__)
Q = load_queries(__file__, "promote.sql")
BATCH_ROWS = 1000
CHANNEL = "listings_changes"
STEPS = (
    "allocate_ids",
    "collect_targets",
    "lock_targets",
    "states_before",
    "batch_policy",
    "insert_locations",
    "update_locations",
    "insert_listings",
    "update_listings",
    "link_new_locations",
    "insert_attributes",
    "clear_attribute_links",
    "insert_attribute_links",
    "insert_contact_info",
    "update_contact_info",
    "insert_listing_info",
    "update_listing_info",
    "link_new_contact_info",
    "replace_images",
    "replace_opening_dates",
    "replace_opening_hours",
    "soft_delete",
    "upsert_bridge",
    "upsert_source_listing_info",
    "write_creates",
    "write_history",
    "notify_changes",
)
# Steps sent only when the batch has rows for them (a flag of batch_actions); the others always.
STEP_NEEDS = {
    "insert_locations": "location_insert",
    "update_locations": "location_update",
    "insert_listings": "listing_insert",
    "update_listings": "listing_update",
    "link_new_locations": "location_insert",
    "insert_attributes": "attributes",
    "clear_attribute_links": "attributes",
    "insert_attribute_links": "attributes",
    "insert_contact_info": "contact_insert",
    "update_contact_info": "contact_update",
    "insert_listing_info": "info_insert",
    "update_listing_info": "info_update",
    "link_new_contact_info": "contact_insert",
    "replace_images": "images",
    "replace_opening_dates": "dates",
    "replace_opening_hours": "hours",
    "soft_delete": "deletes",
}
# The steps that only keep the history (their share of the time is the history's cost).
HISTORY_STEPS = (
    "collect_targets",
    "lock_targets",
    "states_before",
    "write_creates",
    "write_history",
)

# Called inside a batch's transaction after each step (batch number, step name): progress,
# timing, or a test pausing a promotion mid-batch.
StepHook = Callable[[int, str], None]


ANALYZE_AFTER_ROWS = 1000
# ...and only when they add at least this share to the listings (smaller changes leave the
# statistics good enough until autovacuum's own ANALYZE).
ANALYZE_AFTER_SHARE = 0.1


class PromotionRefused(Exception):
    """The job may not be promoted (superseded, waiting for review, nothing approved...)."""


@dataclass
class PromotionResult:
    counts: StageCounts
    batches: int
    seconds: float
    waiting: dict[str, int] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)


def waiting_rows(conn: Connection, job_id: int) -> dict[str, int]:
    """Rows of the job that still wait for a person, by kind."""
    return {r.kind: r.n for r in conn.execute(text(Q["waiting_rows"]), {"job_id": job_id})}


def newer_job(conn: Connection, slug: str, job_id: int) -> int | None:
    row = conn.execute(text(Q["newer_job"]), {"slug": slug, "job_id": job_id}).first()
    return None if row is None else row.id


def check_promotable(conn: Connection, job_id: int, slug: str) -> None:
    """Refuse a cancelled job (the console cancels a source's unfinished jobs when its config
    changes: the stage rows stay for the record but must not reach production), a job held at
    the review gate (a pending or rejected hold), and a job a newer one supersedes. Callers
    hold the source lock, so no newer job can start its transform between this check and the
    promotion."""
    if conn.execute(text(Q["job_status"]), {"job_id": job_id}).scalar() == "cancelled":
        raise PromotionRefused(f"job {job_id} of {slug!r} is cancelled; nothing is promoted")
    holds = blocking_holds(conn, job_id)
    if holds:  # whatever path promotes (CLI, console, Dagster, a script), a held job does not
        raise PromotionRefused(
            f"job {job_id} of {slug!r} is held at the review gate: "
            + "; ".join(f"hold {h.id}: {h.describe()}" for h in holds)
            + f". Accept it with `{accept_command(job_id)}` or on the console's review page"
        )
    newer = conn.execute(text(Q["newer_job"]), {"slug": slug, "job_id": job_id}).first()
    if newer is not None:
        what = (
            f"; it failed in its {'transform' if newer.transform_status == 'failed' else 'run'}:"
            " resume it, or run the source again"
            if newer.status == "failed"
            else "; promote that one instead"
        )
        raise PromotionRefused(
            f"job {job_id} of {slug!r} is superseded by job {newer.id}, a newer import of the"
            f" same source (status {newer.status}){what}"
        )


def recheck_new_listings(conn: Connection, job_id: int, config: SourceConfig | None) -> int:
    """Link the job's rows staged as new listings that the catalogue now holds, and decide
    them again with the transform's own statements and the source's review policy (a row that
    now needs a person waits at the gate). Callers hold the DMO's catalogue exclusively.
    Returns how many rows changed."""
    ids = list(conn.execute(text(Q["stale_inserts"]), {"job_id": job_id}).scalars())
    if ids:
        mapped = conn.execute(text(Q["mapped_targets"]), {"job_id": job_id}).scalars()
        policy = config.promotion.merge_policy if config is not None else "latest_wins"
        redo_rows(conn, ids, RESTAGE_STEPS, collection_flags(mapped, policy))
        review = config.review if config is not None else ReviewSettings()
        conn.execute(
            text(row_step("review_flags", "stage.listings_flat", "b.id = ANY(:ids)")),
            {"ids": ids, "require_review": list(review.require_review)},
        )
        log.info("job %s: %d rows staged as new listings are known now; decided again",
                 job_id, len(ids))  # fmt: skip
    return len(ids)


def promote_job(
    engine: Engine,
    job_id: int,
    slug: str,
    *,
    promoted_by: str,
    merge_policy: str = "latest_wins",
    config: SourceConfig | None = None,
    batch_rows: int = BATCH_ROWS,
    after_batch: Callable[[int], None] | None = None,
    on_step: StepHook | None = None,
) -> PromotionResult:
    """Promote every approved, not yet promoted row of `job_id`.

    `config` supplies the source policies (`promotion:`); without it `merge_policy` applies
    with the default policies. Expired listings are archived after the last batch when the
    config asks for it. Holds the source's lock and its DMO's catalogue exclusively (a
    SourceBusy when another run has them for longer than the wait).
    """
    with source_lock(engine, slug, stage="promote", job_id=job_id) as lock:
        with engine.connect() as conn:
            dmo_id = conn.execute(text(Q["job_dmo"]), {"job_id": job_id}).scalar()
        if dmo_id is None:
            raise PromotionRefused(f"job {job_id} does not exist")
        with lock.catalogue(dmo_id, exclusive=True):
            return _promote_locked(
                engine,
                job_id,
                slug,
                promoted_by=promoted_by,
                merge_policy=merge_policy,
                config=config,
                batch_rows=batch_rows,
                after_batch=after_batch,
                on_step=on_step,
            )


def _promote_locked(
    engine: Engine,
    job_id: int,
    slug: str,
    *,
    promoted_by: str,
    merge_policy: str,
    config: SourceConfig | None,
    batch_rows: int,
    after_batch: Callable[[int], None] | None,
    on_step: StepHook | None,
) -> PromotionResult:
    started = time.perf_counter()
    policy = (
        PromotionPolicy.from_settings(config.promotion)
        if config is not None
        else PromotionPolicy(merge_policy=merge_policy)
    )
    with engine.begin() as conn:
        check_promotable(conn, job_id, slug)
        rechecked = recheck_new_listings(conn, job_id, config)
        waiting = waiting_rows(conn, job_id)
        conn.execute(text(Q["mark_skipped"]), {"job_id": job_id})
    base = {
        "by": promoted_by,
        "job_id": job_id,
        "slug": slug,
        "chunk": NOTIFY_CHUNK,
        **policy.params(),
    }
    step_seconds = {"mark_skipped": time.perf_counter() - started, "next_batch": 0.0}
    step_seconds.update(dict.fromkeys(STEPS, 0.0))
    step_seconds["commit"] = 0.0
    batches = promoted = 0
    after = 0  # the last id taken; 0: from the job's first pending row
    while True:
        batch_started = t0 = time.perf_counter()
        with engine.begin() as conn:
            ids = list(
                conn.execute(
                    text(Q["next_batch"]), {"job_id": job_id, "limit": batch_rows, "after": after}
                ).scalars()
            )
            if not ids:
                if after == 0:
                    break
                # Rows another promoter held (SKIP LOCKED) and then left pending are behind
                # the cursor: the loop ends only when a scan from the start finds nothing.
                after = 0
                step_seconds["next_batch"] += time.perf_counter() - t0
                continue
            after = ids[-1]
            ensure_batch_tables(conn)
            conn.execute(text("SET LOCAL listings.promoting = 'on'"))
            params = {**base, "ids": ids}
            actions = conn.execute(text(Q["batch_actions"]), params).mappings().one()
            step_seconds["next_batch"] += time.perf_counter() - t0
            for step in STEPS:
                t0 = time.perf_counter()
                if actions.get(STEP_NEEDS.get(step, ""), True):
                    conn.execute(text(Q[step]), params)
                step_seconds[step] += time.perf_counter() - t0
                if on_step is not None:
                    on_step(batches + 1, step)
            t0 = time.perf_counter()
        step_seconds["commit"] += time.perf_counter() - t0
        batches += 1
        promoted += len(ids)
        log.debug(
            "job %s batch %d: %d rows in %.3f s",
            job_id, batches, len(ids), time.perf_counter() - batch_started,
        )  # fmt: skip
        if after_batch is not None:
            after_batch(batches)
    if promoted:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(Q["clean_name_indexes"]))
        step_seconds["clean_name_indexes"] = time.perf_counter() - t0
    if promoted >= ANALYZE_AFTER_ROWS:
        # Large promotions change the tables' sizes by orders of magnitude: fresh statistics
        # keep the next transform's set-based lookups (deletions, bridge) on good plans
        # instead of waiting for autovacuum (seen: 7 s instead of 0.1 s at 10k listings).
        # It costs ~0.5 s at 10k (expression indexes), so not after a small share of changes.
        t0 = time.perf_counter()
        with engine.begin() as conn:
            known = conn.execute(text(Q["listings_estimate"])).scalar_one()
            if promoted >= ANALYZE_AFTER_SHARE * known:
                conn.execute(text(Q["analyze_written"]))
        step_seconds["analyze"] = time.perf_counter() - t0
    archived: dict[str, int] = {}
    if config is not None and config.promotion.expiry is not None:
        t0 = time.perf_counter()
        archived = archive_expired(engine, config, promoted_by=promoted_by).as_dict()
        step_seconds["expiry"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect() as conn:
        row = conn.execute(text(Q["promote_counts"]), {"job_id": job_id}).mappings().one()
        versions = dict(conn.execute(text(Q["job_history_counts"]), {"job_id": job_id}).all())
    counts = StageCounts(**{k: row[k] for k in StageCounts().as_params()})
    counts.extra = {
        "promoted_rows": row["promoted"],
        "skipped_rows": row["skipped"],
        "rejected_rows": row["rejected"],
        "not_approved_rows": row["pending"],
        "batches": batches,
        "rows_linked_at_promotion": rechecked,
        "listings_created": versions.get("create", 0),
        "listings_reactivated": versions.get("reactivate", 0),
        **{f"expiry_{k}": v for k, v in archived.items()},
    }
    step_seconds["counts"] = time.perf_counter() - t0
    log.debug(
        "job %s promoted in %d batches; seconds per step: %s",
        job_id, batches, ", ".join(f"{k} {v:.3f}" for k, v in step_seconds.items()),
    )  # fmt: skip
    return PromotionResult(
        counts=counts,
        batches=batches,
        seconds=time.perf_counter() - started,
        waiting=waiting,
        step_seconds=step_seconds,
    )
