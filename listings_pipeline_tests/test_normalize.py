"""Normalising mapped rows: one canonical form per value, unreadable values as issues."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from listings_pipeline.configs.model import TransformSettings
from listings_pipeline.transform.normalize import canonical_url, normalize_row


def settings(**overrides: Any) -> TransformSettings:
    return TransformSettings(map_fields={"listings.name": "Name"}, **overrides)


def normalized(row: dict[str, Any], **overrides: Any) -> tuple[dict[str, Any], list[str]]:
    issues = normalize_row(row, settings(**overrides))
    return row, [f"{i.severity} {i}" for i in issues]


@pytest.mark.parametrize(
    ("local", "international", "country", "expected"),
    [
        ("(902) 555-0101", None, "CA", ("(902) 555-0101", "+19025550101")),
        ("902.555.0101", None, "CA", ("(902) 555-0101", "+19025550101")),
        (None, "+1 902 555 0101", None, ("(902) 555-0101", "+19025550101")),
        ("902-555-0101 ext 12", None, "CA", ("(902) 555-0101 ext. 12", "+19025550101")),
        (9025550101.0, None, "CA", ("(902) 555-0101", "+19025550101")),  # from a spreadsheet
        ("020 7946 0958", None, "United Kingdom", ("020 7946 0958", "+442079460958")),
    ],
)
def test_phones_become_e164_and_national(
    local: Any, international: Any, country: str | None, expected: tuple[str, str]
) -> None:
    row, issues = normalized(
        {"ci_local_phone": local, "ci_international_phone": international, "loc_country": country}
    )
    assert (row["ci_local_phone"], row["ci_international_phone"]) == expected
    assert issues == []


def test_phone_region_falls_back_to_default_country() -> None:
    row, issues = normalized({"ci_local_phone": "902 555 0101"}, default_country="Canada")
    assert row["ci_international_phone"] == "+19025550101"
    assert row["loc_country"] is None  # the default is for reading values, not stored

    row, issues = normalized({"ci_local_phone": "902 555 0101"})
    assert row["ci_local_phone"] is None
    assert issues == [
        "error contact_info.local_phone: cannot tell the country of this phone number: map"
        " locations.country, set transform.default_country or"
        " validation.business_rules.dmo_geographic_bounds, or map locations.lat/lng"
        " ('902 555 0101')"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("call FLOWERS", "not a phone number (has letters)"),
        ("555", "not a phone number (wrong number of digits)"),
        ("--", "not a phone number"),
        ("+1 902 555 01019999", "not a phone number (wrong number of digits)"),
    ],
)
def test_unreadable_phone_is_an_error(value: str, message: str) -> None:
    row, issues = normalized({"ci_local_phone": value, "loc_country": "CA"})
    assert row["ci_local_phone"] is None and row["ci_international_phone"] is None
    assert issues == [f"error contact_info.local_phone: {message} ({value!r})"]


def test_unassigned_number_is_only_a_warning() -> None:
    row, issues = normalized({"ci_local_phone": "902 111 0101", "loc_country": "CA"})
    assert row["ci_international_phone"] == "+19021110101"
    assert issues == [
        "warning contact_info.local_phone: not a valid number for its country ('902 111 0101')"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("www.Example.com/About/", "https://www.example.com/About"),
        ("https://example.com:443/a/b/?x=1#top", "https://example.com/a/b?x=1#top"),
        ("http://example.com:80/", "http://example.com/"),
        ("http://example.com:8080/", "http://example.com:8080/"),
        ("//cdn.example.com/i.jpg", "https://cdn.example.com/i.jpg"),
        ("example.com/my page", "https://example.com/my%20page"),
        ("http://", None),
        ("http://exa mple.com", None),
    ],
)
def test_urls_are_canonical(value: str, expected: str | None) -> None:
    assert canonical_url(value) == expected


def test_contact_fields() -> None:
    row, issues = normalized(
        {
            "ci_email": " MAILTO:Info@Harbour.CA ",
            "ci_website_url": "Harbour.ca/",
            "ci_socials": {"Facebook": "facebook.com/harbour/", "Instagram": "@harbour", "x": ""},
        },
        url_default_scheme="http",
    )
    assert row["ci_email"] == "info@harbour.ca"
    assert row["ci_website_url"] == "http://harbour.ca/"
    assert row["ci_socials"] == {"facebook": "http://facebook.com/harbour", "instagram": "@harbour"}
    assert issues == []

    row, issues = normalized({"ci_email": "a@x.ca; b@y.ca", "ci_website_url": "http:// "})
    assert row["ci_email"] == "a@x.ca" and row["ci_website_url"] is None
    assert issues == [
        "warning contact_info.email: several emails; kept the first ('a@x.ca; b@y.ca')",
        "error contact_info.website_url: not a web address (http/https) ('http:// ')",
    ]


@pytest.mark.parametrize(
    ("country", "state", "zip_code", "expected"),
    [
        ("Canada", "nova scotia", "b3h4r2", ("CA", "NS", "B3H 4R2")),
        ("CAN", "NS", "B3H  4R2", ("CA", "NS", "B3H 4R2")),
        ("u.s.a.", "new york", "10001", ("US", "NY", "10001")),
        ("United States of America", "Ontario County", "14424", ("US", "Ontario County", "14424")),
        ("uk", None, "sw1a 1aa", ("GB", None, "SW1A 1AA")),
    ],
)
def test_countries_states_and_postcodes(
    country: str, state: str | None, zip_code: str, expected: tuple[Any, ...]
) -> None:
    row, issues = normalized({"loc_country": country, "loc_state": state, "loc_zip": zip_code})
    assert (row["loc_country"], row["loc_state"], row["loc_zip"]) == expected
    assert issues == []


def test_unknown_country_is_an_error() -> None:
    row, issues = normalized({"loc_country": "Narnia"})
    assert row["loc_country"] is None
    assert issues == [
        "error locations.country: unknown country (expected ISO 3166-1 code or name) ('Narnia')"
    ]


def test_lat_lng_rounded_with_original_kept() -> None:
    row, issues = normalized({"loc_lat": "44.6512345678", "loc_lng": "63.5712 W"})
    assert row["loc_lat"] == Decimal("44.651235")
    assert row["loc_lat_original"] == Decimal("44.6512345678")
    assert row["loc_lng"] == Decimal("-63.571200")
    assert issues == []

    row, _ = normalized({"loc_lat": 44.65, "loc_lng": "44°39'30\"N"}, round_lat_lng=3)
    assert row["loc_lat"] == Decimal("44.650")
    assert row["loc_lng"] is None  # N is not a longitude


@pytest.mark.parametrize(
    ("lat", "message"),
    [("abc", "not a latitude"), ("95.5", "outside -90..90"), (True, "not a latitude")],
)
def test_unreadable_lat_is_an_error_never_an_exception(lat: Any, message: str) -> None:
    row, issues = normalized({"loc_lat": lat, "loc_lng": "-63.5"})
    assert row["loc_lat"] is None and row["loc_lng"] == Decimal("-63.500000")
    assert issues == [f"error locations.lat: {message} ({lat!r})"]


def test_dates() -> None:
    row, issues = normalized(
        {
            "dates": [
                {"start_date": "2025-05-01", "end_date": "10/31/2025"},
                {"start_date": "31/02/2025", "end_date": "31/02"},
                {"start_date": "March 5, 2025", "end_date": "5 Mar 2025"},
                {"start_date": "03/04/2025", "end_date": datetime(2025, 12, 24, 18, 0)},
                {"start_date": " ", "end_date": None},  # empty range: dropped
            ]
        }
    )
    assert row["dates"] == [
        {"start_date": "2025-05-01", "end_date": "2025-10-31"},
        # the unreadable range is reported below (the row cannot be promoted as it is)
        {"start_date": "2025-03-05", "end_date": "2025-03-05"},
        {"start_date": "2025-03-04", "end_date": "2025-12-24"},
    ]
    assert issues == [
        "error opening_dates.start_date_2: impossible date: there is no day 31 in month 2"
        " of 2025 ('31/02/2025')",
        "error opening_dates.end_date_2: not a date (expected YYYY-MM-DD) ('31/02')",
    ]
    row, _ = normalized({"dates": [{"start_date": "03/04/2025"}]}, date_order="dmy")
    assert row["dates"] == [{"start_date": "2025-04-03", "end_date": None}]


def test_hours() -> None:
    row, issues = normalized(
        {
            "hours": [
                {"day_id": 1, "open_time": "9am", "close_time": "5:30 PM"},
                {"day_id": 2, "open_time": "Closed", "close_time": ""},  # closed: no row
                {"day_id": 3, "open_time": "noon", "close_time": "2400"},
                {"day_id": 4, "open_time": time(8, 15), "close_time": "25:00"},
                {"day_id": 5, "open_time": "0930", "close_time": "21h00"},
            ]
        }
    )
    assert row["hours"] == [
        {"day_id": 1, "open_time": "09:00", "close_time": "17:30"},
        {"day_id": 3, "open_time": "12:00", "close_time": "24:00"},
        {"day_id": 4, "open_time": "08:15", "close_time": None},
        {"day_id": 5, "open_time": "09:30", "close_time": "21:00"},
    ]
    assert issues == ["error opening_hours.thu_close: not a time of day (expected HH:MM) ('25:00')"]


def test_booleans_and_statuses() -> None:
    row, issues = normalized(
        {
            "listing_visible": "Yes",
            "info_visible": 0,
            "listing_status": "Published",
            "info_status": "missing from import",
        }
    )
    assert (row["listing_visible"], row["info_visible"]) == (True, False)
    assert (row["listing_status"], row["info_status"]) == ("active", "missing_from_import")
    assert issues == []

    row, issues = normalized({"listing_visible": "maybe", "listing_status": "open-ish"})
    assert row["listing_visible"] is None and row["listing_status"] is None
    assert issues == [
        "error listings.listing_status: unknown status (expected active, inactive,"
        " missing_from_import; map other values with transform.value_maps) ('open-ish')",
        "error listings.listing_visible: not true/false (yes/no, 1/0) ('maybe')",
    ]


def test_text_cleanup_only_where_configured() -> None:
    description = "  First paragraph.\n\nSecond\x00 paragraph.  "
    row, issues = normalized(
        {
            "listing_name": "  The  Harbour\u00a0View Inn &amp; Suites\u2122\u200b ",
            "listing_info_description": description,
            "loc_address1": "   ",
            "loc_city": "HALIFAX",
            "ci_name": 42,
        },
        normalize_fields=["listings.name"],
        letter_case={"locations.city": "title"},
    )
    assert row["listing_name"] == "The Harbour View Inn & Suites"
    assert row["listing_info_description"] == "First paragraph.\n\nSecond paragraph."
    assert row["loc_address1"] is None
    assert row["loc_city"] == "Halifax"
    assert row["ci_name"] == "42"
    assert issues == []


def test_images_and_attributes_deduplicated() -> None:
    row, issues = normalized(
        {
            "images": [" HTTP://Img.example.com/a.jpg", "", "http://img.example.com/a.jpg",
                       "/wp-content/b.jpg"],
            "attributes": ["Pet  friendly", "pet friendly", " ", "Wifi"],
        },
        letter_case={"bridge_attributes_listings.attributes": "lower"},
    )  # fmt: skip
    assert row["images"] == ["http://img.example.com/a.jpg", "/wp-content/b.jpg"]
    assert row["attributes"] == ["pet friendly", "wifi"]
    assert issues == []


def test_garbage_never_raises() -> None:
    row: dict[str, Any] = {
        "listing_name": ["not", "text"],
        "loc_lat": {"x": 1},
        "loc_lng": float("nan"),
        "ci_local_phone": "+",
        "ci_socials": "facebook.com/x",
        "dates": [{"start_date": 20250101}, {"end_date": ["2025-01-01"]}, "2025-01-01"],
        "hours": [{"day_id": 9, "open_time": "x"}, None],
        "images": "http://img.example.com/a.jpg",
        "listing_visible": 2,
        "loc_country": 124,
    }
    issues = normalize_row(row, settings())
    assert {i.field for i in issues} == {
        "listings.name",  # a list of two values: reported, never stored as "['not', 'text']"
        "locations.lat", "locations.lng", "contact_info.local_phone", "contact_info.socials",
        "opening_dates.start_date_1", "opening_dates.end_date_2", "opening_dates.start_date_3",
        "opening_hours.day_open", "opening_hours.day", "listings.listing_visible",
    }  # fmt: skip
    assert row["images"] == ["http://img.example.com/a.jpg"]
    assert all(i.severity == "error" for i in issues)
    assert row["loc_country"] == "CA"  # ISO numeric code
    assert row["dates"] == []


def test_settings_validate_default_country() -> None:
    assert settings(default_country="canada").default_country == "CA"
    with pytest.raises(ValueError, match="unknown country 'Atlantis'"):
        settings(default_country="Atlantis")


def test_date_objects_pass_through() -> None:
    row, _ = normalized({"dates": [{"start_date": date(2025, 6, 1), "end_date": "2025-6-30"}]})
    assert row["dates"] == [{"start_date": "2025-06-01", "end_date": "2025-06-30"}]


def test_canonical_url_shortcut_gives_what_the_full_parse_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """URLs already in canonical form skip urlsplit; any other URL takes the full path. Both
    must agree on every URL, including near misses (ports, case, trailing slashes, escapes)."""
    import random
    import re

    from listings_pipeline.transform import normalize

    rng = random.Random(7)
    chars = "aAz09.-/_~!$&'()*+,;=:@%?#: []é"
    urls = ["https://a.com", "https://a.com/", "http://a.com/x/", "https://a.com:443/x",
            "http://a.com:443/x", "https://a.com:99999/x", "https://a.com:8080/", "https://A.com/x",
            "https://a.com/x%20y", "https://a..b/x", "https://a.com/x//y"]  # fmt: skip
    for _ in range(5000):
        host = "".join(rng.choice("abz09.-") for _ in range(rng.randint(1, 6)))
        port = rng.choice(["", "", ":80", ":443", ":8080", ":0", ":65536", ":070"])
        path = "".join(rng.choice(chars) for _ in range(rng.randint(0, 8)))
        urls.append(rng.choice(["http://", "https://", "HTTPS://", ""]) + host + port + path)
    fast = [normalize.canonical_url(u) for u in urls]
    monkeypatch.setattr(normalize, "_CANONICAL_URL", re.compile(r"(?!)"))  # never matches
    assert fast == [normalize.canonical_url(u) for u in urls]
    assert fast[:3] == ["https://a.com/", "https://a.com/", "http://a.com/x"]
