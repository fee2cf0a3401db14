"""The mapping-target vocabulary: `table.column` names a config may map a source field to.

One place decides which targets exist and which stage column (or collection) each fills.
"""

from __future__ import annotations

import re

# table.column → stage.listings_flat column
FLAT_TARGETS: dict[str, str] = {
    "listings.name": "listing_name",
    "listings.google_place_id": "listing_google_place_id",
    "listings.listing_status": "listing_status",
    "listings.listing_visible": "listing_visible",
    "listing_info.description": "listing_info_description",
    "listing_info.info_status": "info_status",
    "listing_info.info_visible": "info_visible",
    "contact_info.name": "ci_name",
    "contact_info.email": "ci_email",
    "contact_info.local_phone": "ci_local_phone",
    "contact_info.international_phone": "ci_international_phone",
    "contact_info.website_url": "ci_website_url",
    "contact_info.socials": "ci_socials",
    "locations.address1": "loc_address1",
    "locations.address2": "loc_address2",
    "locations.region": "loc_region",
    "locations.city": "loc_city",
    "locations.state": "loc_state",
    "locations.zip": "loc_zip",
    "locations.country": "loc_country",
    "locations.lat": "loc_lat",
    "locations.lng": "loc_lng",
    "stage.source_url": "source_url",
    "stage.source_identifier": "source_identifier",
}

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Numbered fields that become child rows, and whole lists (delimited text or JSON arrays).
NUMBERED = {
    "listing_images": re.compile(r"^image_(\d+)$"),
    "opening_dates": re.compile(r"^(start_date|end_date)_(\d+)$"),
    # mon_open / mon_close, or mon for a whole range such as "09:00-17:00" (or "closed")
    "opening_hours": re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(?:_(open|close))?$"),
    "bridge_attributes_listings": re.compile(r"^attribute_(\d+)$"),
}
LIST_TARGETS = {"listing_images.images", "bridge_attributes_listings.attributes"}
# A whole week's opening hours in one text ("Mo-Fr 09:00-17:00; Sa 10:00-14:00").
WEEK_TARGET = "opening_hours.week"


def validate_target(target: str) -> str:
    """Return `target` if a config may map to it, else raise ValueError naming it."""
    if target in FLAT_TARGETS or target in LIST_TARGETS or target == WEEK_TARGET:
        return target
    table, _, column = target.partition(".")
    pattern = NUMBERED.get(table)
    if pattern is not None and pattern.match(column):
        return target
    raise ValueError(
        f"unknown mapping target {target!r}; expected one of the table.column names in the"
        " README's config reference (e.g. listings.name, locations.city, listing_images.image_1)"
    )
