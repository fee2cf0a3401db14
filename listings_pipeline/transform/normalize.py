"""Normalisation after mapping and before hashing (seed 000 3a)."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from listings_pipeline.configs.model import TransformSettings
from listings_pipeline.transform.issues import Issue
from listings_pipeline.transform.targets import FLAT_TARGETS

_SPACES = re.compile(r"\s+")
_TIME = re.compile(r"^(\d{1,2})(?::|\.|h)?(\d{2})?\s*(am|pm)?$", re.IGNORECASE)
_TRUE = {"true", "yes", "y", "1", "t", "on"}
_FALSE = {"false", "no", "n", "0", "f", "off"}
_COLUMN_TARGET = {column: target for target, column in FLAT_TARGETS.items()}


def _decimal(value: Any, target: str, places: int, issues: list[Issue]) -> tuple[Any, Any]:
    if value is None:
        return None, None
    try:
        original = Decimal(str(value).strip())
    except InvalidOperation:
        issues.append(Issue(target, value, "not a number"))
        return None, None
    if not original.is_finite():
        issues.append(Issue(target, value, "not a number"))
        return None, None
    rounded = original.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return rounded, original


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not a yes/no value")


def parse_date(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    for sep in ("/", "-", "."):
        parts = text.split(sep)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            a, b, c = (int(p) for p in parts)
            if len(parts[0]) == 4:
                return date(a, b, c).isoformat()  # raises on 2026/02/31
            return date(c, b, a).isoformat()  # day first: 31/02/2026 raises
    raise ValueError("not a date (expected YYYY-MM-DD or DD/MM/YYYY)")


def parse_time(value: Any) -> str | None:
    if value is None:
        return None
    match = _TIME.match(str(value).strip())
    if not match:
        raise ValueError("not a time (expected HH:MM)")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower()
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise ValueError("not a time of day")
    return f"{hour % 24:02d}:{minute:02d}"


def normalize_row(row: dict[str, Any], settings: TransformSettings) -> list[Issue]:
    """Normalise `row` in place; return the values that could not be understood."""
    issues: list[Issue] = []
    for column in settings.normalize_fields:
        key = FLAT_TARGETS.get(column)
        if key and isinstance(row.get(key), str):
            row[key] = _SPACES.sub(" ", row[key]).strip() or None
    places = settings.round_lat_lng
    row["loc_lat"], row["loc_lat_original"] = _decimal(
        row.get("loc_lat"), "locations.lat", places, issues
    )
    row["loc_lng"], row["loc_lng_original"] = _decimal(
        row.get("loc_lng"), "locations.lng", places, issues
    )
    for key in ("listing_visible", "info_visible"):
        try:
            row[key] = parse_bool(row.get(key))
        except ValueError as err:
            issues.append(Issue(_COLUMN_TARGET[key], row[key], str(err)))
            row[key] = None
    if isinstance(row.get("ci_email"), str):
        row["ci_email"] = row["ci_email"].lower()
    country = row.get("loc_country") or settings.default_country
    if country is not None:
        country = str(country).strip().upper()
        if len(country) != 2 or not country.isalpha():
            issues.append(Issue("locations.country", country, "not an ISO 3166 two-letter code"))
            country = None
    row["loc_country"] = country
    for entry in row.get("dates", []):
        for key in ("start_date", "end_date"):
            try:
                entry[key] = parse_date(entry.get(key))
            except ValueError as err:
                issues.append(Issue(f"opening_dates.{key}", entry[key], str(err)))
                entry[key] = None
    for entry in row.get("hours", []):
        for key in ("open_time", "close_time"):
            try:
                entry[key] = parse_time(entry.get(key))
            except ValueError as err:
                issues.append(Issue(f"opening_hours.{key}", entry[key], str(err)))
                entry[key] = None
    return issues
