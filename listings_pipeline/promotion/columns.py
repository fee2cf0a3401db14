"""The columns each production table takes from a source, listed once (promotion's policies
and the config model's `claimed_records` check both read them)."""

from __future__ import annotations

# Production table → the columns promotion writes from the source (collections by name).
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "listings": ("name", "google_place_id", "listing_status", "listing_visible", "attributes"),
    "locations": (
        "address1", "address2", "region", "city", "state", "zip", "country", "lat", "lng",
    ),
    "listing_info": (
        "description", "info_status", "info_visible", "images", "opening_dates", "opening_hours",
    ),
    "contact_info": (
        "name", "email", "local_phone", "international_phone", "website_url", "socials",
    ),
}  # fmt: skip

# Config names (the mapping-target vocabulary; collections by their table) → (table, column).
COLLECTIONS = {
    "listing_images": ("listing_info", "images"),
    "opening_dates": ("listing_info", "opening_dates"),
    "opening_hours": ("listing_info", "opening_hours"),
    "bridge_attributes_listings": ("listings", "attributes"),
}
CLAIMABLE_FIELDS: dict[str, tuple[str, str]] = {
    **{
        f"{table}.{column}": (table, column)
        for table, columns in SOURCE_COLUMNS.items()
        for column in columns
        if (table, column) not in COLLECTIONS.values()
    },
    **COLLECTIONS,
}
