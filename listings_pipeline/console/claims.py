"""Claims in the console (seed 003 "Claim and Modify Workflow"): a page per DMO of the
ingested listings nobody has claimed yet, Claim / Unclaim on it and on a listing's page, and
the same as JSON (PUT / DELETE /api/v1/pipeline/listings/{id}/claim).

Looking needs pipeline:read; claiming listings:claim (role pipeline_reviewer). Claims go
through `listings_pipeline.catalogue.claims`, which records each in the listing's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from listings_pipeline.catalogue import claims
from listings_pipeline.console.rendering import render
from listings_pipeline.console.security import READ, Access, engine_of
from listings_pipeline.console.users import Principal

CLAIM = Access("listings:claim")
PAGE_SIZE = 50

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/pipeline", tags=["listings"])
Reader = Annotated[Principal, Depends(READ)]
Claimer = Annotated[Principal, Depends(CLAIM)]


@router.get("/pipeline/claims")
def claims_page(
    request: Request,
    principal: Reader,
    dmo_id: int | None = None,
    claimed: bool = False,
    after: int | None = None,
) -> Response:
    """Per DMO: live listings, claimed and unclaimed; the chosen DMO's unclaimed (or claimed)
    listings by id, each with Claim / Unclaim."""
    engine = engine_of(request)
    with engine.connect() as conn:
        visible = principal.dmos("pipeline:read")
        counts = [c for c in claims.claim_counts(conn) if visible is None or c["dmo_id"] in visible]
        if dmo_id is None and counts:
            dmo_id = counts[0]["dmo_id"]
        rows = (
            claims.claim_page(conn, dmo_id, claimed=claimed, after=after, limit=PAGE_SIZE + 1)
            if dmo_id is not None
            else []
        )
    return render(
        request,
        "claims.html",
        principal,
        counts=counts,
        dmo_id=dmo_id,
        claimed=claimed,
        after=after,
        rows=rows[:PAGE_SIZE],
        next_after=rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None,
    )


def _back(form: Any, listing_id: int, outcome: str) -> str:
    # Only the console's own claims page or the listing page: never an outside address.
    target = form.get("back")
    if isinstance(target, str) and target.startswith("/pipeline/claims?"):
        return f"{target}&{urlencode({'claim': outcome, 'listing': listing_id})}"
    return f"/pipeline/listings/{listing_id}?{urlencode({'claim': outcome})}"


def _claim_or_unclaim(
    engine: Engine, principal: Principal, listing_id: int, take: bool, own: bool, note: str | None
) -> claims.ClaimState:
    """The page and the JSON API: one claim or unclaim, its refusals as 404/409."""
    try:
        if take:
            return claims.claim(engine, listing_id, by=principal.username, own=own, note=note)
        return claims.unclaim(engine, listing_id, by=principal.username, note=note)
    except claims.ListingNotFound as err:
        raise HTTPException(404, f"Listing {listing_id} does not exist.") from err
    except claims.ClaimError as err:
        raise HTTPException(409, str(err)) from err


async def _change(request: Request, principal: Principal, listing_id: int, take: bool) -> Response:
    form = await request.form()
    note = form.get("note")
    note = note.strip()[:2000] or None if isinstance(note, str) else None
    own = form.get("own") == "on"
    engine = engine_of(request)

    def run() -> Response:
        state = _claim_or_unclaim(engine, principal, listing_id, take, own, note)
        outcome = ("claimed" if take else "unclaimed") if state.changed else "unchanged"
        return RedirectResponse(_back(form, listing_id, outcome), status_code=303)

    return await run_in_threadpool(run)


@router.post("/pipeline/listings/{listing_id}/claim")
async def claim_listing(request: Request, principal: Claimer, listing_id: int) -> Response:
    return await _change(request, principal, listing_id, take=True)


@router.post("/pipeline/listings/{listing_id}/unclaim")
async def unclaim_listing(request: Request, principal: Claimer, listing_id: int) -> Response:
    return await _change(request, principal, listing_id, take=False)


# --- JSON ------------------------------------------------------------------------------------


class ClaimIn(BaseModel):
    own: bool = Field(
        default=False, description="People own it outright: the source changes nothing."
    )
    note: str | None = Field(default=None, max_length=2000, description="Why (kept in history).")


class ClaimOut(BaseModel):
    listing_id: int
    name: str
    claimed: bool
    claimed_by: str | None
    claimed_at: datetime | None
    owned: bool = Field(description="The source changes nothing (externally_managed = false).")
    changed: bool = Field(description="False when the listing already was in this state.")


_CLAIM_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such listing."},
    409: {"description": "Claimed by someone else: unclaim it first."},
}


def _api_change(
    request: Request, principal: Principal, listing_id: int, body: ClaimIn | None, take: bool
) -> dict[str, Any]:
    own, note = (body.own, body.note) if body else (False, None)
    state = _claim_or_unclaim(engine_of(request), principal, listing_id, take, own, note)
    return state.as_dict()


@api_router.put("/listings/{listing_id}/claim", response_model=ClaimOut, responses=_CLAIM_ERRORS)
def put_claim(
    request: Request, principal: Claimer, listing_id: int, body: ClaimIn | None = None
) -> dict[str, Any]:
    """Claim a listing as the calling user (idempotent). The source then changes only what the
    config's claimed_records policy allows, and a deletion at the source only flags it.

    Requires: `listings:claim`."""
    return _api_change(request, principal, listing_id, body, take=True)


@api_router.delete("/listings/{listing_id}/claim", response_model=ClaimOut, responses=_CLAIM_ERRORS)
def delete_claim(request: Request, principal: Claimer, listing_id: int) -> dict[str, Any]:
    """Give a listing back to its source (idempotent).

    Requires: `listings:claim`."""
    return _api_change(request, principal, listing_id, None, take=False)
