"""Validation with severities (seed 000 3g, "Validation"): required fields, data types,
business rules, and a quality score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from listings_pipeline.configs.model import ValidationSettings
from listings_pipeline.transform.issues import Issue
from listings_pipeline.transform.targets import FLAT_TARGETS

_COMPLETENESS = (
    "listing_name",
    "loc_address1",
    "loc_city",
    "listing_info_description",
    "ci_email",
    "ci_local_phone",
    "loc_lat",
    "loc_lng",
)


@dataclass
class ValidationResult:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    quality_score: float = 0.0


def validate_row(row: dict[str, Any], settings: ValidationSettings) -> ValidationResult:
    result = ValidationResult()
    for target in settings.required_fields:
        column = FLAT_TARGETS.get(target)
        if column is not None and row.get(column) in (None, ""):
            result.errors.append(Issue(target, None, "required field is empty"))
    lat, lng = row.get("loc_lat"), row.get("loc_lng")
    if lat is not None and not -90 <= lat <= 90:
        result.errors.append(Issue("locations.lat", lat, "latitude out of range -90..90"))
    if lng is not None and not -180 <= lng <= 180:
        result.errors.append(Issue("locations.lng", lng, "longitude out of range -180..180"))
    filled = sum(1 for c in _COMPLETENESS if row.get(c) not in (None, ""))
    completeness = filled / len(_COMPLETENESS)
    validity = 0.0 if result.errors else 1.0
    result.quality_score = round(100 * (0.6 * completeness + 0.4 * validity), 2)
    return result
