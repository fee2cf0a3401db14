"""Real-world forms the normalisers read (issue 17): times, day ranges, whole weeks, dates,
phones without a configured country, nested values; unreadable values are warnings with the
source value kept."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from listings_pipeline.configs.model import TransformSettings, ValidationSettings
from listings_pipeline.transform.clock import parse_hours, parse_time, parse_week
from listings_pipeline.transform.country_areas import country_at, country_of_area
from listings_pipeline.transform.mapping import Mapper
from listings_pipeline.transform.normalize import dmo_country, normalize_row, parse_date
from listings_pipeline.transform.validate import validate_row


def settings(**overrides: Any) -> TransformSettings:
    return TransformSettings(map_fields={"listings.name": "Name"}, **overrides)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:0", "09:00"), ("17:0", "17:00"), ("9.30", "09:30"), ("9h30", "09:30"),
        ("21h", "21:00"), ("9am", "09:00"), ("9 a.m.", "09:00"), ("9:30 PM", "21:30"),
        ("12 am", "00:00"), ("12pm", "12:00"), ("noon", "12:00"), ("midnight", "00:00"),
        ("24:00", "24:00"), ("0900", "09:00"), ("930", "09:30"), ("09:00:00", "09:00"),
        ("25:00", None), ("9:60", None), ("13 pm", None), ("soon", None),
    ],
)  # fmt: skip
def test_times(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:30-17:0", [("08:30", "17:00")]),  # Yelp's business.json
        ("9-5", [("09:00", "17:00")]),  # a shop sign: 9 am to 5 pm
        ("8:30-5:30", [("08:30", "17:30")]),
        ("11-2", [("11:00", "14:00")]),
        ("9am–5pm", [("09:00", "17:00")]),  # en dash
        ("9am—5pm", [("09:00", "17:00")]),  # em dash
        ("9 a.m. to 5 p.m.", [("09:00", "17:00")]),
        ("9-5pm", [("09:00", "17:00")]),
        ("7-10pm", [("19:00", "22:00")]),
        ("9am-5", [("09:00", "17:00")]),
        ("closed", []),
        ("Closed", []),
        ("24 hours", [("00:00", "24:00")]),
        ("Open 24 hours", [("00:00", "24:00")]),
        ("0:0-0:0", [("00:00", "24:00")]),
        ("9-12, 13-17", [("09:00", "12:00"), ("13:00", "17:00")]),
        ("9-12 and 1-5", [("09:00", "12:00"), ("13:00", "17:00")]),
        ("12:30 – 2:30 pm, 7:00 – 10:30 pm", [("12:30", "14:30"), ("19:00", "22:30")]),
        ("18:00-02:00", [("18:00", "02:00")]),  # past midnight: a close before the open
        ("17:0-1:0", [("17:00", "01:00")]),  # one-digit minutes: a 24-hour clock
        ("11:00-02:00", [("11:00", "02:00")]),  # a leading zero: a 24-hour clock
        ("10pm-2", [("22:00", "02:00")]),
    ],
)
def test_day_ranges(text: str, expected: list[tuple[str, str]]) -> None:
    assert list(parse_hours(text)) == expected


def test_unreadable_range_says_why() -> None:
    assert parse_hours("by appointment") == "not a time or a range of times ('by appointment')"
    assert parse_hours("9-late") == "not a range of times ('9-late')"


def test_weeks() -> None:
    nine_five = (("09:00", "17:00"),)
    assert parse_week("Mo-Fr 09:00-17:00; Sa 10:00-14:00; PH off") == {
        **dict.fromkeys(range(1, 6), nine_five),
        6: (("10:00", "14:00"),),
    }
    assert parse_week("Mon-Fri 9am-5pm, Sat 10-2") == {
        **dict.fromkeys(range(1, 6), nine_five),
        6: (("10:00", "14:00"),),
    }
    assert parse_week("Mo,Fr 12:00-16:00") == dict.fromkeys((1, 5), (("12:00", "16:00"),))
    assert parse_week("Fr-Mo 10-4") == dict.fromkeys((5, 6, 7, 1), (("10:00", "16:00"),))
    assert parse_week("24/7") == dict.fromkeys(range(1, 8), (("00:00", "24:00"),))
    assert parse_week("Monday Closed, Tuesday - Sunday 5:30pm to 10:00pm") == {
        1: (),
        **dict.fromkeys(range(2, 8), (("17:30", "22:00"),)),
    }
    assert isinstance(parse_week("Mo-Fr 09:00-17:00; Jun-Aug Sa off"), str)  # seasons


@pytest.mark.parametrize(
    ("value", "month_first", "expected"),
    [
        ("2025-03-04", True, date(2025, 3, 4)),
        ("2025-3-4", True, date(2025, 3, 4)),
        ("2025-03-04T00:00:00", True, date(2025, 3, 4)),  # an xlsx date cell
        ("20250304", True, date(2025, 3, 4)),
        ("03/04/2025", True, date(2025, 3, 4)),
        ("03/04/2025", False, date(2025, 4, 3)),
        ("4 March 2025", True, date(2025, 3, 4)),
        ("March 4, 2025", True, date(2025, 3, 4)),
        ("4-Mar-2025", True, date(2025, 3, 4)),
        ("4-Mar-25", True, date(2025, 3, 4)),
        ("Tuesday, March 4, 2025", True, date(2025, 3, 4)),
        (45720, True, date(2025, 3, 4)),  # an Excel serial day from a number cell
        ("45720", True, date(2025, 3, 4)),
        (12, True, "not a date (expected YYYY-MM-DD)"),  # not a plausible serial
        ("31/02/2025", False, "impossible date: there is no day 31 in month 2 of 2025"),
    ],
)
def test_dates(value: Any, month_first: bool, expected: date | str) -> None:
    assert parse_date(value, month_first) == expected


@pytest.mark.parametrize(
    "phone", ["310/246-1501", "(310) 246-1501", "310.246.1501", "310-246-1501", "3102461501"]
)
def test_us_phone_formats(phone: str) -> None:
    row = {"ci_local_phone": phone}
    assert normalize_row(row, settings(default_country="US")) == []
    assert (row["ci_international_phone"], row["ci_local_phone"]) == (
        "+13102461501",
        "(310) 246-1501",
    )


def test_phone_country_order() -> None:
    """The row's country, then default_country, then the DMO's country, then the point."""
    london = {"loc_lat": "51.5074", "loc_lng": "-0.1278"}

    def read(row: dict[str, Any], dmo: str | None = None, **over: Any) -> str | None:
        normalize_row(row, settings(**over), dmo_country=dmo)
        return row["ci_international_phone"]

    # A UK number written nationally: which country it is read in decides the result.
    assert (
        read({"ci_local_phone": "020 7946 0018", "loc_country": "GB"}, "FR", default_country="FR")
        == "+442079460018"
    )
    assert read({"ci_local_phone": "01 42 68 53 00"}, "GB", default_country="FR") == "+33142685300"
    assert read({"ci_local_phone": "01 42 68 53 00", **london}, "FR") == "+33142685300"
    assert read({"ci_local_phone": "020 7946 0018", **london}) == "+442079460018"
    assert read({"ci_local_phone": "+33 1 42 68 53 00"}) == "+33142685300"  # international


def test_country_lookup_offline() -> None:
    assert country_at(44.6488, -63.5752) == "CA"  # Halifax
    assert (country_at(42.3149, -83.0364), country_at(42.3314, -83.0458)) == ("CA", "US")
    assert (country_at(48.5734, 7.7521), country_at(48.5722, 7.8150)) == ("FR", "DE")
    assert country_at(44.64, -63.56) == "CA"  # in the harbour: the nearest coast
    assert country_at(40.0, -40.0) is None  # mid-Atlantic
    assert country_of_area(44.4, 45.0, -64.0, -63.0) == "CA"
    bounds = {"min_lat": 40.4, "max_lat": 41.0, "min_lng": -74.3, "max_lng": -73.6}
    validation = ValidationSettings(business_rules={"dmo_geographic_bounds": bounds})
    assert dmo_country(validation) == "US"


def test_unreadable_values_are_warnings_with_the_source_value_kept() -> None:
    row = {
        "listing_name": "Harbour Inn",
        "ci_local_phone": "call us",
        "ci_email": "info@harbour",
        "dates": [{"start_date": "someday"}],
        "hours": [{"day_id": 1, "range": "by appointment"}, {"day_id": 2, "range": "9-5"}],
    }
    issues = normalize_row(row, settings(default_country="CA"))
    result = validate_row(row, ValidationSettings(), issues)
    assert result.ok and result.errors == []
    assert {i.field for i in result.warnings} == {
        "contact_info.local_phone", "contact_info.email", "opening_dates.start_date_1",
        "opening_hours.mon",
    }  # fmt: skip
    assert row["unparsed_values"] == {
        "contact_info.local_phone": "call us",
        "contact_info.email": "info@harbour",
        "opening_dates.start_date_1": "someday",
        "opening_hours.mon": "by appointment",
    }
    assert row["ci_local_phone"] is None and row["ci_email"] is None and row["dates"] == []
    assert row["hours"] == [{"day_id": 2, "open_time": "09:00", "close_time": "17:00"}]
    # A config can still refuse such rows.
    strict = ValidationSettings(severities={"phone": "error"})
    assert [str(i) for i in validate_row(dict(row), strict, issues).errors] == [
        "contact_info.local_phone: not a phone number (has letters) ('call us')"
    ]


def test_nested_values_are_field_issues_never_text() -> None:
    mapper = Mapper.__new__(Mapper)  # only _list is used below
    mapper.delimiter = ","
    row: dict[str, Any] = {
        "listing_name": "Harbour Inn",
        "ci_local_phone": ["+1 902 555 0101"],  # a list of one value is that value
        "listing_info_description": {"en": "Rooms", "fr": "Chambres"},
        "loc_city": ["Halifax", "Dartmouth"],
        "attributes": mapper._list([{"alias": "pizza", "title": "Pizza"}, "Tours"]),
    }
    issues = normalize_row(row, settings())
    assert [(i.field, i.rule, i.message) for i in issues] == [
        ("listing_info.description", "nested", "a nested object where one value is expected"),
        ("locations.city", "nested", "2 values where one is expected"),
        ("bridge_attributes_listings.attribute_1", "nested",
         "a nested object where one value is expected"),
    ]  # fmt: skip
    assert row["ci_international_phone"] == "+19025550101"
    assert row["listing_info_description"] is None and row["loc_city"] is None
    assert row["attributes"] == ["Tours"]
    assert row["unparsed_values"]["listing_info.description"] == {"en": "Rooms", "fr": "Chambres"}
    assert validate_row(row, ValidationSettings(), issues).ok


def test_week_and_range_targets_through_the_mapper() -> None:
    from listings_pipeline.configs import SourceConfig

    config = SourceConfig.model_validate(
        {
            "slug": "w",
            "dmo_id": 1,
            "dmo_name": "D",
            "name": "n",
            "source_type": "json",
            "transform": {
                "map_fields": {
                    "listings.name": "name",
                    "opening_hours.week": "tags.opening_hours",
                    "opening_hours.sun": "hours.Sunday",
                }
            },
        }
    )
    row = Mapper(config).map_record(
        {
            "name": "Cafe",
            "tags": {"opening_hours": "Mo-Fr 08:00-12:00,13:00-18:00"},
            "hours": {"Sunday": "10-2"},
        }
    )
    assert normalize_row(row, config.transform) == []
    assert row["hours"] == [
        {"day_id": 7, "open_time": "10:00", "close_time": "14:00"},
        *(
            {"day_id": day, "open_time": o, "close_time": c}
            for day in range(1, 6)
            for o, c in (("08:00", "12:00"), ("13:00", "18:00"))
        ),
    ]
