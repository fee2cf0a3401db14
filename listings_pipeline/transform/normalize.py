"""Normalise a mapped row in place, after mapping and before hashing (seed 000, 3a).

Always: strings trimmed (NUL characters removed: PostgreSQL refuses them), empty values
become None, and typed fields take one canonical form so that equal data hashes equally:

* phones: E.164 in ci_international_phone, the national form in ci_local_phone; a number
  not in international form is read in the row's country, else transform.default_country,
  else the country of the DMO's geographic bounds, else the country at the row's coordinates;
* emails lower-case; URLs canonical (scheme, lower-case host, no default port, no trailing
  slash except the root); countries ISO 3166-1 alpha-2; known state names their ISO code;
* lat/lng as Decimal rounded to transform.round_lat_lng digits (the unrounded value is kept
  in loc_lat_original / loc_lng_original);
* dates YYYY-MM-DD (ISO, 2025-3-4, 03/04/2025 by transform.date_order, 4 March 2025,
  March 4, 2025, 4-Mar-2025, 20250304, Excel serial numbers); opening hours as day/open/close
  entries, several a day, read from the forms in transform/clock.py; booleans from words,
  statuses from the vocabulary below.

Targets in transform.normalize_fields also get whitespace collapsed and special characters
cleaned (invisible characters, HTML entities, typographic quotes and dashes, ™ ® ©);
transform.letter_case upper-/lower-/title-cases targets.

A value that cannot be read is left empty, kept as the source gave it in
row["unparsed_values"] (target -> value, the stage's unparsed_values column, for reviewers),
and reported as an `Issue` naming the mapping target (never an exception); its rule's
severity (configs.model.RULES: a warning unless the config raises it) decides whether the
row may be promoted. A nested object or list where a single value is expected is such a
value (rule `nested`), never turned into text.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import phonenumbers

from listings_pipeline.configs.model import TransformSettings, ValidationSettings
from listings_pipeline.transform.clock import CLOSED, parse_hours, parse_time, parse_week
from listings_pipeline.transform.compiled import compiled
from listings_pipeline.transform.countries import country_code, state_code
from listings_pipeline.transform.country_areas import country_at, country_of_area
from listings_pipeline.transform.fields import DAY_NAMES, TARGET_OF_COLUMN, column_of, target_of
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

_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[t ][0-9:.+\-z]*)?$")  # lower-cased
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUM_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})$")
_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+")
_DAY_MONTH_YEAR = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-/]+(?:of\s+)?([a-z]+)\.?,?[\s\-/]+(\d{4}|\d{2})$"
)
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?[\s\-]+(\d{1,2})(?:st|nd|rd|th)?,?[\s\-]+(\d{4})$")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)
_EXCEL_SERIALS = (20000, 80000)  # 1954-10-03 .. 2119-01-10: anything else is not a date
_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")
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


_format = phonenumbers.format_number
_E164 = phonenumbers.PhoneNumberFormat.E164
_NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL
_PHONE_EXTENSION = re.compile(r"(?:ext\.?|extension|x|#)\s*\d+\s*$", re.I)
_LETTER = re.compile(r"[A-Za-z]")
_PHONE_LIST = re.compile(r"\s*(?:[;,|]|\s/\s|\bor\b)\s*")
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
# What validation accepts as an email address or a web address: a value normalising leaves
# in place must pass these, or it is dropped (and kept in unparsed_values) here.
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"
)
WEB_URL = re.compile(
    r"^https?://(?:[^\s/@]+@)?"
    r"(?:(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{1,62}|localhost|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?::\d{1,5})?(?:[/?#]\S*)?$"
)


@lru_cache(maxsize=8192)
def is_email(text: str) -> bool:
    """EMAIL's verdict, cached: validation asks again about the value normalising just kept."""
    return EMAIL.match(text) is not None


@lru_cache(maxsize=8192)
def is_web_url(text: str) -> bool:
    """WEB_URL's verdict, cached like is_email."""
    return WEB_URL.match(text) is not None


# Columns that take one value; a nested object there is an issue, not text.
_SCALAR_COLUMNS = tuple(c for c in TARGET_OF_COLUMN if c != "ci_socials")
_CONTAINERS = frozenset((dict, list, tuple))


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


def _excel_date(serial: float) -> date | None:
    if _EXCEL_SERIALS[0] <= serial <= _EXCEL_SERIALS[1] and float(serial).is_integer():
        return _EXCEL_EPOCH + timedelta(days=int(serial))
    return None


@lru_cache(maxsize=4096)
def parse_date(value: Any, month_first: bool = True) -> date | str:
    """A date, or a message saying why the value is not one. Numeric dates are read
    day-first when the first part is above 12, else by `month_first`; a number from a
    spreadsheet is an Excel serial day (45720 is 2025-03-04)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_date(value) or "not a date (expected YYYY-MM-DD)"
    return _parse_date_text(str(value).strip().lower(), month_first)


def _parse_date_text(text: str, month_first: bool) -> date | str:
    text = _WEEKDAY.sub("", text)  # "Tuesday, March 4, 2025"
    if match := _ISO_DATE.match(text) or _COMPACT_DATE.match(text):
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
        if len(match.group(3)) == 2:  # 4-Mar-25
            year += 2000 if year < 70 else 1900
    elif match := _MONTH_DAY_YEAR.match(text):
        month, day, year = _MONTHS.get(match.group(1), 0), int(match.group(2)), int(match.group(3))
    elif match := _EXCEL_SERIAL.match(text):
        found = _excel_date(int(match.group(1)))
        return found or "not a date (expected YYYY-MM-DD)"
    else:
        return "not a date (expected YYYY-MM-DD)"
    if not month:
        return "not a date: unknown month name"
    try:
        return date(year, month, day)
    except ValueError:
        return f"impossible date: there is no day {day} in month {month} of {year}"


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
    if value.__class__ is str:  # the common case first: this runs ~40 times a row
        if _NUL in value:
            value = value.replace(_NUL, "")
        return value.strip() or None
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


def _plain(value: Any) -> Any:
    """A source value as JSON can keep it (unparsed_values): dates and numbers as text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def unreadable(
    row: Row, issues: list[Issue], target: str, raw: Any, message: str, rule: str
) -> None:
    """Report a value that cannot be read and keep it, as the source gave it, beside the
    empty normalised field (the caller empties the field)."""
    issues.append(Issue(target, raw, message, rule=rule))
    kept = row.get("unparsed_values")
    if kept is None:
        kept = row["unparsed_values"] = {}
    kept[target] = _plain(raw)


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


def dmo_country(validation: ValidationSettings) -> str | None:
    """The country of the DMO's geographic bounds (validation.business_rules), if set: phone
    numbers of rows without a country are read in it when transform.default_country is unset."""
    bounds = validation.business_rules.dmo_geographic_bounds
    if bounds is None:
        return None
    return country_of_area(bounds.min_lat, bounds.max_lat, bounds.min_lng, bounds.max_lng)


def normalize_row(
    row: Row, settings: TransformSettings, *, dmo_country: str | None = None
) -> list[Issue]:
    """Normalise `row` (a mapped row keyed by stage column) in place; return its issues.
    `dmo_country` (see `dmo_country()`) is the phone region after transform.default_country."""
    plan = compiled(settings, _plan)
    issues: list[Issue] = []
    row["unparsed_values"] = None
    if not _CONTAINERS.isdisjoint(map(type, map(row.get, _SCALAR_COLUMNS))):  # C-level scan
        for column in _SCALAR_COLUMNS:
            if type(row.get(column)) in _CONTAINERS:
                row[column] = _single(row, column, row[column], issues)
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
    _phones(row, (country, plan.default_country, dmo_country), issues)
    _email(row, issues)
    _urls(row, plan, issues)
    for column in ("listing_status", "info_status"):
        _status(row, column, issues)
    for column in ("listing_visible", "info_visible"):
        _boolean(row, column, issues)
    _images(row, plan, issues)
    _attributes(row, plan, issues)
    _dates(row, plan.month_first, issues)
    _hours(row, issues)
    return issues


def _single(row: Row, column: str, value: Any, issues: list[Issue]) -> Any:
    """One value for a single-value column given a list or an object: a list of one value
    (or of copies of it) is that value; anything else is an issue, never text."""
    target = target_of(column)
    if isinstance(value, list | tuple):
        items = [v for v in value if v is not None and v != ""]
        if all(not isinstance(v, dict | list | tuple) for v in items):
            if len({str(v) for v in items}) <= 1:
                return items[0] if items else None
            unreadable(
                row, issues, target, value, f"{len(items)} values where one is expected", "nested"
            )
            return None
    unreadable(row, issues, target, value, "a nested object where one value is expected", "nested")
    return None


def _country(row: Row, issues: list[Issue]) -> str | None:
    raw = row.get("loc_country")
    text = _text(raw)
    if text is None:
        row["loc_country"] = None
        return None
    code = country_code(text)
    if code is None:
        unreadable(
            row,
            issues,
            "locations.country",
            raw,
            "unknown country (expected ISO 3166-1 code or name)",
            "country",
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
        name = "latitude" if axis == "lat" else "longitude"
        unreadable(row, issues, target, raw, f"not a {name}", "lat_lng")
        row[column] = None
        return
    row[f"{column}_original"] = number
    limit = 90 if axis == "lat" else 180
    if not -limit <= number <= limit:
        unreadable(row, issues, target, raw, f"outside -{limit}..{limit}", "lat_lng")
        row[column] = None
        return
    row[column] = number.quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str  # +19025550101
    national: str  # (902) 555-0101, with the extension if any
    valid: bool  # a number in use in its country's plan, not only the right length


_NO_COUNTRY = (
    "cannot tell the country of this phone number: map locations.country, set"
    " transform.default_country or validation.business_rules.dmo_geographic_bounds, or map"
    " locations.lat/lng"
)


# North American numbers in the forms most sources write them: (902) 555-0101, 902.555.0101,
# 902-555-0101, 9025550101, 1-902-555-0101, +1 902 555 0101. Parsing them is phonenumbers'
# costliest step (a third of the map step's phone time), so they are read here; what
# read_phone would make of them is the same (test_map_step checks it over every form).
_NANP = re.compile(
    r"(?:\+1[ .-]?|1[ .-]?)?(?:\(([2-9][0-9]{2})\) ?|([2-9][0-9]{2})[ .-]?)"
    r"([0-9]{3})[ .-]?([0-9]{4})"
)
_NANP_REGIONS = frozenset(("US", "CA"))


@lru_cache(maxsize=8192)
def parse_phone(text: str, region: str | None) -> Phone | str:
    """A phone number read in `region` (ISO alpha-2), or a message saying why it is not one.
    A number in international form (+1 ..., 00 44 ...) needs no region."""
    if text.lower().startswith("tel:"):
        text = text[4:].strip()
    nanp = _NANP.fullmatch(text)
    if nanp is not None and (region in _NANP_REGIONS or text.startswith("+")):
        return _nanp_phone(nanp, region)
    return read_phone(text, region)


def _nanp_phone(match: re.Match[str], region: str | None) -> Phone | str:
    area, exchange, line = match[1] or match[2], match[3], match[4]
    number = phonenumbers.PhoneNumber(country_code=1, national_number=int(area + exchange + line))
    if not phonenumbers.is_possible_number(number):
        return "not a phone number (wrong number of digits)"
    valid = (
        region is not None and phonenumbers.is_valid_number_for_region(number, region)
    ) or phonenumbers.is_valid_number(number)
    # phonenumbers formats every +1 number by the US plan: (NPA) NXX-XXXX.
    return Phone(f"+1{area}{exchange}{line}", f"({area}) {exchange}-{line}", valid)


def read_phone(text: str, region: str | None) -> Phone | str:
    """parse_phone by phonenumbers alone, for any form and country."""
    if _LETTER.search(_PHONE_EXTENSION.sub("", text)):
        return "not a phone number (has letters)"
    if region is None and not text.startswith("+"):
        return _NO_COUNTRY
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


def _phone(
    row: Row, target: str, raw: Any, regions: tuple[str | None, ...], issues: list[Issue]
) -> Phone | None:
    text = _text(raw)
    if text is None:
        return None
    region = None
    if not text.startswith("+"):
        region = next((r for r in regions if r), None)
        if region is None and row.get("loc_lat") is not None and row.get("loc_lng") is not None:
            region = country_at(float(row["loc_lat"]), float(row["loc_lng"]))
    phone = parse_phone(text, region)
    if isinstance(phone, str) and _PHONE_LIST.search(text):
        first = parse_phone(_PHONE_LIST.split(text, maxsplit=1)[0], region)
        if isinstance(first, Phone):
            issues.append(Issue(target, raw, "several numbers; kept the first", "warning", "phone"))
            phone = first
    if isinstance(phone, str):
        unreadable(row, issues, target, raw, phone, "phone")
        return None
    if not phone.valid:
        issues.append(Issue(target, raw, "not a valid number for its country", "warning", "phone"))
    return phone


def _phones(row: Row, regions: tuple[str | None, ...], issues: list[Issue]) -> None:
    local = _phone(row, "contact_info.local_phone", row.get("ci_local_phone"), regions, issues)
    intl = _phone(
        row,
        "contact_info.international_phone",
        row.get("ci_international_phone"),
        regions,
        issues,
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
        if text is not None and not is_email(text):
            unreadable(row, issues, "contact_info.email", raw, "not an email address", "email")
            text = None
    row["ci_email"] = text


def _url(row: Row, raw: Any, target: str, scheme: str, issues: list[Issue]) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    url = canonical_url(text, scheme)
    if url is None or not is_web_url(url):
        unreadable(row, issues, target, raw, "not a web address (http/https)", "url")
        return None
    return url


def _urls(row: Row, plan: _Plan, issues: list[Issue]) -> None:
    row["ci_website_url"] = _url(
        row, row.get("ci_website_url"), "contact_info.website_url", plan.scheme, issues
    )
    socials = row.get("ci_socials")
    if not socials:
        row["ci_socials"] = None
        return
    if not isinstance(socials, dict):
        unreadable(
            row, issues, "contact_info.socials", socials, "expected network: link pairs", "url"
        )
        row["ci_socials"] = None
        return
    cleaned: dict[str, str] = {}
    for network, value in socials.items():
        name = _text(network)
        target = f"contact_info.socials.{(name or '').lower()}"
        if isinstance(value, dict | list | tuple):
            unreadable(
                row, issues, target, value, "a nested object where a link is expected", "nested"
            )
            continue
        text = _text(value)
        if not name or text is None:
            continue
        # A handle (@harbourview) stays a handle; anything with a dot is a link.
        if "." in text and not text.startswith("@"):
            text = _url(row, text, target, plan.scheme, issues)
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
        unreadable(
            row,
            issues,
            target_of(column),
            raw,
            f"unknown status (expected {', '.join(STATUSES)};"
            " map other values with transform.value_maps)",
            "status",
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
        unreadable(row, issues, target_of(column), raw, "not true/false (yes/no, 1/0)", "boolean")
        row[column] = None


def _item_text(row: Row, raw: Any, target: str, issues: list[Issue]) -> str | None:
    """A list item's text; a nested object in a list of values is an issue, not text."""
    if isinstance(raw, dict | list | tuple):
        unreadable(
            row, issues, target, raw, "a nested object where one value is expected", "nested"
        )
        return None
    return _text(raw)


def _images(row: Row, plan: _Plan, issues: list[Issue]) -> None:
    images = row.get("images")
    if not images:
        row["images"] = []
        return
    seen: set[str] = set()
    kept: list[str] = []
    for number, raw in enumerate(_listed(images), start=1):
        if raw.__class__ in _CONTAINERS:
            text = _item_text(row, raw, f"listing_images.image_{number}", issues)
        else:
            text = _text(raw)
        if text is None:
            continue
        # A path relative to the source site stays as given; anything else is a link.
        if not text.startswith("/") or text.startswith("//"):
            text = _url(row, text, f"listing_images.image_{number}", plan.scheme, issues)
        if text is not None and text not in seen:
            seen.add(text)
            kept.append(text)
    row["images"] = kept


def _attributes(row: Row, plan: _Plan, issues: list[Issue]) -> None:
    attributes = row.get("attributes")
    if not attributes:
        row["attributes"] = []
        return
    case = plan.case.get("attributes")
    cleanup = "attributes" in plan.cleanup
    seen: set[str] = set()
    kept: list[str] = []
    for number, raw in enumerate(_listed(attributes), start=1):
        if raw.__class__ in _CONTAINERS:
            target = f"bridge_attributes_listings.attribute_{number}"
            text = _item_text(row, raw, target, issues)
        else:
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
            unreadable(
                row,
                issues,
                f"opening_dates.start_date_{number}",
                entry,
                "expected a start_date/end_date pair",
                "date",
            )
            continue
        parsed: dict[str, str | None] = {}
        for key in ("start_date", "end_date"):
            raw = entry.get(key)
            target = f"opening_dates.{key}_{number}"
            if isinstance(raw, dict | list | tuple):
                unreadable(
                    row, issues, target, raw, "a nested object where a date is expected", "nested"
                )
                parsed[key] = None
                continue
            if _text(raw) is None:
                parsed[key] = None
                continue
            given = _text(raw) if raw.__class__ is str else raw
            result = parse_date(given, month_first)
            if isinstance(result, str):
                unreadable(row, issues, target, raw, result, "date")
                parsed[key] = None
            else:
                parsed[key] = result.isoformat()
        if parsed["start_date"] or parsed["end_date"]:
            kept.append(parsed)
    row["dates"] = kept


def _day_name(day_id: Any) -> str:
    return DAY_NAMES[day_id - 1] if isinstance(day_id, int) and 1 <= day_id <= 7 else "day"


def _hours(row: Row, issues: list[Issue]) -> None:
    """Mapped hours entries are a day's range text ({day_id, range}), a whole week's text
    ({week}) or a day's open/close fields ({day_id, open_time, close_time}); all become
    {day_id, open_time, close_time} entries, several per day when the day has several ranges."""
    hours = row.get("hours")
    if not hours:
        row["hours"] = []
        return
    kept: list[dict[str, Any]] = []
    for entry in _listed(hours):
        if not isinstance(entry, dict):
            unreadable(
                row,
                issues,
                "opening_hours.day",
                entry,
                "expected day_id/open_time/close_time",
                "time",
            )
            continue
        if "week" in entry:
            _week(row, entry["week"], kept, issues)
        elif "range" in entry:
            _day_range(row, entry["day_id"], entry["range"], kept, issues)
        else:
            _open_close(row, entry, kept, issues)
    row["hours"] = kept


def _week(row: Row, raw: Any, kept: list[dict[str, Any]], issues: list[Issue]) -> None:
    if isinstance(raw, dict | list | tuple):
        unreadable(
            row,
            issues,
            "opening_hours.week",
            raw,
            "a nested object where text is expected",
            "nested",
        )
        return
    text = _text(raw)
    if text is None:
        return
    week = parse_week(text)
    if isinstance(week, str):
        unreadable(row, issues, "opening_hours.week", raw, week, "time")
        return
    for day_id in sorted(week):
        kept.extend(
            {"day_id": day_id, "open_time": opens, "close_time": closes}
            for opens, closes in week[day_id]
        )


def _day_range(
    row: Row, day_id: int, raw: Any, kept: list[dict[str, Any]], issues: list[Issue]
) -> None:
    target = f"opening_hours.{_day_name(day_id)}"
    if isinstance(raw, dict | list | tuple):
        unreadable(
            row, issues, target, raw, "a nested object where opening hours are expected", "nested"
        )
        return
    text = _text(raw)
    if text is None:
        return
    ranges = parse_hours(text)
    if isinstance(ranges, str):
        unreadable(row, issues, target, raw, f"not opening hours: {ranges}", "time")
        return
    kept.extend({"day_id": day_id, "open_time": o, "close_time": c} for o, c in ranges)


@lru_cache(maxsize=4096)
def _open_close_range(opens: str, closes: str) -> tuple[str, str | None] | tuple[()] | None:
    """A day's open and close texts read together: (open, close) as one range (so 9 / 5 is
    09:00-17:00), () when the day is closed, None when each must be read alone."""
    opens, closes = opens.replace(_NUL, "").strip(), closes.replace(_NUL, "").strip()
    if (not opens or opens.lower() in CLOSED) and (not closes or closes.lower() in CLOSED):
        return ()
    if not opens or not closes or opens.lower() in CLOSED or closes.lower() in CLOSED:
        return None
    pair = parse_hours(f"{opens} - {closes}")
    return pair[0] if not isinstance(pair, str) and len(pair) == 1 else None


def _open_close(
    row: Row, entry: dict[str, Any], kept: list[dict[str, Any]], issues: list[Issue]
) -> None:
    day_id = entry.get("day_id")
    raw_open, raw_close = entry.get("open_time"), entry.get("close_time")
    if type(raw_open) is str and type(raw_close) is str:  # the common case, cached
        both = _open_close_range(raw_open, raw_close)
        if both is not None:
            if both:
                kept.append({"day_id": day_id, "open_time": both[0], "close_time": both[1]})
            return
    opens = None if raw_open.__class__ in _CONTAINERS else _text(raw_open)
    closes = None if raw_close.__class__ in _CONTAINERS else _text(raw_close)
    open_closed = opens is None or opens.lower() in CLOSED
    close_closed = closes is None or closes.lower() in CLOSED
    if not open_closed and not close_closed:
        both = _open_close_range(opens, closes)  # type: ignore[arg-type]
        if both is not None:
            kept.append({"day_id": day_id, "open_time": both[0], "close_time": both[1]})
            return
    if (
        open_closed
        and close_closed
        and raw_open.__class__ not in _CONTAINERS
        and raw_close.__class__ not in _CONTAINERS
    ):
        return  # closed that day: no opening hours row
    day = _day_name(day_id)
    parsed: dict[str, Any] = {"day_id": day_id}
    for part, raw, text in (("open", raw_open, opens), ("close", raw_close, closes)):
        key = f"{part}_time"
        target = f"opening_hours.{day}_{part}"
        if raw.__class__ in _CONTAINERS:
            message = "a nested object where a time is expected"
            unreadable(row, issues, target, raw, message, "nested")
            parsed[key] = None
            continue
        if text is None or text.lower() in CLOSED:
            parsed[key] = None
            continue
        result = parse_time(text if isinstance(raw, str) else raw)
        if result is None:
            message = "not a time of day (expected HH:MM)"
            unreadable(row, issues, target, raw, message, "time")
        parsed[key] = result
    kept.append(parsed)
