"""What the review pages show and do (seed 000 "Manual Review"): a job's stage rows in tabs by
kind of change, each row beside what production holds now (a field-level diff), and decisions
that leave rows someone else decided meanwhile alone and say so.

Decisions go through `listings_pipeline.review.decide`, the one place that decides rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine

from listings_pipeline.console import config_files
from listings_pipeline.console.queries import like_pattern
from listings_pipeline.console.sql import queries
from listings_pipeline.locks import SourceBusy
from listings_pipeline.review import DecisionResult, ReviewError, decide
from listings_pipeline.review.signals import signal_lines
from listings_pipeline.settings import get_settings

PAGE_SIZE = 50
REVIEW_STATUSES = ("pending", "auto_approved", "approved", "rejected")
# A job in one of these states takes no more decisions.
CLOSED_STATUSES = ("completed", "superseded", "failed", "cancelled")
OPEN, DECIDED = "open", "decided"  # a row's state as a page showed it (form field seen_<id>)


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    kind: str  # the change_kind "all of this kind" decides
    matches: bool = False  # the Matches tab also lists rows matched by hash or fuzzily

    @property
    def kind_filter(self) -> str | None:
        return None if self.matches else self.kind


TABS = (
    Tab("new", "New", "insert"),
    Tab("updates", "Updates", "update"),
    Tab("matches", "Matches", "uncertain_match", matches=True),
    Tab("duplicates", "Duplicates", "duplicate"),
    Tab("deletions", "Deletions", "delete"),
    Tab("errors", "Errors", "error"),
)
TABS_BY_NAME = {t.name: t for t in TABS}


@dataclass
class TabCount:
    total: int = 0
    pending: int = 0  # waiting for a person
    open: int = 0  # nobody decided yet (what "all of this kind" would decide)
    kind_open: int = 0  # open rows of the tab's change_kind (differs on the Matches tab)


def tab_counts(engine: Engine, job_id: int) -> dict[str, TabCount]:
    """Rows per tab, plus "all": every row of the job."""
    counts = {t.name: TabCount() for t in TABS}
    counts["all"] = TabCount()
    with engine.connect() as conn:
        groups = conn.execute(queries("review")["counts"], {"job_id": job_id}).all()
    for g in groups:
        names = [t.name for t in TABS if not t.matches and t.kind == g.change_kind]
        if g.change_kind == "uncertain_match" or g.matched:
            names.append("matches")
        for name in [*names, "all"]:
            c = counts[name]
            c.total += g.total
            c.pending += g.pending
            c.open += g.open
            if name == "all" or g.change_kind == TABS_BY_NAME[name].kind:
                c.kind_open += g.open
    return counts


# --- the diff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDiff:
    name: str
    before: Any  # production now
    after: Any  # what this row brings
    changed: bool
    kept: bool = False  # edited by hand in production: promotion keeps the production value

    @property
    def differs(self) -> bool:
        return not _same(self.before, self.after)


@dataclass(frozen=True)
class Section:
    entity: str
    label: str
    action: str | None
    exists: bool  # production has this object
    fields: list[FieldDiff]

    @property
    def applies(self) -> bool:
        return self.action in ("insert", "update", "delete")

    @property
    def changed(self) -> int:
        return sum(1 for f in self.fields if f.changed)


# (entity, label, action column, production id column, manual-fields column, fields);
# a field is (production column name, stage column, production value column).
_SCALARS: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "listing",
        "Listing",
        "listing_action",
        "p_id",
        "p_manual",
        (
            ("name", "listing_name", "p_name"),
            ("google_place_id", "listing_google_place_id", "p_google_place_id"),
            ("listing_status", "listing_status", "p_listing_status"),
            ("listing_visible", "listing_visible", "p_listing_visible"),
        ),
    ),
    (
        "location",
        "Location",
        "location_action",
        "loc_id",
        "loc_manual",
        tuple(
            (c, f"loc_{c}", f"loc_p_{c}")
            for c in ("address1", "address2", "region", "city", "state", "zip", "country")
        )
        + (("lat", "loc_lat", "loc_p_lat"), ("lng", "loc_lng", "loc_p_lng")),
    ),
    (
        "listing_info",
        "Listing info (this DMO)",
        "listing_info_action",
        "li_id",
        "li_manual",
        (
            ("description", "listing_info_description", "li_description"),
            ("info_status", "info_status", "li_info_status"),
            ("info_visible", "info_visible", "li_info_visible"),
        ),
    ),
    (
        "contact_info",
        "Contact",
        "contact_info_action",
        "ci_id",
        "ci_manual",
        tuple(
            (c, f"ci_{c}", f"ci_p_{c}")
            for c in ("name", "email", "local_phone", "international_phone", "website_url")
        )
        + (("socials", "ci_socials", "ci_p_socials"),),
    ),
)
# Collections are replaced as a whole when their content hash differs.
_COLLECTIONS = (
    ("attributes", "Attributes", "attributes_action", "p_id", "attributes", "p_attributes"),
    ("images", "Images", "images_action", "li_id", "images", "p_images"),
    ("opening_dates", "Opening dates", "opening_dates_action", "li_id", "dates", "p_dates"),
    ("opening_hours", "Opening hours", "opening_hours_action", "li_id", "hours", "p_hours"),
)
# Status columns a source rarely sets: unset keeps production's value, and a soft-deleted
# object that comes back is reactivated (promotion.sql update_listings/update_listing_info).
_STATUS_DEFAULTS = {
    "listing_status": "active",
    "listing_visible": True,
    "info_status": "active",
    "info_visible": True,
}
_DELETED = {
    "listing_status": "missing_from_import",
    "listing_visible": False,
    "info_status": "missing_from_import",
    "info_visible": False,
}


def _number(v: Any) -> bool:
    return isinstance(v, Decimal | float | int) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return Decimal(str(a)) == Decimal(str(b))  # 44.6001 = 44.60010000
    return a == b


def _after(column: str, action: str | None, before: Any, staged: Any, row: dict[str, Any]) -> Any:
    """The value promotion would write into `column` (before merge policy and manual edits)."""
    if action == "delete":
        return _DELETED.get(column, before)
    if column in _STATUS_DEFAULTS and staged is None:
        status = row["p_listing_status"] if column.startswith("listing") else row["li_info_status"]
        return _STATUS_DEFAULTS[column] if status == "missing_from_import" else before
    if column == "name" and staged is None:  # promotion never blanks a listing's name
        return before
    return staged


def diff_sections(row: dict[str, Any], merge_policy: str = "latest_wins") -> list[Section]:
    """Field by field: production now (before) against what promoting the row writes (after)."""
    sections = []
    for entity, label, action_col, id_col, manual_col, fields in _SCALARS:
        action = row[action_col]
        exists = row[id_col] is not None
        manual = set(row[manual_col] or ()) if exists else set()
        diffs = []
        for column, stage_col, prod_col in fields:
            before = row[prod_col] if exists else None
            after = _after(column, action, before, row[stage_col], row)
            if merge_policy == "field_level_merge" and after is None:
                after = before
            kept = exists and column in manual and not row["force_overwrite"] and action != "delete"
            changed = action in ("insert", "update", "delete") and not _same(before, after)
            diffs.append(FieldDiff(column, before, after, changed and not kept, kept and changed))
        sections.append(Section(entity, label, action, exists, diffs))
    for entity, label, action_col, id_col, stage_col, prod_col in _COLLECTIONS:
        action = row[action_col]
        exists = row[id_col] is not None
        before = row[prod_col] if exists else None
        after = before if action == "delete" else row[stage_col]
        changed = action in ("insert", "update")  # the content hash said so
        sections.append(
            Section(entity, label, action, exists, [FieldDiff(entity, before, after, changed)])
        )
    return sections


def merge_policy(slug: str | None) -> str:
    """The merge policy promotion will use for `slug` (its config file's), for the diff."""
    found = config_files.read_config(get_settings().config_dir, slug) if slug else None
    return found.config.promotion.merge_policy if found and found.config else "latest_wins"


# --- a page of a tab -------------------------------------------------------------------------


@dataclass
class ReviewRow:
    data: dict[str, Any]
    sections: list[Section]

    @property
    def id(self) -> int:
        return self.data["id"]

    @property
    def decidable(self) -> bool:
        return self.data["reviewed_at"] is None and self.data["promote_status"] == "pending"

    @property
    def seen(self) -> str:
        return OPEN if self.decidable else DECIDED

    @property
    def production_listing_id(self) -> int | None:
        return self.data["p_id"]

    @property
    def match_signals(self) -> list[tuple[str, str]]:
        """What the matcher compared and found, for a suggested or fuzzy match."""
        return signal_lines(self.data.get("match_signals"))


@dataclass
class ReviewPage:
    rows: list[ReviewRow]
    has_prev: bool
    has_next: bool

    @property
    def first_id(self) -> int | None:
        return self.rows[0].id if self.rows else None

    @property
    def last_id(self) -> int | None:
        return self.rows[-1].id if self.rows else None


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    q: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in REVIEW_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REVIEW_STATUSES)}")


def review_page(
    engine: Engine,
    job_id: int,
    tab: Tab,
    filters: Filters,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    merge_policy: str = "latest_wins",
) -> ReviewPage:
    """One page of a tab: rows after `after` (or before `before`), in id order."""
    q = queries("review")
    params: dict[str, Any] = {
        "job_id": job_id,
        "kind": tab.kind_filter,
        "matches": tab.matches,
        "status": filters.status,
        "q": filters.q,
        "q_pattern": like_pattern(filters.q) if filters.q else None,
        "after": after,
        "before": before,
        "limit": limit + 1,
    }
    with engine.connect() as conn:
        backward = before is not None
        ids = list(
            conn.execute(q["page_backward" if backward else "page_forward"], params).scalars()
        )
        more = len(ids) > limit
        ids = sorted(ids[:limit])
        found = [dict(r._mapping) for r in conn.execute(q["rows"], {"ids": ids})] if ids else []
    rows = [ReviewRow(r, diff_sections(r, merge_policy)) for r in found]
    if backward:
        return ReviewPage(rows, has_prev=more, has_next=True)
    return ReviewPage(rows, has_prev=after is not None, has_next=more)


# --- decisions -------------------------------------------------------------------------------


@dataclass
class DecisionOutcome:
    decision: str
    decided: list[int]
    # Rows the page showed as undecided that someone else decided (or promoted) meanwhile.
    stale: list[dict[str, Any]] = field(default_factory=list)
    stale_count: int = 0


def row_states(engine: Engine, job_id: int, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    with engine.connect() as conn:
        found = conn.execute(queries("review")["states"], {"job_id": job_id, "ids": list(ids)})
        return [dict(r._mapping) for r in found]


def _all_decided(
    engine: Engine, job_id: int, row_ids: Sequence[int] | None, kind: str | None, all_rows: bool
) -> bool:
    params = {"job_id": job_id, "row_ids": list(row_ids or []), "kind": kind, "all_rows": all_rows}
    with engine.connect() as conn:
        found = conn.execute(queries("review")["selection_open"], params).one()
    if row_ids and found.selected != len(set(row_ids)):
        return False  # some ids are not this job's: decide()'s refusal stands
    return found.selected > 0 and found.open == 0


def apply_decision(
    engine: Engine,
    job: dict[str, Any],
    decision: Literal["approve", "reject"],
    *,
    reviewer: str,
    row_ids: Sequence[int] | None = None,
    kind: str | None = None,
    all_rows: bool = False,
    seen: dict[int, str] | None = None,
    expected: int | None = None,
    override: Literal["skip", "force_overwrite"] | None = None,
    note: str | None = None,
) -> DecisionOutcome:
    """Decide rows by id (`seen`: their state as the page showed it), all open rows of a kind,
    or every row waiting for a person (`expected`: how many open rows the page showed).
    Raises ReviewError when nothing can be decided; rows decided meanwhile by someone else are
    reported, never decided again."""
    if job["status"] in CLOSED_STATUSES:
        raise ReviewError(f"job {job['id']} is {job['status']}; its rows can no longer be decided")
    try:
        result: DecisionResult = decide(
            engine,
            job["id"],
            decision,
            reviewer=reviewer,
            row_ids=list(row_ids) if row_ids else None,
            kind=kind,
            all_rows=all_rows,
            note=note,
            override=override,
        )
        decided = result.decided
    except SourceBusy as err:  # a run of the source holds it: shown like any refused decision
        raise ReviewError(str(err)) from err
    except ReviewError:
        # decide() may refuse a selection whose rows were all decided already; for a page that
        # showed them undecided that is news about someone else's decision, not an error.
        if not _all_decided(engine, job["id"], row_ids, kind, all_rows):
            raise
        decided = []
    outcome = DecisionOutcome(decision, decided)
    if row_ids:
        done = set(decided)
        missed = [i for i in row_ids if i not in done]
        outcome.stale = row_states(engine, job["id"], missed[:PAGE_SIZE])
        outcome.stale_count = len(missed)
    elif expected is not None:
        outcome.stale_count = max(0, expected - len(decided))
    if seen:
        # Rows the page already showed as decided were never offered: not someone else's news.
        shown_decided = {i for i, state in seen.items() if state == DECIDED}
        outcome.stale = [r for r in outcome.stale if r["id"] not in shown_decided]
        outcome.stale_count -= sum(1 for i in (row_ids or ()) if i in shown_decided)
    return outcome


def waiting_jobs(engine: Engine, limit: int, offset: int) -> tuple[list[dict[str, Any]], bool]:
    with engine.connect() as conn:
        found = conn.execute(
            queries("review")["waiting_jobs"], {"limit": limit + 1, "offset": offset}
        )
        rows = [dict(r._mapping) for r in found]
    return rows[:limit], len(rows) > limit


__all__ = [
    "CLOSED_STATUSES",
    "TABS",
    "TABS_BY_NAME",
    "DecisionOutcome",
    "Filters",
    "ReviewError",
    "ReviewPage",
    "ReviewRow",
    "Section",
    "Tab",
    "TabCount",
    "apply_decision",
    "diff_sections",
    "merge_policy",
    "review_page",
    "row_states",
    "tab_counts",
    "waiting_jobs",
]
