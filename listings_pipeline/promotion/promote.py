"""Promote a job's approved stage rows into production (seed 000 step 5).

Only rows with ok_to_promote reach production; a job superseded by a newer job of the same
source is refused. Each batch is one transaction, so an interrupted promotion leaves
production exactly as before the interrupted batch and a re-run completes it; rows already
promoted are never promoted twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from listings_pipeline.db import load_queries
from listings_pipeline.jobs import StageCounts

Q = load_queries(__file__, "promote.sql")
BATCH_ROWS = 1000
UPDATES = ("update_locations", "update_listings", "update_contact_info", "update_listing_info")
STEPS = (
    "allocate_ids",
    "insert_locations",
    "update_locations",
    "insert_listings",
    "update_listings",
    "link_new_locations",
    "insert_attributes",
    "clear_attribute_links",
    "replace_attribute_links",
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
    "mark_promoted",
)


class PromotionRefused(Exception):
    """The job may not be promoted (superseded, waiting for review, nothing approved...)."""


@dataclass
class PromotionResult:
    counts: StageCounts
    batches: int
    seconds: float
    waiting: dict[str, int] = field(default_factory=dict)


def waiting_rows(conn: Connection, job_id: int) -> dict[str, int]:
    """Rows of the job that still wait for a person, by kind."""
    return {r.kind: r.n for r in conn.execute(text(Q["waiting_rows"]), {"job_id": job_id})}


def newer_job(conn: Connection, slug: str, job_id: int) -> int | None:
    return conn.execute(text(Q["newer_job"]), {"slug": slug, "job_id": job_id}).scalar()


def promote_job(
    engine: Engine,
    job_id: int,
    slug: str,
    *,
    promoted_by: str,
    merge_policy: str = "latest_wins",
    batch_rows: int = BATCH_ROWS,
    after_batch: object = None,
) -> PromotionResult:
    """Promote every approved, not yet promoted row of `job_id`."""
    started = time.perf_counter()
    with engine.begin() as conn:
        newer = newer_job(conn, slug, job_id)
        if newer is not None:
            raise PromotionRefused(
                f"job {job_id} of {slug!r} is superseded by job {newer}; promote that one instead"
            )
        waiting = waiting_rows(conn, job_id)
        conn.execute(text(Q["mark_skipped"]), {"job_id": job_id})
    steps = [s for s in STEPS if not (merge_policy == "skip_if_exists" and s in UPDATES)]
    batches = 0
    while True:
        with engine.begin() as conn:
            ids = list(
                conn.execute(
                    text(Q["next_batch"]), {"job_id": job_id, "limit": batch_rows}
                ).scalars()
            )
            if not ids:
                break
            conn.execute(text("SET LOCAL listings.promoting = 'on'"))
            params = {"ids": ids, "by": promoted_by, "policy": merge_policy}
            for step in steps:
                conn.execute(text(Q[step]), params)
        batches += 1
        if callable(after_batch):
            after_batch(batches)
    with engine.connect() as conn:
        row = conn.execute(text(Q["promote_counts"]), {"job_id": job_id}).mappings().one()
    counts = StageCounts(**{k: row[k] for k in StageCounts().as_params()})
    counts.extra = {
        "promoted_rows": row["promoted"],
        "skipped_rows": row["skipped"],
        "not_approved_rows": row["pending"],
        "batches": batches,
    }
    return PromotionResult(
        counts=counts, batches=batches, seconds=time.perf_counter() - started, waiting=waiting
    )
