"""Validate a normalised row (seed 000 "Validation", 3g; seed 002 rules with severity).

Checks data types (lat/lng bounds, email, phone, URL, dates, times, ...), required fields,
and business rules from the config (geographic bounds of the DMO, allowed / forbidden
categories, patterns). Every rule has a severity (`RULES` in configs.model) that
`validation.severities` may change to error, warning or off: errors make a row
unpromotable, warnings are shown to the reviewer.

The quality score (0-100) weighs completeness (weighted fields present), accuracy (values
that passed their type checks) and consistency (cross-field checks) as configured in
`validation.quality_scoring`.

Rules are compiled once per config; `validate_row` runs per row over whole imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from listings_pipeline.configs.model import RULES, ValidationSettings
from listings_pipeline.transform.compiled import compiled
from listings_pipeline.transform.fields import COLLECTIONS, DAY_NAMES, column_of, target_of
from listings_pipeline.transform.issues import Issue
from listings_pipeline.transform.normalize import STATUSES, is_email, is_web_url

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_LOCAL_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,}(?:\s*(?:ext\.?|x)\s*\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LAST_OVERNIGHT_CLOSE = "06:00"
_NUMERIC = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_INTEGER = re.compile(r"^[+-]?\d+$")

# Rules whose failures lower accuracy; the others (cross-field) lower consistency.
_TYPE_RULES = frozenset(
    ("lat_lng", "email", "phone", "url", "date", "time", "country", "status", "boolean",
     "data_type", "pattern")
)  # fmt: skip
# Completeness already scores empty fields; the score rule is about the score itself;
# geocoding warnings are about the provider, not the data.
_UNSCORED = frozenset(("required", "quality_score", "geocode"))


@dataclass(slots=True)
class ValidationResult:
    errors: list[Issue]
    warnings: list[Issue]
    quality_score: Decimal | None  # 0-100, two decimals (stage quality_score NUMERIC(5,2))

    @property
    def ok(self) -> bool:
        """No errors: the row may be promoted."""
        return not self.errors


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | Decimal) or bool(_NUMERIC.match(str(value)))


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or bool(_INTEGER.match(str(value)))


def _is_date(value: Any) -> bool:
    if isinstance(value, date):
        return True
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_phone(value: Any) -> bool:
    text = str(value)
    return bool(_E164.match(text) or _LOCAL_PHONE.match(text))


_DATA_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "numeric": (_is_number, "not a number"),
    "integer": (_is_integer, "not a whole number"),
    "email": (lambda v: is_email(str(v)), "not an email address"),
    "phone": (_is_phone, "not a phone number"),
    "url": (lambda v: is_web_url(str(v)), "not a web address (http/https)"),
    "date": (_is_date, "not a date (YYYY-MM-DD)"),
    "time": (lambda v: bool(_HHMM.match(str(v))), "not a time of day (HH:MM)"),
    "boolean": (lambda v: isinstance(v, bool), "not true/false"),
}


@dataclass(frozen=True)
class _Plan:
    severity: dict[str, str]
    required: tuple[tuple[str, str], ...]  # (target, column)
    data_types: tuple[tuple[str, str, Callable[[Any], bool], str], ...]
    patterns: tuple[tuple[str, str, re.Pattern[str]], ...]
    lat_bounds: tuple[float, float]
    lng_bounds: tuple[float, float]
    geo_bounds: tuple[float, float, float, float] | None
    allowed: frozenset[str] | None
    forbidden: frozenset[str]
    scoring: bool
    completeness: tuple[tuple[str, float], ...]  # (column, weight)
    weights: tuple[float, float, float]  # completeness, accuracy, consistency
    min_score: float | None
    on: frozenset[str]  # rules not switched off


def _plan(settings: ValidationSettings) -> _Plan:
    severity = {rule: settings.severity(rule) for rule in RULES}
    rules = settings.business_rules
    scoring = settings.quality_scoring
    bounds = rules.dmo_geographic_bounds
    weights = scoring.weights
    return _Plan(
        severity=severity,
        required=tuple((t, column_of(t)) for t in settings.required_fields),
        data_types=tuple(
            (t, column_of(t), *_DATA_TYPES[kind]) for t, kind in settings.data_types.items()
        ),
        patterns=tuple((t, column_of(t), re.compile(p)) for t, p in rules.patterns.items()),
        lat_bounds=rules.lat_bounds,
        lng_bounds=rules.lng_bounds,
        geo_bounds=None
        if bounds is None
        else (bounds.min_lat, bounds.max_lat, bounds.min_lng, bounds.max_lng),
        allowed=None
        if rules.allowed_categories is None
        else frozenset(c.strip().lower() for c in rules.allowed_categories),
        forbidden=frozenset(c.strip().lower() for c in rules.forbidden_categories),
        scoring=scoring.enabled,
        completeness=tuple((column_of(t), w) for t, w in scoring.completeness_fields.items()),
        weights=(weights.completeness, weights.accuracy, weights.consistency),
        min_score=scoring.min_score,
        on=frozenset(rule for rule, level in severity.items() if level != "off"),
    )


class _Checker:
    """Collects issues and the counts behind the accuracy and consistency scores."""

    __slots__ = (
        "plan",
        "errors",
        "warnings",
        "checked",
        "failed",
        "cross",
        "cross_failed",
        "reported",
    )

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.checked = 0  # type checks made
        self.failed = 0
        self.cross = 0  # cross-field checks made
        self.cross_failed = 0
        self.reported: set[str] = set()  # fields normalize_row already reported

    def count(self, rule: str, failed: bool) -> None:
        if rule in _TYPE_RULES:
            self.checked += 1
            self.failed += failed
        elif rule not in _UNSCORED:
            self.cross += 1
            self.cross_failed += failed

    def check(self, rule: str, ok: bool, target: str, value: Any, message: str) -> None:
        if rule not in self.plan.on or target in self.reported:
            return
        self.count(rule, not ok)
        if not ok:
            self.report(Issue(target, value, message, "error", rule))

    def report(self, issue: Issue) -> None:
        """Keep an issue at the severity the config gives its rule (warnings stay warnings)."""
        if issue.rule in RULES and issue.rule not in self.plan.on:
            return
        level = issue.severity
        if level == "error":
            level = self.plan.severity.get(issue.rule, "error")
        if level == "error":
            self.errors.append(issue if issue.severity == "error" else _as(issue, "error"))
        else:
            self.warnings.append(issue if issue.severity == "warning" else _as(issue, "warning"))


def _as(issue: Issue, severity: str) -> Issue:
    return Issue(issue.field, issue.value, issue.message, severity, issue.rule)  # type: ignore[arg-type]


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def validate_row(
    row: dict[str, Any], settings: ValidationSettings, prior: Sequence[Issue] = ()
) -> ValidationResult:
    """Validate a normalised row. `prior` takes the issues normalize_row found, so that their
    severities follow the config too and they count in the quality score."""
    plan = compiled(settings, _plan)
    c = _Checker(plan)
    for issue in prior:
        if issue.rule not in RULES or issue.rule in plan.on:
            c.count(issue.rule, True)
        c.report(issue)
    # A value normalize_row could not read is empty now: say so once, not again as missing
    # (except a required field: that stays an error whatever the reading rule's severity).
    c.reported.update(issue.field for issue in prior if issue.severity == "error")

    for target, column in plan.required:
        if not _present(row.get(column)) and "required" in plan.on:
            unread = target in c.reported
            c.count("required", True)
            c.report(
                Issue(
                    target,
                    None,
                    "required, and its value could not be read" if unread else "required but empty",
                    "error",
                    "required",
                )
            )

    _coordinates(row, c)
    email = row.get("ci_email")
    if email is not None:
        c.check(
            "email",
            is_email(str(email)),
            "contact_info.email",
            email,
            "not an email address",
        )
    phone = row.get("ci_international_phone")
    if phone is not None:
        c.check(
            "phone",
            bool(_E164.match(str(phone))),
            "contact_info.international_phone",
            phone,
            "not an international phone number (+ and 7-15 digits)",
        )
    phone = row.get("ci_local_phone")
    if phone is not None:
        c.check(
            "phone",
            bool(_LOCAL_PHONE.match(str(phone))),
            "contact_info.local_phone",
            phone,
            "not a phone number",
        )
    url = row.get("ci_website_url")
    if url is not None:
        c.check(
            "url",
            is_web_url(str(url)),
            "contact_info.website_url",
            url,
            "not a web address (http/https)",
        )
    socials = row.get("ci_socials")
    if socials:
        for network, link in socials.items():
            if isinstance(link, str) and link.startswith(("http:", "https:")):
                c.check(
                    "url",
                    is_web_url(str(link)),
                    f"contact_info.socials.{network}",
                    link,
                    "not a web address",
                )
    for number, image in enumerate(row.get("images") or (), start=1):
        if not str(image).startswith("/") or str(image).startswith("//"):
            c.check(
                "url",
                is_web_url(str(image)),
                f"listing_images.image_{number}",
                image,
                "not a web address (http/https)",
            )
    country = row.get("loc_country")
    if country is not None:
        c.check(
            "country",
            bool(_COUNTRY.match(str(country))),
            "locations.country",
            country,
            "not an ISO 3166-1 alpha-2 country code",
        )
    for column in ("listing_status", "info_status"):
        status = row.get(column)
        if status is not None:
            c.check(
                "status",
                status in STATUSES,
                target_of(column),
                status,
                f"not a status ({', '.join(STATUSES)})",
            )
    for column in ("listing_visible", "info_visible"):
        flag = row.get(column)
        if flag is not None:
            c.check("boolean", isinstance(flag, bool), target_of(column), flag, "not true/false")
    _dates(row, c)
    _hours(row, c)
    _attributes(row, c)
    for target, column, is_type, message in plan.data_types:
        value = row.get(column)
        if _present(value):
            c.check("data_type", is_type(value), target, value, message)
    for target, column, pattern in plan.patterns:
        value = row.get(column)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and item:
                c.check(
                    "pattern",
                    pattern.search(item) is not None,
                    target,
                    item,
                    f"does not match {pattern.pattern!r}",
                )

    score = _score(row, c) if plan.scoring else None
    if score is not None and plan.min_score is not None:
        c.check(
            "quality_score",
            float(score) >= plan.min_score,
            "quality_score",
            score,
            f"quality score below {plan.min_score:g}",
        )
    return ValidationResult(c.errors, c.warnings, score)


def _coordinates(row: dict[str, Any], c: _Checker) -> None:
    lat, lng = row.get("loc_lat"), row.get("loc_lng")
    values: dict[str, float | None] = {}
    for axis, value, (low, high) in (
        ("lat", lat, c.plan.lat_bounds),
        ("lng", lng, c.plan.lng_bounds),
    ):
        if value is None:
            values[axis] = None
            continue
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError, InvalidOperation):
            number = None
        ok = number is not None and low <= number <= high
        c.check("lat_lng", ok, f"locations.{axis}", value, f"not a number within {low:g}..{high:g}")
        values[axis] = number if ok else None
    if (lat is None) != (lng is None):
        c.check(
            "lat_lng_pair",
            False,
            "locations.lat" if lat is None else "locations.lng",
            None,
            "missing while the other coordinate is set",
        )
    la, ln = values.get("lat"), values.get("lng")
    if la is None or ln is None:
        return
    c.check(
        "lat_lng_zero",
        not (la == 0 and ln == 0),
        "locations.lat",
        "0,0",
        "lat/lng 0,0 is almost always a placeholder",
    )
    bounds = c.plan.geo_bounds
    if bounds is not None:
        min_lat, max_lat, min_lng, max_lng = bounds
        c.check(
            "dmo_geographic_bounds",
            min_lat <= la <= max_lat and min_lng <= ln <= max_lng,
            "locations.lat",
            f"{la:g},{ln:g}",
            f"outside the DMO's area (lat {min_lat:g}..{max_lat:g}, lng {min_lng:g}..{max_lng:g})",
        )


def _dates(row: dict[str, Any], c: _Checker) -> None:
    for number, entry in enumerate(row.get("dates") or (), start=1):
        start, end = entry.get("start_date"), entry.get("end_date")
        for key, value in (("start_date", start), ("end_date", end)):
            if value is not None:
                c.check(
                    "date",
                    _is_date(value),
                    f"opening_dates.{key}_{number}",
                    value,
                    "not a date (YYYY-MM-DD)",
                )
        if start is not None and end is not None and _is_date(start) and _is_date(end):
            c.check(
                "date_range",
                str(end) >= str(start),
                f"opening_dates.end_date_{number}",
                end,
                f"before the start date {start}",
            )


def _hours(row: dict[str, Any], c: _Checker) -> None:
    for entry in row.get("hours") or ():
        day_id = entry.get("day_id")
        valid_day = isinstance(day_id, int) and not isinstance(day_id, bool) and 1 <= day_id <= 7
        day = DAY_NAMES[day_id - 1] if valid_day else "day"
        c.check("time", valid_day, f"opening_hours.{day}", day_id, "day_id must be 1 (Mon)-7 (Sun)")
        opens, closes = entry.get("open_time"), entry.get("close_time")
        for part, value in (("open", opens), ("close", closes)):
            if value is not None:
                c.check(
                    "time",
                    bool(_HHMM.match(str(value))),
                    f"opening_hours.{day}_{part}",
                    value,
                    "not a time of day (HH:MM)",
                )
        if (
            opens is not None
            and closes is not None
            and _HHMM.match(str(opens))
            and _HHMM.match(str(closes))
        ):
            # A close in the small hours is past midnight (18:00-02:00): a bar, not an error.
            c.check(
                "hours_order",
                str(closes) >= str(opens) or str(closes) <= _LAST_OVERNIGHT_CLOSE,
                f"opening_hours.{day}_close",
                closes,
                f"closes before it opens at {opens}",
            )


def _attributes(row: dict[str, Any], c: _Checker) -> None:
    attributes = row.get("attributes")
    if not attributes:
        return
    allowed, forbidden = c.plan.allowed, c.plan.forbidden
    table = COLLECTIONS["attributes"]
    for number, attribute in enumerate(attributes, start=1):
        key = str(attribute).strip().lower()
        if allowed is not None:
            c.check(
                "allowed_categories",
                key in allowed,
                f"{table}.attribute_{number}",
                attribute,
                "not an allowed category",
            )
        if forbidden:
            c.check(
                "forbidden_categories",
                key not in forbidden,
                f"{table}.attribute_{number}",
                attribute,
                "a forbidden category",
            )


_HUNDREDTH = Decimal("0.01")


def _score(row: dict[str, Any], c: _Checker) -> Decimal:
    plan = c.plan
    total = sum(weight for _, weight in plan.completeness)
    filled = sum(weight for column, weight in plan.completeness if _present(row.get(column)))
    completeness = filled / total if total else 1.0
    accuracy = 1 - c.failed / c.checked if c.checked else 1.0
    consistency = 1 - c.cross_failed / c.cross if c.cross else 1.0
    wc, wa, wk = plan.weights
    weight = wc + wa + wk
    score = 100 * (wc * completeness + wa * accuracy + wk * consistency) / weight if weight else 0
    return Decimal(repr(max(0.0, min(100.0, score)))).quantize(_HUNDREDTH, ROUND_HALF_UP)
