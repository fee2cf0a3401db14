"""Normalise a mapped row in place, after mapping and before hashing (seed 000, 3a).

Always: strings trimmed (NUL characters removed: PostgreSQL refuses them), empty values
become None, and typed fields take one canonical form so that equal data hashes equally:

* phones: E.164 in ci_international_phone, the national form in ci_local_phone
  (region from loc_country, else transform.default_country);
* emails lower-case; URLs canonical (scheme, lower-case host, no default port, no trailing
  slash except the root); countries ISO 3166-1 alpha-2; known state names their ISO code;
* lat/lng as Decimal rounded to transform.round_lat_lng digits (the unrounded value is kept
  in loc_lat_original / loc_lng_original);
* dates YYYY-MM-DD, times HH:MM, booleans from words, statuses from the vocabulary below.

Targets in transform.normalize_fields also get whitespace collapsed and special characters
cleaned (invisible characters, HTML entities, typographic quotes and dashes, ™ ® ©);
transform.letter_case upper-/lower-/title-cases targets.

A value that cannot be read is left empty and reported as an `Issue` naming the mapping
target (never an exception): the row then cannot be promoted unless the config lowers that
rule's severity.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import phonenumbers

from listings_pipeline.configs.model import TransformSettings
from listings_pipeline.transform.compiled import compiled
from listings_pipeline.transform.countries import country_code, state_code
from listings_pipeline.transform.fields import DAY_NAMES, column_of, target_of
from listings_pipeline.transform.issues import Issue

Row = dict[str, Any]

# Plain text columns: trimmed always; cleaned further when listed in normalize_fields.
TEXT_COLUMNS = (
    "listing_name",
    "listing_google_place_id",
    "listing_info_description",
    "ci_name",
    "loc_address1",
    "loc_address2",
    "loc_region",
    "loc_city",
    "loc_state",
    "loc_zip",
    "source_url",
    "source_identifier",
)
STATUSES = ("active", "inactive", "missing_from_import")
_STATUS_WORDS = {
    **dict.fromkeys(
        ("active", "enabled", "published", "publish", "open", "live", "current", "approved"),
        "active",
    ),
    **dict.fromkeys(
        ("inactive", "disabled", "unpublished", "draft", "closed", "hidden", "archived",
         "suspended", "pending", "private"),
        "inactive",
    ),
    **dict.fromkeys(("missing_from_import", "missing", "removed"), "missing_from_import"),
}  # fmt: skip
_TRUE = frozenset(("true", "t", "yes", "y", "1", "on", "visible", "shown", "published"))
_FALSE = frozenset(("false", "f", "no", "n", "0", "off", "hidden", "invisible", "unpublished"))

_NUL = "\x00"
_SPACES = re.compile(r"\s+")
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...",
        "\u2122": None, "\u00ae": None, "\u00a9": None,
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

_COORD = re.compile(r"^([+-]?)\s*(\d{1,3}(?:[.,]\d+)?)\s*°?\s*([NSEW]?)$", re.I)
_DMS = re.compile(
    r"^(\d{1,3})\s*[°\s]\s*(\d{1,2})\s*['′\s]\s*(?:(\d{1,2}(?:[.,]\d+)?)\s*[\"″]?)?\s*([NSEW])$",
    re.I,
)

_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][0-9:.+\-Z]*)?$")
_NUM_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-]+([a-z]+)\.?,?[\s\-]+(\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")),
        start=1,
    )
    for name in names
}  # fmt: skip

_TIME = re.compile(r"^(\d{1,2})(?:[:h.](\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*(?:m\.?)?$")
_TIME_COMPACT = re.compile(r"^(\d{1,2})(\d{2})$")
_CLOSED = frozenset(("closed", "close", "none", "n/a", "-"))

_format = phonenumbers.format_number
_E164 = phonenumbers.PhoneNumberFormat.E164
_NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
_PHONE_EXTENSION = re.compile(r"(?:ext\.?|extension|x|#)\s*\d+\s*$", re.I)
_LETTER = re.compile(r"[A-Za-z]")
_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A URL canonical_url would return unchanged: lower-case http(s) scheme and host name, no user
# or query, a port other than the default, a path of characters quote() keeps, "/" alone or
# not ending in "/".
_CANONICAL_URL = re.compile(
    r"(https?)://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::([1-9][0-9]{0,4}))?"
    r"(?:/|(?:/[A-Za-z0-9._~!$&'()*+,;=:@-]*)*/[A-Za-z0-9._~!$&'()*+,;=:@-]+)"
)
_CA_POSTCODE = re.compile(r"^([A-Z]\d[A-Z])\s*(\d[A-Z]\d)$")


# --- single values -------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Special-character cleanup for normalize_fields: entities, invisible characters,
    typographic quotes/dashes, trademark signs, Unicode NFC, collapsed whitespace."""
    if "&" in value:
        value = html.unescape(value)
    value = _INVISIBLE.sub("", unicodedata.normalize("NFC", value)).translate(_TYPOGRAPHY)
    return _SPACES.sub(" ", value).strip()


def title_case(value: str) -> str:
    """Capitalise words written all in one case; leave mixed case (McDonald's) alone."""

    def word(match: re.Match[str]) -> str:
        text = match.group(0)
        if text.islower() or text.isupper():
            return text[0].upper() + text[1:].lower()
        return text

    return _WORD.sub(word, value)


def parse_coordinate(value: Any, axis: str) -> Decimal | None:
    """A latitude ('lat') or longitude ('lng') as Decimal: 44.65, '44,65', '63.57 W',
    '44°39'N'. None if it cannot be read (range is checked by the caller)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest repr, not the binary expansion
    else:
        text = str(value).strip()
        match = _COORD.match(text)
        if match:
            sign, digits, hemisphere = match.groups()
            number = Decimal(digits.replace(",", "."))
            if sign == "-":
                number = -number
        else:
            match = _DMS.match(text)
            if not match:
                return None
            degrees, minutes, seconds, hemisphere = match.groups()
            number = (
                Decimal(degrees)
                + Decimal(minutes) / 60
                + Decimal((seconds or "0").replace(",", ".")) / 3600
            )
        if hemisphere:
            hemisphere = hemisphere.upper()
            if hemisphere not in ("NS" if axis == "lat" else "EW"):
                return None
            if hemisphere in "SW":
                number = -abs(number)
    return number if number.is_finite() else None


@lru_cache(maxsize=4096)
def parse_date(value: Any, month_first: bool = True) -> date | str:
    """A date, or a message saying why the value is not one. Numeric dates are read
    day-first when the first part is above 12, else by `month_first`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().lower()
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    elif match := _NUM_DATE.match(text):
        first, second, year = (int(part) for part in match.groups())
        if len(match.group(3)) == 2:
            year += 2000 if year < 70 else 1900
        if first > 12 or (not month_first and second <= 12):
            day, month = first, second
        else:
            month, day = first, second
    elif match := _DAY_MONTH_YEAR.match(text):
        day, month, year = int(match.group(1)), _MONTHS.get(match.group(2), 0), int(match.group(3))
    elif match := _MONTH_DAY_YEAR.match(text):
        month, day, year = _MONTHS.get(match.group(1), 0), int(match.group(2)), int(match.group(3))
    else:
        return "not a date (expected YYYY-MM-DD)"
    if not month:
        return "not a date: unknown month name"
    try:
        return date(year, month, day)
    except ValueError:
        return f"impossible date: there is no day {day} in month {month} of {year}"


@lru_cache(maxsize=4096)
def parse_time(value: Any) -> str | None:
    """HH:MM (24-hour; 24:00 allowed as a closing time), or None if not a time of day."""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    text = str(value).strip().lower()
    if text == "noon":
        return "12:00"
    if text == "midnight":
        return "00:00"
    match = _TIME.match(text)
    if match:
        hour, minute, second, half = match.groups()
    elif match := _TIME_COMPACT.match(text):
        (hour, minute), second, half = match.groups(), None, None
    else:
        return None
    h, m = int(hour), int(minute or 0)
    if half:
        if not 1 <= h <= 12:
            return None
        h = (h % 12) + (12 if half == "p" else 0)
    if m > 59 or (second is not None and int(second) > 59):
        return None
    if h > 23 and not (h == 24 and m == 0):
        return None
    return f"{h:02d}:{m:02d}"


def canonical_url(value: str, default_scheme: str = "https") -> str | None:
    """Scheme and host lower-cased, default port and trailing slash removed (the root path
    stays "/"), a scheme added when missing. None if there is no usable host."""
    text = value.strip()
    if fast := _CANONICAL_URL.fullmatch(text):
        port = None if fast[2] is None else int(fast[2])
        if port is None or (port <= 65535 and port != _DEFAULT_PORTS[fast[1]]):
            return text  # the common case, without taking it apart
    if not _SCHEME.match(text):
        text = f"{default_scheme}:{text}" if text.startswith("//") else f"{default_scheme}://{text}"
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host or " " in host:
        return None
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    if parts.username:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{userinfo}@{netloc}"
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~") or "/"
    if path != "/":
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


def _text(value: Any) -> str | None:
    """Trimmed text without NUL characters, None when empty. Numbers become text."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets give 9025550101.0 for a phone, 2134.0 for a zip
    text = value if isinstance(value, str) else str(value)
    if _NUL in text:
        text = text.replace(_NUL, "")
    text = text.strip()
    return text or None


def _listed(value: Any) -> list[Any]:
    """A collection as a list: a lone value is a list of one."""
    return value if isinstance(value, list | tuple) else [value]


# --- the row -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    cleanup: frozenset[str]  # stage columns whose text gets clean_text()
    case: dict[str, Callable[[str], str]]  # stage column -> str.lower / str.upper / title_case
    quantum: Decimal
    default_country: str | None
    month_first: bool
    scheme: str


_CASE = {"lower": str.lower, "upper": str.upper, "title": title_case}


def _plan(settings: TransformSettings) -> _Plan:
    return _Plan(
        cleanup=frozenset(column_of(target) for target in settings.normalize_fields),
        case={column_of(t): _CASE[how] for t, how in settings.letter_case.items()},
        quantum=Decimal(1).scaleb(-settings.round_lat_lng),
        default_country=settings.default_country,
        month_first=settings.date_order == "mdy",
        scheme=settings.url_default_scheme,
    )


def normalize_row(row: Row, settings: TransformSettings) -> list[Issue]:
    """Normalise `row` (a mapped row keyed by stage column) in place; return its issues."""
    plan = compiled(settings, _plan)
    issues: list[Issue] = []
    for column in TEXT_COLUMNS:
        value = row.get(column)
        if value is None:
            continue
        text = _text(value)
        if text is not None and column in plan.cleanup:
            text = clean_text(text) or None
        if text is not None and column in plan.case:
            text = plan.case[column](text)
        row[column] = text

    country = _country(row, issues)
    if row.get("loc_state"):
        row["loc_state"] = state_code(country, row["loc_state"])
    if row.get("loc_zip"):
        zip_code = _SPACES.sub(" ", row["loc_zip"].upper())
        if country == "CA":
            zip_code = _CA_POSTCODE.sub(r"\1 \2", zip_code)
        row["loc_zip"] = zip_code
    for axis, column in (("lat", "loc_lat"), ("lng", "loc_lng")):
        _coordinate(row, axis, column, plan.quantum, issues)
    _phones(row, country or plan.default_country, issues)
    _email(row, issues)
    _urls(row, plan, issues)
    for column in ("listing_status", "info_status"):
        _status(row, column, issues)
    for column in ("listing_visible", "info_visible"):
        _boolean(row, column, issues)
    _images(row, plan, issues)
    _attributes(row, plan)
    _dates(row, plan.month_first, issues)
    _hours(row, issues)
    return issues


def _country(row: Row, issues: list[Issue]) -> str | None:
    raw = row.get("loc_country")
    text = _text(raw)
    if text is None:
        row["loc_country"] = None
        return None
    code = country_code(text)
    if code is None:
        issues.append(
            Issue(
                "locations.country",
                raw,
                "unknown country (expected ISO 3166-1 code or name)",
                rule="country",
            )
        )
    row["loc_country"] = code
    return code


def _coordinate(row: Row, axis: str, column: str, quantum: Decimal, issues: list[Issue]) -> None:
    raw = row.get(column)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        row[column] = None
        return
    target = f"locations.{axis}"
    try:
        number = parse_coordinate(raw, axis)
    except InvalidOperation:
        number = None
    if number is None:
        issues.append(
            Issue(
                target, raw, f"not a {'latitude' if axis == 'lat' else 'longitude'}", rule="lat_lng"
            )
        )
        row[column] = None
        return
    row[f"{column}_original"] = number
    limit = 90 if axis == "lat" else 180
    if not -limit <= number <= limit:
        issues.append(Issue(target, raw, f"outside -{limit}..{limit}", rule="lat_lng"))
        row[column] = None
        return
    row[column] = number.quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # +19025550101
    national: str  # (902) 555-0101, with the extension if any
    valid: bool  # a number in use in its country's plan, not only the right length


@lru_cache(maxsize=8192)
def parse_phone(text: str, region: str | None) -> Phone | str:
    """A phone number read in `region` (ISO alpha-2), or a message saying why it is not one."""
    if text.lower().startswith("tel:"):
        text = text[4:].strip()
    if _LETTER.search(_PHONE_EXTENSION.sub("", text)):
        return "not a phone number (has letters)"
    if region is None and not text.startswith("+"):
        return (
            "cannot tell the country of this phone number: map locations.country"
            " or set transform.default_country"
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "not a phone number"
    if not phonenumbers.is_possible_number(number):
        return "not a phone number (wrong number of digits)"
    # Checking the expected region first is 4x faster than is_valid_number alone, which
    # tries every region sharing the country code (25 for +1).
    valid = (
        region is not None and phonenumbers.is_valid_number_for_region(number, region)
    ) or phonenumbers.is_valid_number(number)
    return Phone(_format(number, _E164), _format(number, _NATIONAL), valid)


def _phone(raw: Any, target: str, region: str | None, issues: list[Issue]) -> Phone | None:
    text = _text(raw)
    if text is None:
        return None
    phone = parse_phone(text, region)
    if isinstance(phone, str):
        issues.append(Issue(target, raw, phone, rule="phone"))
        return None
    if not phone.valid:
        issues.append(Issue(target, raw, "not a valid number for its country", "warning", "phone"))
    return phone


def _phones(row: Row, region: str | None, issues: list[Issue]) -> None:
    local = _phone(row.get("ci_local_phone"), "contact_info.local_phone", region, issues)
    intl = _phone(
        row.get("ci_international_phone"), "contact_info.international_phone", region, issues
    )
    first = intl or local
    national = local or intl
    row["ci_international_phone"] = None if first is None else first.e164
    row["ci_local_phone"] = None if national is None else national.national


def _email(row: Row, issues: list[Issue]) -> None:
    raw = row.get("ci_email")
    text = _text(raw)
    if text is not None:
        text = text.lower()
        if text.startswith("mailto:"):
            text = text[7:]
        text = text.strip("<> ")
        several = [part for part in _EMAIL_SEPARATORS.split(text) if part]
        if len(several) > 1:
            issues.append(
                Issue(
                    "contact_info.email", raw, "several emails; kept the first", "warning", "email"
                )
            )
        text = several[0] if several else None
    row["ci_email"] = text


def _url(raw: Any, target: str, scheme: str, issues: list[Issue]) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    url = canonical_url(text, scheme)
    if url is None:
        issues.append(Issue(target, raw, "not a URL", rule="url"))
    return url


def _urls(row: Row, plan: _Plan, issues: list[Issue]) -> None:
    row["ci_website_url"] = _url(
        row.get("ci_website_url"), "contact_info.website_url", plan.scheme, issues
    )
    socials = row.get("ci_socials")
    if not socials:
        row["ci_socials"] = None
        return
    if not isinstance(socials, dict):
        issues.append(
            Issue("contact_info.socials", socials, "expected network: link pairs", rule="url")
        )
        row["ci_socials"] = None
        return
    cleaned: dict[str, str] = {}
    for network, value in socials.items():
        name = _text(network)
        text = _text(value)
        if not name or text is None:
            continue
        # A handle (@harbourview) stays a handle; anything with a dot is a link.
        if "." in text and not text.startswith("@"):
            text = _url(text, f"contact_info.socials.{name.lower()}", plan.scheme, issues)
        if text is not None:
            cleaned[name.lower()] = text
    row["ci_socials"] = cleaned or None


def _status(row: Row, column: str, issues: list[Issue]) -> None:
    raw = row.get(column)
    if isinstance(raw, bool):
        row[column] = "active" if raw else "inactive"
        return
    text = _text(raw)
    if text is None:
        row[column] = None
        return
    status = _STATUS_WORDS.get(_SPACES.sub("_", text.lower().replace("-", " ")))
    if status is None:
        issues.append(
            Issue(
                target_of(column),
                raw,
                f"unknown status (expected {', '.join(STATUSES)};"
                " map other values with transform.value_maps)",
                rule="status",
            )
        )
    row[column] = status


def _boolean(row: Row, column: str, issues: list[Issue]) -> None:
    raw = row.get(column)
    if raw is None or isinstance(raw, bool):
        return
    if isinstance(raw, int | float) and raw in (0, 1):
        row[column] = bool(raw)
        return
    text = _text(raw)
    if text is None:
        row[column] = None
        return
    word = text.lower()
    if word in _TRUE:
        row[column] = True
    elif word in _FALSE:
        row[column] = False
    else:
        issues.append(Issue(target_of(column), raw, "not true/false (yes/no, 1/0)", rule="boolean"))
        row[column] = None


def _images(row: Row, plan: _Plan, issues: list[Issue]) -> None:
    images = row.get("images")
    if not images:
        row["images"] = []
        return
    seen: set[str] = set()
    kept: list[str] = []
    for number, raw in enumerate(_listed(images), start=1):
        text = _text(raw)
        if text is None:
            continue
        # A path relative to the source site stays as given; anything else is a link.
        if not text.startswith("/") or text.startswith("//"):
            text = _url(text, f"listing_images.image_{number}", plan.scheme, issues)
        if text is not None and text not in seen:
            seen.add(text)
            kept.append(text)
    row["images"] = kept


def _attributes(row: Row, plan: _Plan) -> None:
    attributes = row.get("attributes")
    if not attributes:
        row["attributes"] = []
        return
    case = plan.case.get("attributes")
    cleanup = "attributes" in plan.cleanup
    seen: set[str] = set()
    kept: list[str] = []
    for raw in _listed(attributes):
        text = _text(raw)
        if text is None:
            continue
        text = clean_text(text) if cleanup else _SPACES.sub(" ", text)
        if case is not None:
            text = case(text)
        key = text.lower()  # the attributes hash is case-insensitive: so is de-duplication
        if text and key not in seen:
            seen.add(key)
            kept.append(text)
    row["attributes"] = kept


def _dates(row: Row, month_first: bool, issues: list[Issue]) -> None:
    ranges = row.get("dates")
    if not ranges:
        row["dates"] = []
        return
    kept: list[dict[str, str | None]] = []
    for number, entry in enumerate(_listed(ranges), start=1):
        if not isinstance(entry, dict):
            issues.append(
                Issue(
                    f"opening_dates.start_date_{number}",
                    entry,
                    "expected a start_date/end_date pair",
                    rule="date",
                )
            )
            continue
        parsed: dict[str, str | None] = {}
        for key in ("start_date", "end_date"):
            raw = entry.get(key)
            if _text(raw) is None:
                parsed[key] = None
                continue
            result = parse_date(raw if isinstance(raw, date) else _text(raw), month_first)
            if isinstance(result, str):
                issues.append(Issue(f"opening_dates.{key}_{number}", raw, result, rule="date"))
                parsed[key] = None
            else:
                parsed[key] = result.isoformat()
        if parsed["start_date"] or parsed["end_date"]:
            kept.append(parsed)
    row["dates"] = kept


def _hours(row: Row, issues: list[Issue]) -> None:
    hours = row.get("hours")
    if not hours:
        row["hours"] = []
        return
    kept: list[dict[str, Any]] = []
    for entry in _listed(hours):
        if not isinstance(entry, dict):
            issues.append(
                Issue(
                    "opening_hours.day", entry, "expected day_id/open_time/close_time", rule="time"
                )
            )
            continue
        day_id = entry.get("day_id")
        day = DAY_NAMES[day_id - 1] if isinstance(day_id, int) and 1 <= day_id <= 7 else "day"
        values = {key: _text(entry.get(key)) for key in ("open_time", "close_time")}
        if all(v is None or v.lower() in _CLOSED for v in values.values()):
            continue  # closed that day: no opening hours row
        parsed: dict[str, Any] = {"day_id": day_id}
        for key, text in values.items():
            part = "open" if key == "open_time" else "close"
            if text is None or text.lower() in _CLOSED:
                parsed[key] = None
                continue
            result = parse_time(text)
            if result is None:
                issues.append(
                    Issue(
                        f"opening_hours.{day}_{part}",
                        entry.get(key),
                        "not a time of day (expected HH:MM)",
                        rule="time",
                    )
                )
            parsed[key] = result
        kept.append(parsed)
    row["hours"] = kept
