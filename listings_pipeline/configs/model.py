"""The source config (seed 000 "suggested Pipeline Schema table design", "Sample configure step").

Unknown keys are refused (`extra="forbid"`) so a typo is an error naming the key, not a
setting silently ignored.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from listings_pipeline.configs.cron import cron_problem
from listings_pipeline.importing.options import ApiOptions, WebsiteOptions, WordPressOptions
from listings_pipeline.promotion.columns import CLAIMABLE_FIELDS
from listings_pipeline.transform.fields import COLLECTION_TARGETS
from listings_pipeline.transform.targets import FLAT_TARGETS, LIST_TARGETS, validate_target

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


class LimitSettings(Strict):
    """Per-config overrides of the input limits (importing/limits.py has the defaults, the
    LISTINGS_MAX_* settings override those); unset keys keep the setting."""

    max_depth: int | None = Field(default=None, ge=2, le=200)  # json's recursion stays safe
    max_record_bytes: int | None = Field(default=None, ge=1024)
    max_field_bytes: int | None = Field(default=None, ge=64)
    max_decompressed_bytes: int | None = Field(default=None, ge=1024)
    max_compression_ratio: int | None = Field(default=None, ge=2)
    max_errors: int | None = Field(default=None, ge=1)


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
    limits: LimitSettings = Field(default_factory=LimitSettings)


class GeocodeSettings(Strict):
    """Geocoding of rows without lat/lng (the provider itself is chosen by LISTINGS_GEOCODER)."""

    enabled: bool = True
    # A street address is needed: a city alone would place the listing at the city centre.
    require_address1: bool = True


class MatchingSettings(Strict):
    """Fuzzy matching of rows that neither the bridge table nor the match hash linked.

    Candidates come from blocking keys; a Fellegi-Sunter model estimated per pair of sources
    gives each the probability that it is the same place. A wrong automatic link is worse than
    a missed one: below `auto_threshold`, or with a second candidate within `min_margin`, the
    best candidate is only suggested for review (from `suggest_threshold` up).
    """

    enabled: bool = True
    auto_threshold: float = Field(default=0.99, ge=0, le=1)  # match probability
    suggest_threshold: float = Field(default=0.2, ge=0, le=1)
    min_margin: float = Field(default=0.05, ge=0, le=1)
    # ... unless the best is this many bits (2^bits times) more likely than the second: near 1,
    # probabilities cannot tell a branch at the same address and phone from one across town.
    min_margin_bits: float = Field(default=10, gt=0)
    # Below this name level no automatic link, whatever else agrees: two businesses in one
    # building share address, coordinates and sometimes phone (levels: 0 different, 1 shares
    # a word, 2 similar, 3 one name within the other, 4 same).
    auto_min_name_level: int = Field(default=2, ge=0, le=4)
    # A blocking key (name word, postcode, grid cell, phone...) that more listings or rows
    # than this share finds no candidates: a placeholder or a chain's name is no evidence.
    max_block_size: int = Field(default=50, ge=1)
    max_candidates: int = Field(default=20, ge=1)  # per row, those sharing most keys
    # Of those sharing only a grid cell or a postcode (neighbours, mostly): the nearest N.
    max_weak_candidates: int = Field(default=5, ge=0)
    far_distance_m: float = Field(default=1000, gt=0)  # farther: never an automatic link
    # Farther than this (and up to far_distance_m) only when the phone agrees too: points that
    # far apart contradict an address, and a postcode or a name cannot settle it.
    phone_distance_m: float = Field(default=500, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> MatchingSettings:
        if self.suggest_threshold > self.auto_threshold:
            raise ValueError("suggest_threshold must not be above auto_threshold")
        return self


class TransformSettings(Strict):
    map_fields: dict[str, str]
    normalize_fields: list[str] = Field(default_factory=list)
    value_maps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    list_delimiter: str = ","
    round_lat_lng: int = Field(default=6, ge=0, le=8)
    default_country: str | None = None  # ISO alpha-2 (or a name): phone region, geocoding
    # How to read an ambiguous numeric date such as 03/04/2025 (ISO dates are always read).
    date_order: Literal["mdy", "dmy"] = "mdy"
    letter_case: dict[str, Literal["lower", "upper", "title"]] = Field(default_factory=dict)
    url_default_scheme: Literal["https", "http"] = "https"
    geocode: GeocodeSettings = Field(default_factory=GeocodeSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)

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

    @field_validator("letter_case")
    @classmethod
    def _case_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value:
            validate_target(target)
        return value

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from listings_pipeline.transform.countries import country_code

        code = country_code(value)
        if code is None:
            raise ValueError(f"unknown country {value!r}; use an ISO 3166-1 code such as CA")
        return code


Severity = Literal["error", "warning", "off"]
DataType = Literal["numeric", "integer", "email", "phone", "url", "date", "time", "boolean"]
# Validation rules whose severity a config may change (README "Validation rules").
# A value that cannot be read (a phone, a date, an email...) is a warning: the row goes on with
# that field empty and the source value kept beside it (stage unparsed_values). Errors are for
# required fields and the rules a config writes itself (data_types, patterns, bounds,
# categories), and for any rule `validation.severities` raises to error.
RULES: dict[str, Severity] = {
    "required": "error",  # a required field is empty (or its value could not be read)
    "lat_lng": "warning",  # lat/lng not a number or outside lat_bounds / lng_bounds
    "lat_lng_pair": "warning",  # only one of lat and lng
    "lat_lng_zero": "warning",  # 0,0: almost always a placeholder
    "email": "warning",
    "phone": "warning",
    "url": "warning",
    "date": "warning",  # not a date
    "date_range": "error",  # end before start
    "time": "warning",  # not a time of day or opening hours, or day_id not 1-7
    "hours_order": "warning",  # closes before it opens (and not in the small hours)
    "country": "warning",  # not an ISO 3166-1 country
    "status": "warning",  # not in the status vocabulary
    "boolean": "warning",
    "nested": "warning",  # a nested object or list where a single value is expected
    "data_type": "error",  # a value does not fit validation.data_types
    "pattern": "error",  # business_rules.patterns
    "dmo_geographic_bounds": "error",
    "allowed_categories": "error",
    "forbidden_categories": "error",
    "quality_score": "warning",  # below quality_scoring.min_score
}


class GeographicBounds(Strict):
    min_lat: float = Field(ge=-90, le=90)
    max_lat: float = Field(ge=-90, le=90)
    min_lng: float = Field(ge=-180, le=180)
    max_lng: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> GeographicBounds:
        if self.min_lat > self.max_lat or self.min_lng > self.max_lng:
            raise ValueError("min_lat/min_lng must not be above max_lat/max_lng")
        return self


class BusinessRules(Strict):
    lat_bounds: tuple[float, float] = (-90.0, 90.0)
    lng_bounds: tuple[float, float] = (-180.0, 180.0)
    dmo_geographic_bounds: GeographicBounds | None = None
    # Attributes (categories): if allowed is set, every attribute must be in it.
    allowed_categories: list[str] | None = None
    forbidden_categories: list[str] = Field(default_factory=list)
    patterns: dict[str, str] = Field(default_factory=dict)  # target -> regular expression

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for target, pattern in value.items():
            if target not in FLAT_TARGETS and target not in LIST_TARGETS:
                raise ValueError(
                    f"{target}: patterns apply to text fields and image/attribute lists"
                )
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"{target}: not a valid regular expression: {err}") from err
        return value


class QualityWeights(Strict):
    completeness: float = Field(default=0.4, ge=0)
    accuracy: float = Field(default=0.3, ge=0)
    consistency: float = Field(default=0.3, ge=0)


def _default_completeness_fields() -> dict[str, float]:
    return {
        "listings.name": 0.15,
        "listing_info.description": 0.15,
        "locations.address1": 0.1,
        "locations.city": 0.05,
        "locations.lat": 0.1,
        "contact_info.international_phone": 0.1,
        "contact_info.email": 0.05,
        "contact_info.website_url": 0.1,
        "listing_images.images": 0.1,
        "opening_hours.hours": 0.05,
        "bridge_attributes_listings.attributes": 0.05,
    }


class QualityScoring(Strict):
    """Quality score 0-100: weighted completeness, accuracy (values that passed their checks)
    and consistency (cross-field checks: date ranges, hours, lat/lng pair, bounds)."""

    enabled: bool = True
    weights: QualityWeights = Field(default_factory=QualityWeights)
    completeness_fields: dict[str, float] = Field(default_factory=_default_completeness_fields)
    min_score: float | None = Field(default=None, ge=0, le=100)

    @field_validator("completeness_fields")
    @classmethod
    def _fields(cls, value: dict[str, float]) -> dict[str, float]:
        for target, weight in value.items():
            if target not in COLLECTION_TARGETS:
                validate_target(target)
            if weight < 0:
                raise ValueError(f"{target}: weight must not be negative")
        return value


class ValidationSettings(Strict):
    required_fields: list[str] = Field(default_factory=lambda: ["listings.name"])
    data_types: dict[str, DataType] = Field(default_factory=dict)
    business_rules: BusinessRules = Field(default_factory=BusinessRules)
    quality_scoring: QualityScoring = Field(default_factory=QualityScoring)
    severities: dict[str, Severity] = Field(default_factory=dict)

    @field_validator("required_fields")
    @classmethod
    def _required_targets(cls, value: list[str]) -> list[str]:
        for target in value:
            if target not in COLLECTION_TARGETS:
                validate_target(target)
        return value

    @field_validator("data_types")
    @classmethod
    def _typed_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value:
            if target not in FLAT_TARGETS:
                validate_target(target)
                raise ValueError(f"{target}: data_types apply to single-value fields only")
        return value

    @field_validator("severities")
    @classmethod
    def _rules(cls, value: dict[str, str]) -> dict[str, str]:
        for rule in value:
            if rule not in RULES:
                raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
        return value

    def severity(self, rule: str) -> Severity:
        return self.severities.get(rule) or RULES.get(rule, "error")


class SourceChangeSettings(Strict):
    """When a job's source looks changed against its previous completed import (issue 15).

    A mapped field is *missing* when no record has it, *emptied* when its filled share falls
    below (1 - max_filled_drop) of what it was, for fields filled in at least
    `min_filled_share` of the records before; *far fewer records* is fewer than
    (1 - max_records_drop) of the previous count. Checked only when the previous import had at
    least `min_records` records (smaller sources vary too much for shares to mean anything).
    """

    min_records: int = Field(default=20, ge=1)
    max_records_drop: float = Field(default=0.5, gt=0, le=1)
    min_filled_share: float = Field(default=0.2, ge=0, le=1)
    max_filled_drop: float = Field(default=0.5, gt=0, le=1)


class MassChangeSettings(Strict):
    """The circuit breaker: a job that would clear values of, or delete, more than `max_share`
    of the source's listings is held whatever the review policy says (sources with fewer than
    `min_listings` listings are not judged by share; max_share 1 turns it off)."""

    max_share: float = Field(default=0.2, gt=0, le=1)
    min_listings: int = Field(default=20, ge=1)


class ReviewSettings(Strict):
    """Which kinds of change a person must approve; everything else is approved automatically.
    A source change (see SourceChangeSettings) holds the job (`hold`), fails it (`fail`), or is
    accepted with what it clears (`accept`)."""

    require_review: list[Action] = Field(
        default_factory=lambda: ["delete", "duplicate", "error", "uncertain_match"]
    )
    on_source_change: Literal["hold", "fail", "accept"] = "hold"
    source_change: SourceChangeSettings = Field(default_factory=SourceChangeSettings)
    mass_change: MassChangeSettings = Field(default_factory=MassChangeSettings)
    # A job whose records' average quality score (validation.quality_scoring) is below this
    # stops at the gate with a `quality` hold until a person accepts or rejects it.
    min_average_quality: float | None = Field(default=None, ge=0, le=100)


class GracePeriod(Strict):
    """Seed 002 removal after a grace period: a listing missing from the source is proposed for
    deletion only once it was absent from `imports` consecutive complete imports and last seen
    at least `days` days ago (both must hold)."""

    imports: int = Field(default=1, ge=1)
    days: int = Field(default=0, ge=0)


# Seed 003: a claimed record still takes "price/status/coordinates" from its source; a
# tourism listing has no price, and its status includes whether it is shown.
SEED_CLAIM_FIELDS = (
    "listings.listing_status",
    "listings.listing_visible",
    "locations.lat",
    "locations.lng",
)


class ClaimedRecords(Strict):
    """Seed 003: what the source may still change in a record a person claimed (listings.claimed,
    set by `listings-pipeline listings claim` or the console). Fields a person edited are never
    overwritten without a reviewer's force_overwrite, whatever the policy; a record people own
    outright (claimed with `--own`) takes nothing from its source.

    selective: only `fields` (the default: status, visibility and coordinates, the seed's
    "selective merge");
    source_wins: every field except the edited ones;
    skip: nothing.
    """

    policy: Literal["source_wins", "selective", "skip"] = "selective"
    fields: list[str] = Field(default_factory=lambda: list(SEED_CLAIM_FIELDS))

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
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
    on_missing: Literal["soft_delete", "flag_only"] = "soft_delete"
    grace_period: GracePeriod = Field(default_factory=GracePeriod)
    claimed_records: ClaimedRecords = Field(default_factory=ClaimedRecords)
    expiry: Expiry | None = None

    @model_validator(mode="before")
    @classmethod
    def _bridge_tables(cls, data: Any) -> Any:
        # Seed 000's update_bridge_table: false would leave the source-to-listing mappings and
        # the attribute links stale while their hashes say they are current (a duplicate or a
        # wrong "unchanged" next import). Promotion always keeps them in step: `true` states
        # that and is accepted; `false` is refused rather than silently ignored.
        if isinstance(data, dict) and "update_bridge_table" in data:
            data = dict(data)
            if data.pop("update_bridge_table") is not True:
                raise ValueError(
                    "update_bridge_table: false is not supported: promotion always updates"
                    " pipeline.bridge_source_target and bridge_attributes_listings (stale"
                    " mappings would duplicate listings or hide changes); to keep a listing's"
                    " attributes, claim it or edit them (claimed_records)"
                )
        return data


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

    @field_validator("source_url")
    @classmethod
    def _local_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A local path of a file source must be under the allowed input roots (checked again,
        # symlinks resolved, when a run starts: the file system may change in between).
        file_source = info.data.get("source_type") in ("csv", "json", "jsonl", "xlsx")
        if value and file_source and "://" not in value:
            from listings_pipeline.importing.input_roots import path_problem

            if (problem := path_problem(value)) is not None:
                raise ValueError(problem)
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
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
