"""Field mapping (seed 000 3a): flat targets, nested paths, numbered child fields, lists,
value maps, weekday ranges, and fields the source never has."""

from __future__ import annotations

from listings_pipeline.configs import SourceConfig
from listings_pipeline.configs.model import TransformSettings
from listings_pipeline.transform.mapping import Mapper
from listings_pipeline.transform.normalize import normalize_row


def mapper(map_fields: dict[str, str], **transform: object) -> Mapper:
    return Mapper(
        SourceConfig.model_validate(
            {
                "slug": "m",
                "dmo_id": 1,
                "dmo_name": "D",
                "name": "n",
                "source_type": "json",
                "transform": {"map_fields": map_fields, **transform},
            }
        )
    )


def test_nested_paths_numbered_fields_and_lists() -> None:
    m = mapper(
        {
            "listings.name": "title.rendered",
            "locations.address1": "location.address",
            "listing_images.image_1": "Image1",
            "listing_images.image_2": "Image2",
            "listing_images.images": "gallery",
            "opening_dates.start_date_1": "StartDate1",
            "opening_dates.end_date_1": "EndDate1",
            "opening_hours.mon": "hours.Monday",
            "opening_hours.tue_open": "TueOpen",
            "opening_hours.tue_close": "TueClose",
            "opening_hours.sun": "hours.Sunday",
            "bridge_attributes_listings.attributes": "Tags",
            "bridge_attributes_listings.attribute_1": "Attribute1",
        }
    )
    row = m.map_record(
        {
            "title": {"rendered": "  Harbour Inn "},
            "location": {"address": "12 Water St."},
            "Image1": "http://x/1.jpg",
            "Image2": "",
            "gallery": ["http://x/3.jpg", "http://x/4.jpg"],
            "StartDate1": "2026-05-01",
            "EndDate1": "2026-10-31",
            "hours": {"Monday": "09:00 - 17:00", "Sunday": "Closed"},
            "TueOpen": "10:00",
            "TueClose": "16:00",
            "Tags": "Tours, Breweries, Pizza",
            "Attribute1": "Pet friendly",
        }
    )
    assert row["listing_name"] == "Harbour Inn"
    assert row["loc_address1"] == "12 Water St."
    assert row["images"] == ["http://x/1.jpg", "http://x/3.jpg", "http://x/4.jpg"]
    assert row["dates"] == [{"start_date": "2026-05-01", "end_date": "2026-10-31"}]
    # A day's range goes to the normaliser as the source wrote it (it reads 9-5, several
    # ranges, "Closed"); separate open/close fields stay separate.
    assert row["hours"] == [
        {"day_id": 1, "range": "09:00 - 17:00"},
        {"day_id": 2, "open_time": "10:00", "close_time": "16:00"},
        {"day_id": 7, "range": "Closed"},
    ]
    normalize_row(row, TransformSettings(map_fields={"listings.name": "Name"}))
    assert row["hours"] == [
        {"day_id": 1, "open_time": "09:00", "close_time": "17:00"},
        {"day_id": 2, "open_time": "10:00", "close_time": "16:00"},
    ]
    assert row["attributes"] == ["Pet friendly", "Tours", "Breweries", "Pizza"]


def test_value_maps_and_missing_fields_reported_once() -> None:
    m = mapper(
        {"listings.name": "Name", "listings.listing_visible": "Visible", "locations.zip": "Zip"},
        value_maps={"listings.listing_visible": {"Yes": True, "No": False}},
    )
    rows = [m.map_record({"Name": f"P{i}", "Visible": "No"}) for i in range(3)]
    assert [r["listing_visible"] for r in rows] == [False, False, False]
    assert m.missing_sources() == ["Zip"]  # one report per job, not per row
