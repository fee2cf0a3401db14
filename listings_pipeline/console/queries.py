"""Read-only queries behind the console's pages and JSON API (one .sql file each)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from listings_pipeline.console.sql import query

# pipeline.jobs.status vocabulary (sql/002_pipeline.sql).
JOB_STATUSES = ("pending", "running", "review", "completed", "failed", "cancelled", "superseded")
ACTIONS = ("pending", "insert", "update", "skip", "delete", "error")
REVIEW_STATUSES = ("auto_approved", "pending", "approved", "rejected")
# Columns counted by job_action_counts.sql, in display order.
ENTITIES = (
    "listing",
    "listing_info",
    "location",
    "contact_info",
    "images",
    "opening_dates",
    "opening_hours",
    "attributes",
    "review_status",
    "promote_status",
)
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page:
    """One page of rows; `has_next` comes from fetching one row more than shown."""

    items: list[dict[str, Any]]
    limit: int
    offset: int
    has_next: bool

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_next else None


def _plain(row: Any) -> dict[str, Any]:
    # Durations and scores come back as Decimal; floats serialise everywhere.
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row._mapping.items()}


def _page(engine: Engine, name: str, params: dict[str, Any], limit: int, offset: int) -> Page:
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    with engine.connect() as conn:
        rows = conn.execute(query(name), {**params, "limit": limit + 1, "offset": offset}).all()
    return Page([_plain(r) for r in rows[:limit]], limit, offset, len(rows) > limit)


def _all(engine: Engine, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [_plain(r) for r in conn.execute(query(name), params)]


def _one(engine: Engine, name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(query(name), params).first()
    return _plain(row) if row is not None else None


def like_pattern(text: str) -> str:
    """`%text%` for ILIKE with the user's own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_jobs(
    engine: Engine,
    *,
    slug: str | None = None,
    status: str | None = None,
    dmo_id: int | None = None,
    dmo_ids: list[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Jobs, newest first; `dmo_ids` limits them to a caller's DMOs (None: every DMO)."""
    params = {"slug": slug, "status": status, "dmo_id": dmo_id, "dmo_ids": dmo_ids}
    return _page(engine, "jobs_list", params, limit, offset)


def get_job(engine: Engine, job_id: int) -> dict[str, Any] | None:
    return _one(engine, "job_get", {"job_id": job_id})


def active_jobs_for_slug(engine: Engine, slug: str) -> list[dict[str, Any]]:
    return _all(engine, "jobs_active_for_slug", {"slug": slug})


def last_job_by_slug(engine: Engine, slugs: list[str]) -> dict[str, dict[str, Any]]:
    return {r["slug"]: r for r in _all(engine, "job_slugs", {"slugs": slugs})}


def job_stages(engine: Engine, job_id: int) -> list[dict[str, Any]]:
    return _all(engine, "job_stages", {"job_id": job_id})


def list_files(
    engine: Engine,
    *,
    job_id: int | None = None,
    dmo_id: int | None = None,
    dmo_ids: list[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    params = {"job_id": job_id, "dmo_id": dmo_id, "dmo_ids": dmo_ids}
    return _page(engine, "files_list", params, limit, offset)


def get_file(engine: Engine, file_id: int) -> dict[str, Any] | None:
    return _one(engine, "file_get", {"file_id": file_id})


def job_errors(
    engine: Engine,
    job_id: int,
    *,
    error_type: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    return _page(engine, "job_errors", {"job_id": job_id, "error_type": error_type}, limit, offset)


def job_error_types(engine: Engine, job_id: int) -> list[dict[str, Any]]:
    return _all(engine, "job_error_types", {"job_id": job_id})


def job_action_counts(engine: Engine, job_id: int) -> dict[str, dict[str, int]]:
    """{entity: {action: rows}} for the job's stage rows, entities in ENTITIES order."""
    found: dict[str, dict[str, int]] = {}
    for row in _all(engine, "job_action_counts", {"job_id": job_id}):
        found.setdefault(row["entity"], {})[row["action"]] = row["n"]
    return {e: dict(sorted(found[e].items())) for e in ENTITIES if e in found}


def stage_rows(
    engine: Engine,
    job_id: int,
    *,
    listing_action: str | None = None,
    review_status: str | None = None,
    source_id: str | None = None,
    name: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    params = {
        "job_id": job_id,
        "listing_action": listing_action,
        "review_status": review_status,
        "source_id": source_id,
        "name": name,
        "name_pattern": like_pattern(name) if name else None,
    }
    return _page(engine, "stage_rows", params, limit, offset)


def search_listings(
    engine: Engine,
    *,
    q: str | None = None,
    city: str | None = None,
    status: str | None = None,
    dmo_ids: list[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    params = {"city": city, "status": status, "dmo_ids": dmo_ids}
    if not q:
        return _page(engine, "listings_browse", params, limit, offset)
    params.update(q=q, q_pattern=like_pattern(q))
    return _page(engine, "listings_search", params, limit, offset)


def get_listing(engine: Engine, listing_id: int) -> dict[str, Any] | None:
    return _one(engine, "listing_get", {"listing_id": listing_id})


def listing_infos(engine: Engine, listing_id: int) -> list[dict[str, Any]]:
    return _all(engine, "listing_infos", {"listing_id": listing_id})


def listing_sources(engine: Engine, listing_id: int) -> list[dict[str, Any]]:
    return _all(engine, "listing_sources", {"listing_id": listing_id})


def listing_attributes(engine: Engine, listing_id: int) -> list[str]:
    return [r["name"] for r in _all(engine, "listing_attributes", {"listing_id": listing_id})]


def listing_stage_rows(engine: Engine, listing_id: int) -> list[dict[str, Any]]:
    return _all(engine, "listing_stage_rows", {"listing_id": listing_id})
