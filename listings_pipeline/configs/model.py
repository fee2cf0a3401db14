"""The source config (seed 000 "suggested Pipeline Schema table design", "Sample configure step").

Unknown keys are refused (`extra="forbid"`) so a typo is an error naming the key, not a
setting silently ignored.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from listings_pipeline.importing.options import ApiOptions, WebsiteOptions, WordPressOptions
from listings_pipeline.transform.targets import validate_target

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SourceType = Literal["csv", "json", "jsonl", "xlsx", "api", "wordpress", "website"]
Action = Literal["insert", "update", "skip", "delete", "duplicate", "error", "uncertain_match"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SourceIdRule(Strict):
    """How a record's source_id is found: a source field, or a hash of normalised fields.

    The hash uses mapping targets (not source column names) so a DMO that moves from CSV to
    its WordPress API keeps the same ids (seed 000 "what if the import type changes").
    """

    field: str | None = None
    hash_of: list[str] = Field(default_factory=lambda: ["listings.name", "locations.city"])

    @field_validator("hash_of")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for target in value:
            validate_target(target)
        return value


class ImportSettings(Strict):
    format: Literal["csv", "json", "jsonl", "xlsx"] | None = None
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "auto"  # auto: UTF-8 (with or without BOM), else Latin-1
    skip_header: bool = True
    sheet: str | None = None
    records_path: str | None = None  # JSON: dotted key path to the array of records
    source_id: SourceIdRule = Field(default_factory=SourceIdRule)
    max_records_per_file: int = Field(default=5000, ge=1)
    max_bytes_per_file: int = Field(default=50_000_000, ge=1024)
    imported_by: str = "0"  # seed: 0 for the pipeline system
    api: ApiOptions | None = None
    wordpress: WordPressOptions | None = None
    website: WebsiteOptions | None = None


class TransformSettings(Strict):
    map_fields: dict[str, str]
    normalize_fields: list[str] = Field(default_factory=list)
    value_maps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    list_delimiter: str = ","
    round_lat_lng: int = Field(default=6, ge=0, le=8)
    default_country: str | None = None

    @field_validator("map_fields")
    @classmethod
    def _map_targets(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("map_fields must map at least listings.name")
        for target in value:
            validate_target(target)
        if "listings.name" not in value:
            raise ValueError("map_fields must map listings.name")
        return value

    @field_validator("normalize_fields")
    @classmethod
    def _normalize_targets(cls, value: list[str]) -> list[str]:
        for target in value:
            validate_target(target)
        return value


class ValidationSettings(Strict):
    required_fields: list[str] = Field(default_factory=lambda: ["listings.name"])
    data_types: dict[str, str] = Field(default_factory=dict)
    business_rules: dict[str, Any] = Field(default_factory=dict)
    quality_scoring: dict[str, Any] = Field(default_factory=dict)

    @field_validator("required_fields")
    @classmethod
    def _required_targets(cls, value: list[str]) -> list[str]:
        for target in value:
            validate_target(target)
        return value


class ReviewSettings(Strict):
    """Which kinds of change a person must approve; everything else is approved automatically."""

    require_review: list[Action] = Field(
        default_factory=lambda: ["delete", "duplicate", "error", "uncertain_match"]
    )


class GracePeriod(Strict):
    """Seed 002 removal after a grace period: a listing missing from the source is proposed for
    deletion only once it was absent from `imports` consecutive complete imports and last seen
    at least `days` days ago (both must hold)."""

    imports: int = Field(default=1, ge=1)
    days: int = Field(default=0, ge=0)


class ClaimedRecords(Strict):
    """Seed 003: what the source may still change in a record a person claimed (listings.claimed,
    or any of its rows edited in production). Fields a person edited are never overwritten
    without a reviewer's force_overwrite, whatever the policy.

    source_wins: every field except the edited ones (the default);
    selective: only `fields` (e.g. listings.listing_status, locations.lat, locations.lng);
    skip: nothing.
    """

    policy: Literal["source_wins", "selective", "skip"] = "source_wins"
    fields: list[str] = Field(default_factory=list)

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        from listings_pipeline.promotion.policy import CLAIMABLE_FIELDS

        for name in value:
            if name not in CLAIMABLE_FIELDS:
                raise ValueError(
                    f"claimed_records field {name!r} is not a production field the source"
                    f" writes; expected one of {', '.join(sorted(CLAIMABLE_FIELDS))}"
                )
        return value

    @model_validator(mode="after")
    def _selective_needs_fields(self) -> ClaimedRecords:
        if self.policy == "selective" and not self.fields:
            raise ValueError("claimed_records policy 'selective' needs the list of fields")
        return self


class Expiry(Strict):
    """Seed 004 expiry: a listing whose every opening date range ended more than `after_days`
    days ago is archived (listing_status 'archived', hidden); new dates bring it back."""

    field: Literal["opening_dates.end_date"] = "opening_dates.end_date"
    after_days: int = Field(default=0, ge=0)


class PromotionSettings(Strict):
    merge_policy: Literal["latest_wins", "skip_if_exists", "field_level_merge"] = "latest_wins"
    update_bridge_table: bool = True
    on_missing: Literal["soft_delete", "flag_only"] = "soft_delete"
    grace_period: GracePeriod = Field(default_factory=GracePeriod)
    claimed_records: ClaimedRecords = Field(default_factory=ClaimedRecords)
    expiry: Expiry | None = None


class SourceConfig(Strict):
    slug: str
    dmo_id: int = Field(ge=1)
    dmo_name: str
    name: str
    data_domain: str = "listings"
    source_type: SourceType
    source_url: str | None = None
    schedule: str | None = None  # cron
    active: bool = True
    import_: ImportSettings = Field(default_factory=ImportSettings, alias="import")
    transform: TransformSettings
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    promotion: PromotionSettings = Field(default_factory=PromotionSettings)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(
                "slug must be 1-63 characters of a-z, 0-9, '_' or '-', starting with a letter"
                " or digit (it is the Dagster partition key)"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from listings_pipeline.orchestration.schedules import cron_problem

        problem = cron_problem(value)
        if problem is not None:
            raise ValueError(f"schedule {value!r} {problem}")
        return value

    @model_validator(mode="after")
    def _format(self) -> SourceConfig:
        if self.import_.format is None and self.source_type in ("csv", "json", "jsonl", "xlsx"):
            self.import_.format = self.source_type  # type: ignore[assignment]
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
