"""Versioned history of production rows (seeds 002 + 004): what changed in a job, the versions
of a listing, and what a listing looked like at a given time.

Every version lists the fields it changed with their old and new values (a create lists every
field it set), so the state at time T is, per field, the newest value written before T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, text

from listings_pipeline.db import load_queries

Q = load_queries(__file__, "history.sql")


@dataclass(frozen=True)
class Change:
    target_table: str
    target_id: int
    listing_id: int | None
    version: int
    change_type: str  # create, update, delete, reactivate, archive
    changes: dict[str, dict[str, Any]]  # field → {"old": ..., "new": ...}
    job_id: int | None
    stage_id: int | None
    reviewer: str
    change_reason: str | None
    changed_at: datetime

    @property
    def changed_fields(self) -> list[str]:
        return sorted(self.changes)


def _changes(rows: Any) -> list[Change]:
    return [Change(**dict(r)) for r in rows.mappings()]


def job_changes(
    conn: Connection, job_id: int, *, limit: int | None = None, offset: int = 0
) -> list[Change]:
    """What changed in production when job `job_id` was promoted, by listing."""
    rows = conn.execute(
        text(Q["job_changes"]), {"job_id": job_id, "limit": limit, "offset": offset}
    )
    return _changes(rows)


def job_change_summary(conn: Connection, job_id: int) -> dict[str, dict[str, int]]:
    """Versions written by the job: {target_table: {change_type: n}}."""
    summary: dict[str, dict[str, int]] = {}
    for r in conn.execute(text(Q["job_change_summary"]), {"job_id": job_id}):
        summary.setdefault(r.target_table, {})[r.change_type] = r.n
    return summary


def listing_history(conn: Connection, listing_id: int) -> list[Change]:
    """Every version of the listing and of its location, listing_info and contact rows."""
    return _changes(conn.execute(text(Q["listing_history"]), {"listing_id": listing_id}))


def _exclusive_bound(at: date | datetime) -> datetime:
    if isinstance(at, datetime):
        return at + timedelta(microseconds=1)
    return datetime.combine(at + timedelta(days=1), time())  # a date: as at the end of it


def listing_as_of(conn: Connection, listing_id: int, at: date | datetime) -> dict[str, Any] | None:
    """The listing as it was at `at` (a date means the end of that day; a naive datetime is
    read in the database session's time zone), or None if it did not exist yet:
    {"id", ...listing fields, "location": {...} | None,
     "listing_info": [{"id", ...fields, "contact_info": {...} | None}, ...]}.
    Fields without a value are left out.
    """
    states: dict[str, dict[int, dict[str, Any]]] = {}
    rows = conn.execute(
        text(Q["states_as_of"]), {"listing_id": listing_id, "before": _exclusive_bound(at)}
    )
    for r in rows:
        clean = {k: v for k, v in r.state.items() if v is not None}
        states.setdefault(r.target_table, {})[r.target_id] = {"id": r.target_id, **clean}
    listing = states.get("listings", {}).get(listing_id)
    if listing is None:
        return None
    locations = states.get("locations", {})
    contacts = states.get("contact_info", {})
    infos = []
    for info in sorted(states.get("listing_info", {}).values(), key=lambda i: i["id"]):
        infos.append({**info, "contact_info": contacts.get(info.get("contact_info_id"))})
    return {
        **listing,
        "location": locations.get(listing.get("location_id")),
        "listing_info": infos,
    }
