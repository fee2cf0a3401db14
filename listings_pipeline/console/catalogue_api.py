"""The published-catalogue API (seed 003 "Egress"): read-only, for consumers (websites, apps,
partners), under /api/v1/catalogue.

* Listings of `egress.listings_v1` in identifier order, by keyset (`after`), filtered by DMO,
  modification time and bounding box; one listing by identifier.
* A changes feed over `pipeline.listing_history` with a resumable cursor.
* Token auth (`catalogue:read`, role `catalogue_reader`), ETags (If-None-Match → 304), and
  its own OpenAPI document at /api/v1/catalogue/openapi.json.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from listings_pipeline.catalogue import published
from listings_pipeline.console import scope
from listings_pipeline.console.security import Access, access_of, engine_of
from listings_pipeline.console.users import Principal

PERMISSION = "catalogue:read"
READ_CATALOGUE = Access(PERMISSION)
MAX_LIMIT = 500

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"])
Consumer = Annotated[Principal, Depends(READ_CATALOGUE)]


# --- documented shapes (the view's columns; README "Egress" has the mapping table) ----------


class DmoInfo(BaseModel):
    publisher: dict[str, Any] = Field(description="The DMO: {identifier, name}.")
    description: str | None = None
    telephone: str | None = None
    email: str | None = None
    url: str | None = None
    sameAs: list[str] | None = None
    image: list[str] = []
    openingHoursSpecification: list[dict[str, Any]] = []


class CatalogueListing(BaseModel):
    identifier: int = Field(description="listings.id; stable.")
    type: str = Field(description="schema.org @type: LocalBusiness or TouristAttraction.")
    name: str
    description: str | None
    address_street_address: str | None = Field(description="address.streetAddress")
    address_locality: str | None = Field(description="address.addressLocality (city)")
    address_region: str | None = Field(description="address.addressRegion (state/province)")
    address_postal_code: str | None = Field(description="address.postalCode")
    address_country: str | None = Field(description="address.addressCountry (ISO 3166-1)")
    contained_in_place: str | None = Field(description="containedInPlace.name (region)")
    latitude: float | None = Field(description="geo.latitude")
    longitude: float | None = Field(description="geo.longitude")
    telephone: str | None
    email: str | None
    url: str | None
    same_as: list[str] | None = Field(description="sameAs: social profile links")
    image: list[str]
    opening_hours_specification: list[dict[str, Any]] = Field(
        description="openingHoursSpecification: {dayOfWeek, opens, closes} per day and"
        " {validFrom, validThrough} per season"
    )
    keywords: list[str] = Field(description="keywords: the listing's attributes")
    google_place_id: str | None = Field(description="Not schema.org: Google's place id.")
    dmo_info: list[DmoInfo] = Field(
        description="Per DMO publishing it; the flat per-DMO fields are the first entry's"
        " (the requested DMO's with dmo_id)."
    )
    date_created: datetime
    date_modified: datetime = Field(description="dateModified: the newest change")


class CatalogueListings(BaseModel):
    items: list[CatalogueListing]
    limit: int
    next_after: int | None = Field(description="Pass as `after` for the next page; null: last.")


class Change(BaseModel):
    identifier: int | None = Field(description="The listing the change belongs to.")
    change_type: str = Field(description="create, update, delete, reactivate or archive.")
    part: str = Field(description="listings, locations, listing_info or contact_info.")
    part_id: int
    version: int
    fields: list[str] = Field(description="The fields the version changed.")
    changed_at: datetime
    in_catalogue: bool = Field(
        description="Whether the listing is published now: false means drop it."
    )


class Changes(BaseModel):
    items: list[Change]
    limit: int
    next_cursor: str = Field(
        description="Store it and pass it as `cursor` next time (also when items is empty)."
    )


# --- ETags -------------------------------------------------------------------------------------


def _not_modified(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    if not given:
        return False
    tags = {t.strip().removeprefix("W/") for t in given.split(",")}
    return "*" in tags or etag in tags


def _json(request: Request, data: Any) -> Response:
    """The body with a strong ETag of its bytes; 304 when the client holds the same."""
    body = orjson.dumps(data)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


_ETAG_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match ETag is current."}
}


# --- routes --------------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
DmoId = Annotated[
    int | None,
    Query(description="Only listings this DMO publishes, with its description and contact."),
]


@router.get("/listings", response_model=CatalogueListings, responses=_ETAG_RESPONSES)
async def list_listings(
    request: Request,
    principal: Consumer,
    after: Annotated[int | None, Query(description="next_after of the previous page.")] = None,
    dmo_id: DmoId = None,
    updated_since: Annotated[
        datetime | None,
        Query(description="Only listings changed at or after this ISO 8601 time."),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(description="min_lng,min_lat,max_lng,max_lat", examples=["-64.5,44.4,-63.3,44.9"]),
    ] = None,
    limit: Limit = 100,
) -> Response:
    """Published listings in identifier order, one page at a time (keyset: stable while the
    catalogue changes)."""
    try:
        box = published.BBox.parse(bbox) if bbox else None
    except ValueError as err:
        raise HTTPException(422, str(err)) from err
    dmo_id = scope.one_dmo(principal, "catalogue:read", dmo_id)

    def page() -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            items, next_after = published.listing_page(
                conn, limit=limit, after=after, dmo_id=dmo_id, since=updated_since, bbox=box
            )
        return {"items": items, "limit": limit, "next_after": next_after}

    return _json(request, await run_in_threadpool(page))


@router.get(
    "/listings/{listing_id}",
    response_model=CatalogueListing,
    responses={**_ETAG_RESPONSES, 404: {"description": "Not in the published catalogue."}},
)
async def get_listing(
    request: Request, principal: Consumer, listing_id: int, dmo_id: DmoId = None
) -> Response:
    """One published listing; 404 when it is not (or no longer) published."""
    dmo_id = scope.one_dmo(principal, "catalogue:read", dmo_id)

    def one() -> dict[str, Any] | None:
        with engine_of(request).connect() as conn:
            return published.published_listing(conn, listing_id, dmo_id)

    found = await run_in_threadpool(one)
    if found is None:
        raise HTTPException(404, f"Listing {listing_id} is not in the published catalogue.")
    return _json(request, found)


@router.get("/changes", response_model=Changes, responses=_ETAG_RESPONSES)
async def list_changes(
    request: Request,
    principal: Consumer,
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous call; none: from the beginning; `now`:"
            " skip everything so far."
        ),
    ] = None,
    dmo_id: Annotated[int | None, Query(description="Only listings of this DMO.")] = None,
    limit: Limit = 100,
) -> Response:
    """Changes to production listings, oldest first, from `pipeline.listing_history`. Resume
    from `next_cursor`: nothing is skipped or repeated, even while promotions run (a change
    appears once every transaction that started before it has ended)."""
    dmo_id = scope.one_dmo(principal, "catalogue:read", dmo_id)

    def feed() -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            start = published.changes_end(conn) if cursor == "now" else cursor
            items, next_cursor = published.changes(conn, cursor=start, limit=limit, dmo_id=dmo_id)
        return {"items": items, "limit": limit, "next_cursor": next_cursor}

    try:
        data = await run_in_threadpool(feed)
    except published.CursorError as err:
        raise HTTPException(400, str(err)) from err
    return _json(request, data)


@router.get("/openapi.json", include_in_schema=False)
def catalogue_openapi(request: Request, principal: Consumer) -> dict[str, Any]:
    """The catalogue API alone, for consumers (the console's /openapi.json needs
    pipeline:read)."""
    return get_openapi(
        title="Listings catalogue API",
        version="1",
        description=(
            "The published listings catalogue (`egress.listings_v1`, schema.org names) and its"
            " changes feed. Authenticate with `Authorization: Bearer <token>` of a user holding"
            f" `{PERMISSION}` (role `catalogue_reader`)."
        ),
        routes=[r for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema],
    )


def _document_permission() -> None:
    for route in router.routes:
        if isinstance(route, APIRoute) and access_of(route) is READ_CATALOGUE:
            route.description = f"{route.description}\n\nRequires: `{PERMISSION}`.".strip()


_document_permission()
