"""The published catalogue: pages of `egress.listings_v1`, the changes feed and the JSON-LD
form of a listing. Used by the catalogue API (console/catalogue_api.py) and
`listings-pipeline export jsonld`.

A listing's JSON is the view's row as is (column names are the contract, README "Egress"),
with numbers as JSON numbers and times in ISO 8601. Asked for one DMO, the per-DMO columns
(description, contact, images, hours) are that DMO's and `dmo_info` holds only its entry.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from listings_pipeline.db import load_queries

Q = load_queries(__file__, "published.sql")
VIEW = "egress.listings_v1"
# The view's columns, in order: the consumers' contract (a test asserts the view has exactly
# these). A change is a new view version, never an edit of v1.
COLUMNS = (
    "identifier", "type", "name", "description",
    "address_street_address", "address_locality", "address_region", "address_postal_code",
    "address_country", "contained_in_place", "latitude", "longitude",
    "telephone", "email", "url", "same_as", "image", "opening_hours_specification",
    "keywords", "google_place_id", "dmo_info", "date_created", "date_modified",
)  # fmt: skip
# Per-DMO columns: view column → key of a dmo_info entry.
PER_DMO = {
    "description": "description",
    "telephone": "telephone",
    "email": "email",
    "url": "url",
    "same_as": "sameAs",
    "image": "image",
    "opening_hours_specification": "openingHoursSpecification",
}
EXPORT_BATCH = 500  # rows fetched at a time by the export (a row is a few KB)


class CursorError(ValueError):
    """A changes-feed cursor this API did not give out."""


@dataclass(frozen=True)
class BBox:
    """min_lng,min_lat,max_lng,max_lat (GeoJSON order)."""

    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    @classmethod
    def parse(cls, value: str) -> BBox:
        try:
            parts = [float(p) for p in value.split(",")]
        except ValueError:
            parts = []
        if len(parts) != 4:
            raise ValueError("bbox must be min_lng,min_lat,max_lng,max_lat (four numbers)")
        box = cls(*parts)
        if not (
            -180 <= box.min_lng <= box.max_lng <= 180 and -90 <= box.min_lat <= box.max_lat <= 90
        ):
            raise ValueError(
                "bbox must have -180 <= min_lng <= max_lng <= 180"
                " and -90 <= min_lat <= max_lat <= 90"
            )
        return box


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def listing_json(row: Any, dmo_id: int | None = None) -> dict[str, Any]:
    """The API / export form of a view row; with `dmo_id`, that DMO's information."""
    item = {c: _json_value(row[c]) for c in COLUMNS}
    if dmo_id is not None:
        mine = [e for e in item["dmo_info"] or [] if e["publisher"]["identifier"] == dmo_id]
        if mine:
            for column, key in PER_DMO.items():
                default: Any = [] if column in ("image", "opening_hours_specification") else None
                item[column] = mine[0].get(key, default)
            item["dmo_info"] = mine
    return item


def _where(fragments: list[str]) -> str:
    return "\n".join(Q[f] for f in fragments)


def _listing_filters(
    dmo_id: int | None, since: datetime | None, bbox: BBox | None
) -> tuple[list[str], dict[str, Any]]:
    fragments: list[str] = []
    params: dict[str, Any] = {}
    if dmo_id is not None:
        fragments.append("dmo")
        params["dmo_id"] = dmo_id
    if since is not None:
        fragments.append("updated_since")
        params["since"] = since
    if bbox is not None:
        fragments.append("bbox")
        params.update(vars(bbox))
    return fragments, params


def listing_page(
    conn: Connection,
    *,
    limit: int,
    after: int | None = None,
    dmo_id: int | None = None,
    since: datetime | None = None,
    bbox: BBox | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Published listings after identifier `after`, in identifier order, filtered; and the
    `after` of the next page (None on the last)."""
    fragments, params = _listing_filters(dmo_id, since, bbox)
    if after is not None:
        fragments.append("after")
        params["after"] = after
    sql = Q["listings"].replace("{filters}", _where(fragments))
    rows = conn.execute(text(sql), {**params, "limit": limit + 1}).mappings().all()
    items = [listing_json(r, dmo_id) for r in rows[:limit]]
    return items, (items[-1]["identifier"] if len(rows) > limit else None)


def published_listing(
    conn: Connection, identifier: int, dmo_id: int | None = None
) -> dict[str, Any] | None:
    fragments, params = _listing_filters(dmo_id, None, None)
    sql = Q["listings"].replace("{filters}", _where([*fragments, "identifier"]))
    row = conn.execute(text(sql), {**params, "identifier": identifier, "limit": 1}).mappings()
    found = row.first()
    return None if found is None else listing_json(found, dmo_id)


def iter_listings(conn: Connection, dmo_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Every published listing (of one DMO), streamed from a server-side cursor: memory stays
    at one batch whatever the catalogue's size."""
    fragments, params = _listing_filters(dmo_id, None, None)
    sql = Q["listings_all"].replace("{filters}", _where(fragments))
    result = conn.execution_options(stream_results=True, yield_per=EXPORT_BATCH).execute(
        text(sql), params
    )
    for row in result.mappings():
        yield listing_json(row, dmo_id)


# --- the changes feed -------------------------------------------------------------------------

_START = ("0", "", 0, 0)


def encode_cursor(xact_id: str, target_table: str, target_id: int, version: int) -> str:
    raw = f"{xact_id}:{target_table}:{target_id}:{version}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, str, int, int]:
    if not cursor:
        return _START
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        xact_id, target_table, target_id, version = raw.split(":")
        if not xact_id.isdigit():
            raise ValueError(xact_id)
        return xact_id, target_table, int(target_id), int(version)
    except (ValueError, UnicodeDecodeError, binascii.Error) as err:
        raise CursorError("cursor is not one this API gave out; start without one") from err


def changes(
    conn: Connection, *, cursor: str | None, limit: int, dmo_id: int | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Versions of production rows written after `cursor`, oldest first, and the cursor to
    resume from (the same one when nothing new can be served yet)."""
    xact_id, target_table, target_id, version = decode_cursor(cursor)
    fragments = ["changes_dmo"] if dmo_id is not None else []
    sql = Q["changes"].replace("{filters}", _where(fragments))
    params: dict[str, Any] = {
        "xact_id": xact_id,
        "target_table": target_table,
        "target_id": target_id,
        "version": version,
        "limit": limit,
    }
    if dmo_id is not None:
        params["dmo_id"] = dmo_id
    rows = conn.execute(text(sql), params).mappings().all()
    items = [
        {
            "identifier": r["listing_id"],
            "change_type": r["change_type"],
            "part": r["target_table"],
            "part_id": r["target_id"],
            "version": r["version"],
            "fields": list(r["fields"]),
            "changed_at": r["changed_at"].isoformat(),
            "in_catalogue": r["in_catalogue"],
        }
        for r in rows
    ]
    if rows:
        last = rows[-1]
        next_cursor = encode_cursor(
            last["xact_id"], last["target_table"], last["target_id"], last["version"]
        )
    else:
        next_cursor = cursor or encode_cursor(*_START)
    return items, next_cursor


def changes_end(conn: Connection) -> str:
    """A cursor after every version the feed can serve now (to follow only what comes next)."""
    row = conn.execute(text(Q["changes_end"])).first()
    return encode_cursor(*row) if row is not None else encode_cursor(*_START)


# --- JSON-LD ----------------------------------------------------------------------------------


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {}, "")}


def jsonld(item: dict[str, Any], base_url: str | None = None) -> dict[str, Any]:
    """A listing (listing_json) as a schema.org node: the view's column mapping read back."""
    address = _drop_empty(
        {
            "@type": "PostalAddress",
            "streetAddress": item["address_street_address"],
            "addressLocality": item["address_locality"],
            "addressRegion": item["address_region"],
            "postalCode": item["address_postal_code"],
            "addressCountry": item["address_country"],
        }
    )
    geo = None
    if item["latitude"] is not None and item["longitude"] is not None:
        geo = {
            "@type": "GeoCoordinates",
            "latitude": item["latitude"],
            "longitude": item["longitude"],
        }
    identifiers = [
        {"@type": "PropertyValue", "propertyID": "listing_id", "value": str(item["identifier"])}
    ]
    if item["google_place_id"]:
        identifiers.append(
            {
                "@type": "PropertyValue",
                "propertyID": "google_place_id",
                "value": item["google_place_id"],
            }
        )
    node = {
        "@type": item["type"],
        "@id": f"{base_url.rstrip('/')}/{item['identifier']}" if base_url else None,
        "identifier": identifiers,
        "name": item["name"],
        "description": item["description"],
        "address": address if len(address) > 1 else None,
        "geo": geo,
        "containedInPlace": (
            {"@type": "Place", "name": item["contained_in_place"]}
            if item["contained_in_place"]
            else None
        ),
        "telephone": item["telephone"],
        "email": item["email"],
        "url": item["url"],
        "sameAs": item["same_as"],
        "image": item["image"],
        "openingHoursSpecification": [
            {"@type": "OpeningHoursSpecification", **spec}
            for spec in item["opening_hours_specification"] or []
        ],
        "keywords": ", ".join(item["keywords"] or []) or None,
        "dateCreated": item["date_created"],
        "dateModified": item["date_modified"],
    }
    return _drop_empty(node)
