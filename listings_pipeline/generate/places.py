"""Real-world places, and how one DMO writes a place down as a source record.

A place is derived from (seed, place id, city) alone, and a record from (seed, DMO, place,
revisions) alone, so any record can be rebuilt on demand and nothing has to be kept in memory.
Every field of a record comes from its own random stream: a change to one field (a new phone
number) leaves every other field byte-identical, as a real re-export would.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import TypeVar

from listings_pipeline.generate.vocabulary import (
    ADJECTIVES,
    ANIMALS,
    AREA_CODES,
    ATTRIBUTE_WORDINGS,
    CATEGORIES,
    CLOSERS,
    COAST_WORDS,
    DIRECTIONS,
    FIRST_NAMES,
    LOCALITIES,
    LOOSE_SUFFIXES,
    NEIGHBOURHOODS,
    NOUNS,
    OPENERS,
    PHONE_FORMATS,
    PROVINCES,
    SENTENCE_ENDS,
    SENTENCE_MIDDLES,
    SENTENCE_STARTS,
    SLASH_PHONE_FORMAT,
    STREET_SUFFIXES,
    STREETS,
    SUFFIX_WEIGHTS,
    SURNAMES,
    TOPICS,
    TREES,
    Category,
    City,
    DmoSpec,
)

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_IMAGES = 5
MAX_DATE_RANGES = 2
COLUMNS: tuple[str, ...] = (
    "ID",
    "Name",
    "Address1",
    "Address2",
    "City",
    "State",
    "Zip",
    "Country",
    "Lat",
    "Lng",
    "Description",
    "ContactName",
    "Email",
    "LocalPhone",
    "Website",
    *(f"Image{i}" for i in range(1, MAX_IMAGES + 1)),
    *(f"{edge}Date{i}" for i in range(1, MAX_DATE_RANGES + 1) for edge in ("Start", "End")),
    *(f"{day}{edge}" for day in DAYS for edge in ("Open", "Close")),
    "Attributes",
    "Status",
)
# Source column → mapping target (listings_pipeline.transform.targets vocabulary).
COLUMN_TARGETS: dict[str, str] = {
    "ID": "stage.source_identifier",
    "Name": "listings.name",
    "Address1": "locations.address1",
    "Address2": "locations.address2",
    "City": "locations.city",
    "State": "locations.state",
    "Zip": "locations.zip",
    "Country": "locations.country",
    "Lat": "locations.lat",
    "Lng": "locations.lng",
    "Description": "listing_info.description",
    "ContactName": "contact_info.name",
    "Email": "contact_info.email",
    "LocalPhone": "contact_info.local_phone",
    "Website": "contact_info.website_url",
    **{f"Image{i}": f"listing_images.image_{i}" for i in range(1, MAX_IMAGES + 1)},
    **{
        f"{edge}Date{i}": f"opening_dates.{edge.lower()}_date_{i}"
        for i in range(1, MAX_DATE_RANGES + 1)
        for edge in ("Start", "End")
    },
    **{
        f"{day}{edge}": f"opening_hours.{day.lower()}_{edge.lower()}"
        for day in DAYS
        for edge in ("Open", "Close")
    },
    "Attributes": "bridge_attributes_listings.attributes",
    "Status": "listings.listing_status",
}

# What a snapshot can change in a record; each kind has its own revision counter.
CHANGE_KINDS = ("name", "description", "phone", "hours", "email", "images", "attributes", "dates")
KIND_INDEX = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
_REV_BITS = 8
_REV_MAX = (1 << _REV_BITS) - 1
MAX_SNAPSHOTS = _REV_MAX + 1  # each later snapshot changes a field at most once
NAME_ATTEMPTS = 8  # fresh draws of a taken name before it gets an "on <street>" qualifier
TYPO_SHARE = 0.04  # records whose first version misspells the name (fixed by a "name" change)
SEASON_YEAR = 2026

_CATEGORY_WEIGHTS = [c.weight for c in CATEGORIES]
_SUFFIXES = tuple(STREET_SUFFIXES)
_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
_EXCHANGES = tuple(e for e in range(200, 1000) if e != 555 and e % 100 != 11)
_EMAIL_BOXES = ("info", "hello", "bookings", "reservations", "contact", "office", "visit")
_SENTENCES = tuple(
    f"{start} {middle}{end}"
    for start, middle, end in itertools.product(SENTENCE_STARTS, SENTENCE_MIDDLES, SENTENCE_ENDS)
)
_SENTENCE_BYTES = {s: len(s.encode()) + 1 for s in _SENTENCES}  # with the space before it
_AVG_SENTENCE_BYTES = sum(_SENTENCE_BYTES.values()) / len(_SENTENCES)
_NAME_ABBREVIATIONS = (
    ("Brewing Co.", "Brewing Company"),
    ("Bed & Breakfast", "B&B"),
    ("Café", "Cafe"),
    ("Centre", "Center"),
    ("Provincial Park", "Prov. Park"),
    ("Beer Company", "Beer Co."),
    ("Farmers' Market", "Farmers Market"),
)
_METRES_PER_DEGREE = 111_320.0
_GAP_SHARES = (
    ("Zip", 0.03),
    ("Lat", 0.02),
    ("ContactName", 0.15),
    ("Email", 0.10),
    ("LocalPhone", 0.05),
    ("Website", 0.15),
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

T = TypeVar("T")


def revision(revs: int, kind: str) -> int:
    return (revs >> (_REV_BITS * KIND_INDEX[kind])) & _REV_MAX


def bump(revs: int, kind: str) -> int:
    """`revs` with the revision of `kind` raised by one."""
    if revision(revs, kind) == _REV_MAX:  # the generator allows no more snapshots than this
        raise OverflowError(f"more than {_REV_MAX} revisions of {kind}")
    return revs + (1 << (_REV_BITS * KIND_INDEX[kind]))


@dataclass(frozen=True, slots=True)
class Place:
    """One real-world place as it is, before any DMO writes it down."""

    place_id: int
    city: City
    category: Category
    name: str
    number: int
    street: str
    suffix: str  # full form: "Street"
    unit: str  # "" or e.g. "Suite 200"
    postal: str  # "B3J 1A1"
    lat: float
    lng: float
    phone: tuple[str, str, str]  # area code, exchange, line
    domain: str
    email_box: str
    contact: str  # "" when the place names nobody
    founded: int
    hours: tuple[tuple[str, str], ...]  # (open, close) per weekday; ("", "") when closed
    dates: tuple[tuple[str, str], ...]  # (start, end) ISO dates
    attributes: tuple[str, ...]
    direction: str = ""  # "West" in "10801 West Pico Boulevard"
    neighbourhood: str = ""  # of the city, written by some sources instead of it


def _slug_ascii(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_ALNUM.sub("", ascii_text.lower())


def _phone_digits(rng: Random, area: str) -> tuple[str, str, str]:
    return area, str(rng.choice(_EXCHANGES)), f"{rng.randrange(10_000):04d}"


def _point_near(rng: Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    distance = radius_m * math.sqrt(rng.random())  # uniform over the disc
    bearing = rng.random() * 2 * math.pi
    dlat = distance * math.cos(bearing) / _METRES_PER_DEGREE
    dlng = distance * math.sin(bearing) / (_METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def _date(rng: Random, year: int, month: int, first_day: int, last_day: int) -> str:
    return f"{year:04d}-{month:02d}-{rng.randint(first_day, last_day):02d}"


def _season(rng: Random) -> tuple[str, str]:
    start = _date(rng, SEASON_YEAR, rng.choice((5, 6)), 1, 15)
    return start, _date(rng, SEASON_YEAR, rng.choice((9, 10)), 15, 30)


def _winter(rng: Random) -> tuple[str, str]:
    start = _date(rng, SEASON_YEAR, 12, 1, 20)
    return start, _date(rng, SEASON_YEAR + 1, rng.choice((3, 4)), 1, 15)


def place_category(seed: int, place_id: int) -> Category:
    return Random(f"{seed}/category/{place_id}").choices(CATEGORIES, weights=_CATEGORY_WEIGHTS)[0]


def place_name(seed: int, place_id: int, attempt: int, category: Category | None = None) -> str:
    """The place's name at the `attempt`-th draw. The generator keeps the first draw no other
    place in the same city has; from NAME_ATTEMPTS on, names say which street they are on."""
    category = category or place_category(seed, place_id)
    rng = Random(f"{seed}/name/{place_id}/{attempt}")
    noun, noun2 = rng.sample(NOUNS, 2)
    name = rng.choice(category.names).format(
        surname=rng.choice(SURNAMES),
        adj=rng.choice(ADJECTIVES),
        animal=rng.choice(ANIMALS),
        tree=rng.choice(TREES),
        coast=rng.choice(COAST_WORDS),
        topic=rng.choice(TOPICS),
        locality=rng.choice(LOCALITIES),
        noun=noun,
        noun2=noun2,
    )
    if attempt >= NAME_ATTEMPTS:
        name = f"{name} on {rng.choice(STREETS)}"
    return name


CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}
# A hotel's outlets: two businesses at the hotel's address, with its phone (hard negatives).
OUTLETS = {"restaurant": "Dining Room", "cafe": "Café"}


def make_place(
    seed: int, place_id: int, city: City, name_attempt: int = 0, category: Category | None = None
) -> Place:
    rng = Random(f"{seed}/place/{place_id}")
    category = category or place_category(seed, place_id)
    name = place_name(seed, place_id, name_attempt, category)
    number = rng.choice((rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 7999)))
    street = rng.choice(STREETS)
    suffix = rng.choices(_SUFFIXES, weights=SUFFIX_WEIGHTS)[0]
    unit = ""
    if rng.random() < 0.2:
        kind = rng.choice(("Suite", "Unit"))
        unit = f"{kind} {rng.choice((rng.randint(1, 20), 100 * rng.randint(1, 5)))}"
    postal = (
        f"{rng.choice(city.fsas)} {rng.randrange(10)}{rng.choice(_POSTAL_LETTERS)}"
        f"{rng.randrange(10)}"
    )
    lat, lng = _point_near(rng, city.lat, city.lng, city.radius_km * 1000)
    phone = _phone_digits(rng, rng.choice(AREA_CODES[city.province]))
    stem = _slug_ascii(name.removeprefix("The "))[:40]
    domain = f"{stem}{rng.choice(('.ca', '.ca', '.com'))}"
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    contact = f"{first} {last}" if rng.random() < 0.75 else ""
    box = rng.choice(
        (*_EMAIL_BOXES[:3], _slug_ascii(first), f"{_slug_ascii(first)}.{_slug_ascii(last)}")
    )
    founded = rng.randint(1850, 2022)

    opens, closes = category.hours
    open_time, close_time = rng.choice(opens), rng.choice(closes)
    no_hours = category.key == "park" and rng.random() < 0.3
    hours = tuple(
        ("", "") if no_hours or rng.random() < closed else (open_time, close_time)
        for closed in category.closed_days
    )
    dates: tuple[tuple[str, str], ...] = ()
    if rng.random() < category.seasonal:
        dates = (_season(rng),) if rng.random() < 0.75 else (_season(rng), _winter(rng))
    extras = rng.sample(category.attributes[1:], rng.randint(0, 3))
    attributes = (category.attributes[0], *extras)
    # Drawn last: the fields above stay what they were before these existed.
    direction = rng.choice(DIRECTIONS) if rng.random() < 0.12 else ""
    neighbourhoods = NEIGHBOURHOODS.get(city.name, ())
    neighbourhood = rng.choice(neighbourhoods) if neighbourhoods else ""
    return Place(
        place_id, city, category, name, number, street, suffix, unit, postal, lat, lng, phone,
        domain, box, contact, founded, hours, dates, attributes, direction, neighbourhood,
    )  # fmt: skip


def make_outlet(seed: int, place_id: int, hotel: Place, kind: str) -> Place:
    """One of a hotel's outlets (OUTLETS): another business at the hotel's address, with its
    phone, website and coordinates, named after it ("Salty Heron Inn Café")."""
    category = CATEGORY_BY_KEY[kind]
    rng = Random(f"{seed}/outlet/{place_id}")
    opens, closes = category.hours
    open_time, close_time = rng.choice(opens), rng.choice(closes)
    hours = tuple(
        ("", "") if rng.random() < closed else (open_time, close_time)
        for closed in category.closed_days
    )
    extras = rng.sample(category.attributes[1:], rng.randint(0, 2))
    return dataclasses.replace(
        hotel,
        place_id=place_id,
        category=category,
        name=f"{hotel.name} {OUTLETS[kind]}",
        contact="",
        hours=hours,
        dates=(),
        attributes=(category.attributes[0], *extras),
    )


def _revised(initial: T, rev: int, key: str, mutate: Callable[[T, Random], T]) -> T:
    """Version `rev` of a field: `initial` changed `rev` times, each change by its own stream."""
    value = initial
    for r in range(1, rev + 1):
        value = mutate(value, Random(f"{key}/{r}"))
    return value


def _new_phone(phone: tuple[str, str, str], rng: Random) -> tuple[str, str, str]:
    while (new := _phone_digits(rng, phone[0])) == phone:
        pass
    return new


def _new_email_box(box: str, rng: Random) -> str:
    return rng.choice([b for b in _EMAIL_BOXES if b != box])


def _hour_later(time: str) -> str:
    hour = int(time[:2]) + 1
    return "23:59" if hour > 23 else f"{hour:02d}{time[2:]}"


def _new_hours(hours: tuple[tuple[str, str], ...], rng: Random) -> tuple[tuple[str, str], ...]:
    days = list(hours)
    open_days = [i for i, (o, _) in enumerate(days) if o]
    move = rng.random()
    if not open_days or (move < 0.3 and len(open_days) < 7):  # opens on a day it was closed
        template = days[open_days[0]] if open_days else ("10:00", "17:00")
        days[rng.choice([i for i, (o, _) in enumerate(days) if not o])] = template
    elif move < 0.55 and len(open_days) > 1:  # closes one day a week
        days[rng.choice(open_days)] = ("", "")
    else:  # longer evenings on every open day
        days = [(o, _hour_later(c)) if o else (o, c) for o, c in days]
    if tuple(days) == hours:  # already open until 23:59: opens an hour earlier instead
        days = [(f"{int(o[:2]) - 1:02d}{o[2:]}", c) if o else (o, c) for o, c in days]
    return tuple(days)


def _new_dates(dates: tuple[tuple[str, str], ...], rng: Random) -> tuple[tuple[str, str], ...]:
    if not dates:
        return (_season(rng),)
    if len(dates) == 1 and rng.random() < 0.4:
        return (dates[0], _winter(rng))
    start, end = dates[0]
    while (new := _season(rng)) == (start, end):
        pass
    return (new, *dates[1:])


def _new_attributes(attrs: tuple[str, ...], rng: Random, pool: tuple[str, ...]) -> tuple[str, ...]:
    missing = [a for a in pool if a not in attrs]
    if missing and (len(attrs) == 1 or rng.random() < 0.6):
        return (*attrs, rng.choice(missing))
    dropped = rng.choice(attrs[1:])
    return tuple(a for a in attrs if a != dropped)


def _typo(name: str, rng: Random) -> str:
    """Swap two neighbouring letters in one longer word (drop one if they are the same)."""
    words = name.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return name + name[-1]  # doubled last letter
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randint(1, len(word) - 3)
    if word[j] == word[j + 1]:
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    words[i] = word
    return " ".join(words)


def has_name_typo(seed: int, dmo_id: int, place_id: int) -> bool:
    return Random(f"{seed}/typo/{dmo_id}/{place_id}").random() < TYPO_SHARE


def blank_fields(seed: int, dmo_id: int, place_id: int) -> frozenset[str]:
    """Columns this DMO leaves empty for this place (Lat stands for Lat and Lng).

    Its own stream, so the generator can tell whether a change would be visible (a new phone
    number in a record without one is not) without rendering the record.
    """
    rng = Random(f"{seed}/gaps/{dmo_id}/{place_id}")
    return frozenset(column for column, share in _GAP_SHARES if rng.random() < share)


def description(
    rng: Random, place: Place, target_bytes: int, province: str, paragraphs: int = 5
) -> str:
    """`paragraphs` paragraphs of about `target_bytes` UTF-8 bytes in all (at least one
    sentence each): an opener naming the place, generic sentences, a closer."""
    fields = {
        "name": place.name,
        "city": place.city.name,
        "province": province,
        "year": place.founded,
        "noun": place.category.noun,
    }
    out: list[str] = []
    written = 0
    for p in range(paragraphs):
        lead = ""
        if p == 0:
            lead = rng.choice(OPENERS).format(**fields)
        elif p == paragraphs - 1:
            lead = rng.choice(CLOSERS).format(**fields)
        goal = (target_bytes - written) / (paragraphs - p) - 2  # "\n\n" between paragraphs
        size = len(lead.encode()) + 1 if lead else 0
        # Most sentences in one call, then one at a time until the paragraph is long enough.
        sentences = rng.choices(_SENTENCES, k=max(0, int((goal - size) / _AVG_SENTENCE_BYTES) - 1))
        size += sum(map(_SENTENCE_BYTES.__getitem__, sentences))
        while not sentences or size + _AVG_SENTENCE_BYTES / 2 < goal:
            sentence = rng.choice(_SENTENCES)
            sentences.append(sentence)
            size += _SENTENCE_BYTES[sentence]
        body = " ".join(sentences)
        out.append(f"{lead} {body}" if p == 0 else f"{body} {lead}" if lead else body)
        written += size + 2
    return "\n\n".join(out)


class DmoRenderer:
    """Writes places down the way one DMO does: its phone format, abbreviations, province
    spelling, coordinate precision, plus per-record noise (case, punctuation, a leading
    "The", '&' or 'and', a few metres of coordinate drift, missing values)."""

    def __init__(
        self, seed: int, dmo_id: int, spec: DmoSpec, image_base_url: str, description_kb: float
    ) -> None:
        self.seed = seed
        self.dmo_id = dmo_id
        self.spec = spec
        self.image_base = image_base_url.rstrip("/")
        self.description_bytes = round(description_kb * 1024)

    def _stream(self, what: str, place_id: int, rev: int | None = None) -> Random:
        suffix = "" if rev is None else f"/{rev}"
        return Random(f"{self.seed}/{what}/{self.dmo_id}/{place_id}{suffix}")

    def _key(self, what: str, place_id: int) -> str:
        return f"{self.seed}/{what}/{self.dmo_id}/{place_id}"

    def render(self, key: str, place: Place, revs: int) -> dict[str, object]:
        """The record as column → value: strings, except Lat/Lng (float or None)."""
        spec, pid = self.spec, place.place_id
        # Formatting choices come from one stream that never depends on revisions, so an
        # unchanged field renders identically in every snapshot.
        style = self._stream("style", pid)
        # What real guides of one city write differently (issue 17), from a stream of its own
        # so the choices above keep their values.
        variant = self._stream("variants", pid)
        move_the, direction_form, loose_suffix, use_neighbourhood, slash_phone, reword = (
            variant.random() for _ in range(6)
        )
        gaps = blank_fields(self.seed, self.dmo_id, pid)
        record: dict[str, object] = {"ID": key}

        # Name
        drop_the, add_the = style.random() < 0.25, style.random() < 0.08
        swap_and, drop_apostrophes = style.random() < 0.3, style.random() < 0.2
        abbreviate, upper, trailing = style.random() < 0.3, style.random() < 0.04, style.random()
        name = place.name
        if swap_and:
            name = name.replace(" & ", " and ") if " & " in name else name.replace(" and ", " & ")
        if abbreviate:
            for long, short in _NAME_ABBREVIATIONS:
                if long in name:
                    name = name.replace(long, short)
                    break
        if name.startswith("The ") and drop_the:
            name = name[4:]
        elif not name.startswith("The ") and add_the:
            name = "The " + name
        if name.startswith("The ") and move_the < 0.15:  # "Apple Pan, The"
            name = f"{name[4:]}, The"
        if drop_apostrophes:
            name = name.replace("'", "")
        if revision(revs, "name") == 0 and has_name_typo(self.seed, self.dmo_id, pid):
            name = _typo(name, self._stream("typo-at", pid))
        if upper:
            name = name.upper()
        record["Name"] = name + (" " if trailing < 0.02 else "")

        # Address
        suffix_style = spec.suffix_style
        if style.random() < 0.15:
            suffix_style = style.choice(("full", "abbr", "abbr_dot"))
        suffix = place.suffix
        if loose_suffix < 0.1:  # "Blv.", "Av.", "Str."
            suffix = LOOSE_SUFFIXES[suffix]
        elif suffix_style != "full":
            suffix = STREET_SUFFIXES[suffix] + ("." if suffix_style == "abbr_dot" else "")
            suffix = suffix.replace("Way.", "Way")
        street = place.street
        if place.direction:  # "West", "W." or "W"
            forms = (place.direction, f"{place.direction[0]}.", place.direction[0])
            street = f"{forms[int(direction_form * 3)]} {street}"
        address1 = f"{place.number} {street} {suffix}"
        address2 = ""
        unit_mode = style.random()
        if place.unit and unit_mode < 0.6:
            address2 = place.unit
        elif place.unit and unit_mode < 0.85:  # Canadian style: "200-1234 Barrington St"
            address1 = f"{place.unit.split(' ')[1]}-{address1}"
        if style.random() < 0.03:
            address1 = address1.upper()
        record["Address1"], record["Address2"] = address1, address2
        city = place.city.name
        if place.neighbourhood and use_neighbourhood < 0.15:  # "North End" for "Halifax"
            city = place.neighbourhood
        record["City"] = city.upper() if style.random() < 0.03 else city
        state_style = spec.state_style if style.random() < 0.9 else style.choice(("code", "name"))
        province = place.city.province
        full, dotted = PROVINCES[province]
        record["State"] = {"code": province, "name": full, "dotted": dotted}[state_style]
        postal = place.postal if spec.postal_space else place.postal.replace(" ", "")
        record["Zip"] = "" if "Zip" in gaps else postal.lower() if style.random() < 0.03 else postal
        record["Country"] = "CA"
        lat, lng = _point_near(style, place.lat, place.lng, style.uniform(2.0, 25.0))
        if "Lat" in gaps:  # left for the geocoder
            record["Lat"] = record["Lng"] = None
        else:
            record["Lat"] = round(lat, spec.coord_decimals)
            record["Lng"] = round(lng, spec.coord_decimals)

        # Description (its own stream: a new text per revision)
        rev = revision(revs, "description")
        desc_rng = self._stream("description", pid, rev)
        target = round(self.description_bytes * desc_rng.uniform(0.9, 1.1))
        record["Description"] = description(desc_rng, place, target, full)

        # Contact
        record["ContactName"] = "" if "ContactName" in gaps else place.contact
        box = _revised(
            place.email_box, revision(revs, "email"), self._key("email", pid), _new_email_box
        )
        email = f"{box}@{place.domain}"
        record["Email"] = (
            "" if "Email" in gaps else email.upper() if style.random() < 0.03 else email
        )
        phone_format = spec.phone_format
        if style.random() < 0.2:
            phone_format = style.randrange(len(PHONE_FORMATS))
        area, exchange, line = _revised(
            place.phone, revision(revs, "phone"), self._key("phone", pid), _new_phone
        )
        phone = PHONE_FORMATS[phone_format].format(a=area, e=exchange, l=line)
        if slash_phone < 0.05:  # "902/555-0101"
            phone = SLASH_PHONE_FORMAT.format(a=area, e=exchange, l=line)
        record["LocalPhone"] = "" if "LocalPhone" in gaps else phone
        website_style = spec.website_style
        if style.random() < 0.1:
            website_style = style.choice(("https_www", "http", "bare"))
        prefix = {"https_www": "https://www.", "http": "http://", "bare": "www."}[website_style]
        slash = "/" if style.random() < 0.3 else ""
        record["Website"] = "" if "Website" in gaps else f"{prefix}{place.domain}{slash}"

        # Images: a new set of file names per revision
        rev = revision(revs, "images")
        images = self._stream("images", pid, rev)
        stem = f"{self.image_base}/img/{spec.slug}/{key}" + (f"-v{rev}" if rev else "")
        count = images.randint(1, MAX_IMAGES)
        for i in range(1, MAX_IMAGES + 1):
            record[f"Image{i}"] = f"{stem}-{i}.jpg" if i <= count else ""

        dates = _revised(place.dates, revision(revs, "dates"), self._key("dates", pid), _new_dates)
        for i in range(1, MAX_DATE_RANGES + 1):
            start, end = dates[i - 1] if i <= len(dates) else ("", "")
            record[f"StartDate{i}"], record[f"EndDate{i}"] = start, end
        hours = _revised(place.hours, revision(revs, "hours"), self._key("hours", pid), _new_hours)
        for day, (open_time, close_time) in zip(DAYS, hours, strict=True):
            record[f"{day}Open"], record[f"{day}Close"] = open_time, close_time

        # Attributes: each DMO tags a place its own way, from the place's own set
        pool = place.category.attributes
        tagging = self._stream("attributes", pid)
        attributes = tuple(
            a for i, a in enumerate(place.attributes) if i == 0 or tagging.random() < 0.8
        )
        attributes = _revised(
            attributes,
            revision(revs, "attributes"),
            self._key("attributes", pid),
            lambda value, rng: _new_attributes(value, rng, pool),
        )
        if reword < 0.3:  # "Dining" for "Restaurants"
            attributes = tuple(ATTRIBUTE_WORDINGS.get(a, a) for a in attributes)
        record["Attributes"] = ", ".join(attributes)
        record["Status"] = "inactive" if style.random() < 0.03 else "active"
        return record
