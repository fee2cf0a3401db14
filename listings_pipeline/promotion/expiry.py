"""Expiry and archival (seed 004): archive the listings of a source whose opening dates have all
ended, and bring back archived ones that got new dates. Promotion runs it after its last batch
when the config has `promotion.expiry`; a daily sensor or schedule can call `archive_expired`.

Each pass is one transaction, with history versions (change type archive / reactivate) and a
NOTIFY like a promotion batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.locks import source_lock
from listings_pipeline.promotion.batch import NOTIFY_CHUNK, ensure_batch_tables
from listings_pipeline.promotion.batch import Q as PROMOTE

Q = load_queries(__file__, "expiry.sql")
# promote.sql's history statements, around the archive / restore update.
BEFORE = ("lock_targets", "states_before")
AFTER = ("write_history", "notify_changes")


@dataclass(frozen=True)
class ExpiryResult:
    archived_infos: int = 0
    archived_listings: int = 0
    restored_infos: int = 0
    restored_listings: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "archived_infos": self.archived_infos,
            "archived_listings": self.archived_listings,
            "restored_infos": self.restored_infos,
            "restored_listings": self.restored_listings,
        }


def _pass(conn: Connection, select: tuple[str, str], apply: str, params: dict) -> tuple[int, int]:
    conn.execute(text(Q["clear_targets"]))
    for name in select:
        conn.execute(text(Q[name]), params)
    found = conn.execute(text(Q["count_targets"])).one()
    if found.infos:
        for step in BEFORE:
            conn.execute(text(PROMOTE[step]), params)
        conn.execute(text(Q[apply]), params)
        for step in AFTER:
            conn.execute(text(PROMOTE[step]), params)
    return found.infos, found.listings


def archive_expired(
    engine: Engine,
    config: SourceConfig,
    *,
    today: date | None = None,
    promoted_by: str = "expiry",
) -> ExpiryResult:
    """Archive the source's expired listings and restore renewed ones; idempotent."""
    expiry = config.promotion.expiry
    if expiry is None:
        return ExpiryResult()
    # The source's lock and the DMO's catalogue, as a promotion (which may be the caller).
    with (
        source_lock(engine, config.slug, stage="expiry") as lock,
        lock.catalogue(config.dmo_id, exclusive=True),
    ):
        return _archive(engine, config, expiry.after_days, today, promoted_by)


def _archive(
    engine: Engine, config: SourceConfig, after_days: int, today: date | None, promoted_by: str
) -> ExpiryResult:
    with engine.begin() as conn:
        today = today or conn.execute(text("SELECT current_date")).scalar_one()
        params = {
            "dmo_id": config.dmo_id,
            "cutoff": today - timedelta(days=after_days),
            "by": promoted_by,
            "job_id": None,
            "slug": config.slug,
            "chunk": NOTIFY_CHUNK,
        }
        ensure_batch_tables(conn)
        conn.execute(text("SET LOCAL listings.promoting = 'on'"))
        archived = _pass(conn, ("expired_infos", "expired_listings"), "archive", params)
        restored = _pass(conn, ("renewed_infos", "renewed_listings"), "restore", params)
    return ExpiryResult(*archived, *restored)
