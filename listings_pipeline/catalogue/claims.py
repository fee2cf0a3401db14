"""Claims (seed 003 "Claim and Modify Workflow"): a person takes a production listing over from
its source, or gives it back.

* claimed: promotion takes from the source only what the config's `promotion.claimed_records`
  policy allows (default: the seed's selective merge of status, visibility and coordinates);
  a deletion at the source only sets `origin_deleted`, the listing stays as people left it.
* owned (`own=True`, the seed's `is_externally_managed = false`): the source changes nothing.
* unclaimed: the source wins, except fields a person edited (seed 000 manual edits).

Each claim and unclaim is a version in `pipeline.listing_history` (change type `claim` /
`unclaim`, reviewer = who, change_reason = the note). Used by the CLI and the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from listings_pipeline.db import load_queries

Q = load_queries(__file__, "claims.sql")
MAX_LIMIT = 500


class ClaimError(Exception):
    """A claim that cannot be made; nothing was changed."""


class ListingNotFound(ClaimError):
    pass


@dataclass(frozen=True)
class ClaimState:
    listing_id: int
    name: str
    claimed: bool
    claimed_by: str | None
    claimed_at: datetime | None
    owned: bool  # externally_managed = false: the source changes nothing
    changed: bool  # False when the listing already was in this state (the call is idempotent)

    def as_dict(self) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "name": self.name,
            "claimed": self.claimed,
            "claimed_by": self.claimed_by,
            "claimed_at": self.claimed_at,
            "owned": self.owned,
            "changed": self.changed,
        }


def _state(row: Any, changed: bool) -> ClaimState:
    return ClaimState(
        listing_id=row.id,
        name=row.name,
        claimed=row.claimed,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        owned=not row.externally_managed,
        changed=changed,
    )


def _current(conn: Connection, listing_id: int) -> Any:
    row = conn.execute(text(Q["current"]), {"listing_id": listing_id}).first()
    if row is None:
        raise ListingNotFound(f"listing {listing_id} does not exist")
    return row


def _who(by: str) -> str:
    who = by.strip()
    if not who:
        raise ClaimError("say who claims: a user name is required")
    return who


def claim(
    engine: Engine, listing_id: int, *, by: str, own: bool = False, note: str | None = None
) -> ClaimState:
    """Claim `listing_id` for `by`. Claiming again (same person, same `own`) changes nothing;
    a listing someone else claimed must be unclaimed first."""
    who = _who(by)
    with engine.begin() as conn:
        row = _current(conn, listing_id)
        if row.claimed and row.claimed_by not in (None, who):
            raise ClaimError(
                f"listing {listing_id} is claimed by {row.claimed_by} since"
                f" {row.claimed_at:%Y-%m-%d %H:%M}; unclaim it first"
            )
        if row.claimed and row.externally_managed == (not own):
            return _state(row, changed=False)
        reason = note or ("claimed; the source no longer changes it" if own else "claimed")
        conn.execute(text(Q["editor"]), {"who": who, "reason": reason})
        updated = conn.execute(text(Q["claim"]), {"listing_id": listing_id, "who": who, "own": own})
        return _state(updated.one(), changed=True)


def unclaim(engine: Engine, listing_id: int, *, by: str, note: str | None = None) -> ClaimState:
    """Give `listing_id` back to its source (anyone allowed to claim may). Unclaiming a
    listing nobody claimed changes nothing."""
    who = _who(by)
    with engine.begin() as conn:
        row = _current(conn, listing_id)
        if not row.claimed and row.externally_managed:
            return _state(row, changed=False)
        held = f" from {row.claimed_by}" if row.claimed_by and row.claimed_by != who else ""
        conn.execute(text(Q["editor"]), {"who": who, "reason": note or f"unclaimed{held}"})
        updated = conn.execute(text(Q["unclaim"]), {"listing_id": listing_id})
        return _state(updated.one(), changed=True)


def claim_page(
    conn: Connection,
    dmo_id: int,
    *,
    claimed: bool = False,
    after: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """A page (by listing id, after `after`) of the DMO's listings nobody claimed yet (seed 003
    "Ingested Listings"), or of the ones claimed."""
    limit = max(1, min(limit, MAX_LIMIT))
    rows = conn.execute(
        text(Q["claimed" if claimed else "unclaimed"]),
        {"dmo_id": dmo_id, "after": after, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


def claim_counts(conn: Connection) -> list[dict[str, Any]]:
    """Per DMO: live listings, claimed, unclaimed (seed 003's ingress dashboard figures)."""
    return [dict(r) for r in conn.execute(text(Q["counts"])).mappings()]
