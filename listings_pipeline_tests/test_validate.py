"""Validating normalised rows: rules from the config, severities, quality score."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from listings_pipeline.configs.model import TransformSettings, ValidationSettings
from listings_pipeline.transform.issues import format_issues
from listings_pipeline.transform.normalize import normalize_row
from listings_pipeline.transform.validate import ValidationResult, validate_row


def complete_row() -> dict[str, Any]:
    """A normalised row with every field the default quality score looks at."""
    return {
        "listing_name": "Harbourview Inn",
        "listing_info_description": "Rooms by the water.",
        "loc_address1": "12 Water Street",
        "loc_city": "Halifax",
        "loc_country": "CA",
        "loc_lat": Decimal("44.648812"),
        "loc_lng": Decimal("-63.575246"),
        "ci_email": "info@harbourview.ca",
        "ci_local_phone": "(902) 555-0101",
        "ci_international_phone": "+19025550101",
        "ci_website_url": "https://harbourview.ca/",
        "listing_status": "active",
        "listing_visible": True,
        "images": ["https://img.example.com/a.jpg"],
        "dates": [{"start_date": "2025-05-01", "end_date": "2025-10-31"}],
        "hours": [{"day_id": 1, "open_time": "09:00", "close_time": "17:00"}],
        "attributes": ["Pet friendly"],
    }


def check(row: dict[str, Any], **settings: Any) -> ValidationResult:
    return validate_row(row, ValidationSettings(**settings))


def lines(result: ValidationResult) -> tuple[list[str], list[str]]:
    return [str(i) for i in result.errors], [str(i) for i in result.warnings]


def test_complete_row_is_valid_with_full_score() -> None:
    result = check(complete_row())
    assert result.ok and result.warnings == []
    assert result.quality_score == Decimal("100.00")


def test_required_fields_name_the_target() -> None:
    row = complete_row() | {"loc_city": None, "images": []}
    result = check(
        row, required_fields=["listings.name", "locations.city", "listing_images.images"]
    )
    assert lines(result) == (
        ["locations.city: required but empty", "listing_images.images: required but empty"],
        [],
    )
    assert not result.ok


def test_type_checks() -> None:
    row = complete_row() | {
        "ci_email": "info@harbourview",
        "ci_website_url": "ftp://harbourview.ca",
        "ci_international_phone": "9025550101",
        "loc_country": "Canada",
        "listing_status": "open",
        "images": ["https://img.example.com/a.jpg", "not a url"],
        "dates": [{"start_date": "2025-02-30", "end_date": None}],
        "hours": [{"day_id": 8, "open_time": "9:00", "close_time": "17:00"}],
    }
    expected = [
        "contact_info.email: not an email address ('info@harbourview')",
        "contact_info.international_phone: not an international phone number"
        " (+ and 7-15 digits) ('9025550101')",
        "contact_info.website_url: not a web address (http/https) ('ftp://harbourview.ca')",
        "listing_images.image_2: not a web address (http/https) ('not a url')",
        "locations.country: not an ISO 3166-1 alpha-2 country code ('Canada')",
        "listings.listing_status: not a status (active, inactive, missing_from_import) ('open')",
        "opening_dates.start_date_1: not a date (YYYY-MM-DD) ('2025-02-30')",
        "opening_hours.day: day_id must be 1 (Mon)-7 (Sun) (8)",
        "opening_hours.day_open: not a time of day (HH:MM) ('9:00')",
    ]
    # A value that cannot be read is a warning unless the config raises its rule.
    assert lines(check(row)) == ([], expected)
    raised = dict.fromkeys(("email", "phone", "url", "country", "status", "date", "time"), "error")
    assert lines(check(row, severities=raised)) == (expected, [])


def test_cross_field_rules() -> None:
    row = complete_row() | {
        "dates": [{"start_date": "2025-10-31", "end_date": "2025-05-01"}],
        "hours": [{"day_id": 5, "open_time": "18:00", "close_time": "02:00"}],
        "loc_lng": None,
    }
    errors, warnings = lines(check(row))
    assert errors == ["opening_dates.end_date_1: before the start date 2025-10-31 ('2025-05-01')"]
    # 18:00-02:00 closes past midnight: not a problem.
    assert warnings == ["locations.lng: missing while the other coordinate is set"]
    row = complete_row() | {"hours": [{"day_id": 5, "open_time": "17:00", "close_time": "09:00"}]}
    assert lines(check(row))[1] == [
        "opening_hours.fri_close: closes before it opens at 17:00 ('09:00')"
    ]
    row = complete_row() | {"loc_lat": Decimal(0), "loc_lng": Decimal(0)}
    assert lines(check(row))[1] == [
        "locations.lat: lat/lng 0,0 is almost always a placeholder ('0,0')"
    ]


def test_business_rules_from_config() -> None:
    rules = {
        "lat_bounds": [40, 50],
        "dmo_geographic_bounds": {"min_lat": 45, "max_lat": 47.5, "min_lng": -65, "max_lng": -61},
        "forbidden_categories": ["Casino"],
        "patterns": {"locations.zip": r"^[A-Z]\d[A-Z] \d[A-Z]\d$"},
    }
    row = complete_row() | {"attributes": ["Pet friendly", "casino "], "loc_zip": "B3H4R2"}
    errors, _ = lines(check(row, business_rules=rules))
    assert errors == [
        "locations.lat: outside the DMO's area (lat 45..47.5, lng -65..-61) ('44.6488,-63.5752')",
        "bridge_attributes_listings.attribute_2: a forbidden category ('casino ')",
        "locations.zip: does not match '^[A-Z]\\\\d[A-Z] \\\\d[A-Z]\\\\d$' ('B3H4R2')",
    ]
    row = complete_row() | {"loc_lat": Decimal("39.5")}
    outside = ["locations.lat: not a number within 40..50 (Decimal('39.5'))"]
    assert lines(check(row, business_rules=rules))[1] == outside
    raised = check(row, business_rules=rules, severities={"lat_lng": "error"})
    assert lines(raised)[0] == outside
    allowed = {"allowed_categories": ["Pet friendly", "Wifi"]}
    row = complete_row() | {"attributes": ["Wifi", "Spa"]}
    assert lines(check(row, business_rules=allowed))[0] == [
        "bridge_attributes_listings.attribute_2: not an allowed category ('Spa')"
    ]


def test_severities_are_configurable() -> None:
    row = complete_row() | {"ci_email": "nope", "ci_website_url": "nope"}
    result = check(row, severities={"email": "warning", "url": "off"})
    assert lines(result) == ([], ["contact_info.email: not an email address ('nope')"])
    assert result.ok
    assert result.warnings[0].severity == "warning"


def test_data_types_from_config() -> None:
    row = complete_row() | {"loc_zip": "B3H 4R2", "listing_google_place_id": "ChIJ123"}
    result = check(row, data_types={"locations.zip": "integer", "locations.lat": "numeric"})
    assert lines(result)[0] == ["locations.zip: not a whole number ('B3H 4R2')"]


def test_normalize_issues_follow_config_and_are_not_reported_twice() -> None:
    transform = TransformSettings(map_fields={"listings.name": "Name"}, default_country="CA")
    row = complete_row() | {"loc_city": "Halifax", "loc_lat": "abc", "ci_local_phone": "CALL US"}
    row.pop("ci_international_phone")
    found = normalize_row(row, transform)
    settings = ValidationSettings(
        required_fields=["listings.name", "locations.lat"], severities={"phone": "warning"}
    )
    result = validate_row(row, settings, found)
    # The unreadable value is a warning; the field being required makes the row an error.
    assert lines(result) == (
        ["locations.lat: required, and its value could not be read"],
        [
            "locations.lat: not a latitude ('abc')",
            "contact_info.local_phone: not a phone number (has letters) ('CALL US')",
        ],
    )
    assert (
        format_issues(result.errors) == "locations.lat: required, and its value could not be read"
    )
    assert row["unparsed_values"] == {"locations.lat": "abc", "contact_info.local_phone": "CALL US"}
    assert format_issues([]) is None


def test_quality_score() -> None:
    sparse = {"listing_name": "Harbourview Inn", "loc_city": "Halifax"}
    result = check(sparse)
    # completeness 0.20 of 1.0 (name .15 + city .05), accuracy and consistency perfect
    assert result.quality_score == Decimal("68.00")
    bad = complete_row() | {"ci_email": "nope", "ci_website_url": "nope"}
    assert check(bad).quality_score < Decimal("100")
    weights = {"weights": {"completeness": 1, "accuracy": 0, "consistency": 0}}
    assert check(sparse, quality_scoring=weights).quality_score == Decimal("20.00")
    assert check(sparse, quality_scoring={"enabled": False}).quality_score is None
    low = check(sparse, quality_scoring={"min_score": 80})
    assert lines(low) == ([], ["quality_score: quality score below 80 (Decimal('68.00'))"])


def test_seed_sample_validation_config_is_accepted() -> None:
    settings = ValidationSettings.model_validate(
        {
            "data_types": {"locations.lat": "numeric", "contact_info.email": "email",
                           "contact_info.local_phone": "phone"},
            "required_fields": ["listings.name", "locations.address1", "locations.city"],
            "business_rules": {
                "lat_bounds": [-90, 90],
                "lng_bounds": [-180, 180],
                "dmo_geographic_bounds": {"min_lat": 40.0, "max_lat": 45.0, "min_lng": -80.0,
                                          "max_lng": -70.0},
            },
            "quality_scoring": {"enabled": True, "weights": {"completeness": 0.4,
                                                             "accuracy": 0.3,
                                                             "consistency": 0.3}},
        }
    )  # fmt: skip
    result = validate_row(complete_row(), settings)
    assert [str(i) for i in result.errors] == [
        "locations.lat: outside the DMO's area (lat 40..45, lng -80..-70) ('44.6488,-63.5752')"
    ]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"severities": {"emial": "warning"}}, "unknown rule 'emial'"),
        ({"severities": {"email": "fatal"}}, "Input should be 'error', 'warning' or 'off'"),
        ({"required_fields": ["listings.colour"]}, "unknown mapping target 'listings.colour'"),
        ({"data_types": {"locations.zip": "postcode"}}, "Input should be 'numeric'"),
        ({"business_rules": {"patterns": {"locations.zip": "("}}}, "not a valid regular"),
        (
            {"business_rules": {"dmo_geographic_bounds": {"min_lat": 50, "max_lat": 40,
                                                          "min_lng": 0, "max_lng": 1}}},
            "must not be above",
        ),
    ],
)  # fmt: skip
def test_bad_validation_config_is_named(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ValidationSettings.model_validate(settings)
