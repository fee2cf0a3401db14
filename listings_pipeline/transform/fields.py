"""Stage columns and the mapping targets that name them in messages and config rules."""

from __future__ import annotations

from listings_pipeline.transform.targets import FLAT_TARGETS

# stage collection column -> production table (the target prefix in configs)
COLLECTIONS: dict[str, str] = {
    "images": "listing_images",
    "dates": "opening_dates",
    "hours": "opening_hours",
    "attributes": "bridge_attributes_listings",
}
# Whole-collection names for rules about a collection ("required", quality completeness).
COLLECTION_TARGETS: dict[str, str] = {
    "listing_images.images": "images",
    "opening_dates.dates": "dates",
    "opening_hours.hours": "hours",
    "bridge_attributes_listings.attributes": "attributes",
}
_TABLE_COLLECTION = {table: column for column, table in COLLECTIONS.items()}
TARGET_OF_COLUMN: dict[str, str] = {column: target for target, column in FLAT_TARGETS.items()}
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def column_of(target: str) -> str:
    """The stage column a target fills; numbered targets (`listing_images.image_2`) name
    their collection column (`images`)."""
    column = FLAT_TARGETS.get(target) or COLLECTION_TARGETS.get(target)
    if column is not None:
        return column
    return _TABLE_COLLECTION[target.partition(".")[0]]


def target_of(column: str) -> str:
    return TARGET_OF_COLUMN.get(column) or f"{COLLECTIONS.get(column, 'stage')}.{column}"
