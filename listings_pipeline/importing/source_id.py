"""source_id per seed 000: a configured source field, or a deterministic hash of the DMO and
normalised fields, so the same place keeps its id when a DMO changes import type."""

from __future__ import annotations

import hashlib
from typing import Any

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.records import get_path, normalize_key


class SourceIdError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SourceIdRule:
    """Compiled from a config once; `__call__` gives one record's source_id."""

    def __init__(self, config: SourceConfig) -> None:
        rule = config.import_.source_id
        self.dmo_id = config.dmo_id
        self.field = rule.field
        mapping = config.transform.map_fields
        missing = [t for t in rule.hash_of if t not in mapping]
        if self.field is None and missing:
            raise ValueError(
                f"import.source_id.hash_of names {missing}, which transform.map_fields does not map"
            )
        # (target, source field) pairs: targets keep ids stable across source types. With a
        # source field the hash is not used, so unmapped hash_of targets do not matter.
        self.hash_fields = [(t, mapping[t]) for t in rule.hash_of if t in mapping]

    def __call__(self, record: dict[str, Any]) -> str:
        if self.field is not None:
            value = get_path(record, self.field)
            if value is None or str(value).strip() == "":
                raise SourceIdError(
                    self.field, f"source_id field {self.field!r} is missing or empty"
                )
            return str(value).strip()
        parts = [str(self.dmo_id)]
        for target, source_field in self.hash_fields:
            value = normalize_key(get_path(record, source_field))
            if target == "listings.name" and not value:
                raise SourceIdError(source_field, f"{source_field!r} (listings.name) is empty")
            parts.append(value)
        return hashlib.sha1("|".join(parts).encode()).hexdigest()
