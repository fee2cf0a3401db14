"""JSON shapes of the console API (they document /openapi.json)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageOut(Model, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


class Me(Model):
    username: str
    permissions: list[str]
    dmos: dict[str, list[int] | None] = Field(
        default={},
        description="Per permission, the DMO ids it is held for; null: every DMO.",
    )
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on unsafe requests made with the session cookie."
    )


class Job(Model):
    id: int
    dmo_id: int
    dmo_name: str | None
    slug: str | None
    config_id: int | None
    config_version: int | None
    dagster_run_id: str | None
    input_path: str | None
    current_stage: str
    status: str | None
    error_message: str | None
    triggered_by: str | None
    trigger_type: str | None
    records_total: int | None
    records_new: int | None
    records_updated: int | None
    records_deleted: int | None
    records_duplicates: int | None
    records_unchanged: int | None
    records_failed: int | None
    records_warning: int | None
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None


class JobStage(Model):
    id: int
    name: str
    order_index: int
    status: str | None
    attempt_count: int | None
    retry_count: int | None
    next_attempt_at: datetime | None
    locked_by: str | None
    message: str | None
    result_summary: Any
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    records_total: int | None
    records_new: int | None
    records_updated: int | None
    records_deleted: int | None
    records_duplicates: int | None
    records_unchanged: int | None
    records_failed: int | None
    records_warning: int | None


class Quality(Model):
    """The quality scores (0-100) of a job's records."""

    records: int
    scored: int = Field(description="Records with a score.")
    mean: float | None
    min: float | None
    max: float | None
    quantiles: dict[str, float] = Field(description="p10, p25, p50, p75, p90.")
    histogram: list[int] = Field(description="Records per tenth: 0-10, 10-20, ... 90-100.")


class JobDetail(Job):
    stages: list[JobStage]
    action_counts: dict[str, dict[str, int]] = Field(
        description="Stage rows per entity and action (also review_status, promote_status)."
    )
    error_counts: dict[str, int] = Field(description="pipeline.job_errors rows per error_type.")
    quality: Quality


class FileInfo(Model):
    id: int
    dmo_id: int
    job_id: int | None
    stage_name: str
    file_path: str
    import_id: str
    file_seq: int
    data_domain: str
    country: str | None
    state: str | None
    file_date: date | None
    batch: int
    format: str | None
    file_size: int | None
    record_count: int | None
    first_rec_num: int | None
    file_hash: str | None
    created_at: datetime | None


class JobError(Model):
    id: int
    job_id: int
    job_stages_id: int
    stage: str | None
    file_id: int | None
    record_id: str | None
    field_name: str | None
    original_record: Any
    error_type: str | None
    error_message: str | None
    created_at: datetime | None


class StageRow(Model):
    """A row of stage.listings_flat (sql/003_stage.sql)."""

    id: int
    job_id: int
    rec_num: int | None
    file_id: int | None
    dmo_id: int
    source_id: str
    source_url: str | None
    source_identifier: str | None
    created_at: datetime | None
    updated_at: datetime | None
    imported_from: str | None
    listing_internal_id: int | None
    listing_info_internal_id: int | None
    location_internal_id: int | None
    contact_info_internal_id: int | None
    match_method: str | None
    match_score: float | None
    match_candidate_id: int | None
    duplicate_of: int | None
    listing_match_hash: str | None
    listing_content_hash: str | None
    location_content_hash: str | None
    attributes_content_hash: str | None
    listing_info_content_hash: str | None
    contact_info_content_hash: str | None
    images_content_hash: str | None
    opening_dates_content_hash: str | None
    opening_hours_content_hash: str | None
    promote_status: str | None
    promote_error: str | None
    promoted_at: datetime | None
    quality_score: float | None
    manual_review_required: bool | None
    validation_errors: str | None
    validation_warnings: str | None
    ok_to_promote: bool
    manually_modified: bool
    force_overwrite: bool
    review_status: str
    review_reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    listing_action: str | None
    listing_info_action: str | None
    location_action: str | None
    contact_info_action: str | None
    images_action: str | None
    opening_dates_action: str | None
    opening_hours_action: str | None
    attributes_action: str | None
    listing_name: str | None
    listing_google_place_id: str | None
    listing_status: str | None
    listing_visible: bool | None
    listing_info_description: str | None
    info_status: str | None
    info_visible: bool | None
    loc_address1: str | None
    loc_address2: str | None
    loc_region: str | None
    loc_city: str | None
    loc_state: str | None
    loc_zip: str | None
    loc_country: str | None
    loc_lat: float | None
    loc_lng: float | None
    loc_lat_original: float | None
    loc_lng_original: float | None
    ci_name: str | None
    ci_email: str | None
    ci_local_phone: str | None
    ci_international_phone: str | None
    ci_created_at: datetime | None
    ci_updated_at: datetime | None
    ci_website_url: str | None
    ci_socials: Any
    images: Any
    dates: Any
    hours: Any
    attributes: Any


class ListingSummary(Model):
    id: int
    name: str
    listing_status: str
    listing_visible: bool
    manually_modified: bool
    updated_at: datetime | None
    city: str | None
    state: str | None
    country: str | None
    dmo_count: int
    score: float | None = Field(description="Word similarity to the search text, when searching.")


class ListingInfo(Model):
    id: int
    dmo_id: int
    dmo_name: str
    description: str | None
    info_status: str
    info_visible: bool
    manually_modified: bool
    manually_modified_fields: list[str]
    contact_name: str | None
    contact_email: str | None
    local_phone: str | None
    international_phone: str | None
    website_url: str | None
    image_count: int
    opening_hours_count: int
    updated_at: datetime | None
    promoted_at: datetime | None


class ListingSource(Model):
    id: int
    dmo_id: int
    dmo_name: str
    source_id: str
    target_id: int | None
    target_type: str
    certainty_score: float | None
    match_method: str | None
    mapped_at: datetime | None


class ListingDetail(Model):
    id: int
    name: str
    google_place_id: str | None
    listing_status: str
    listing_visible: bool
    manually_modified: bool
    manually_modified_fields: list[str]
    created_at: datetime | None
    updated_at: datetime | None
    promoted_at: datetime | None
    claimed: bool = Field(description="A person took it over from its source (seed 003).")
    claimed_by: str | None
    claimed_at: datetime | None
    externally_managed: bool = Field(
        description="False: people own it; the source changes nothing."
    )
    origin_deleted: bool = Field(description="Deleted at the source, kept (flag only).")
    location: dict[str, Any] | None
    attributes: list[str]
    listing_info: list[ListingInfo]
    sources: list[ListingSource]


class ConfigProblem(Model):
    key: str = Field(description="Dotted key path; empty for the whole file.")
    message: str
    line: int | None


class ConfigSummary(Model):
    slug: str
    valid: bool
    name: str | None
    dmo_id: int | None
    source_type: str | None
    schedule: str | None
    active: bool | None
    problems: list[ConfigProblem]


class ConfigOut(ConfigSummary):
    yaml: str
    sha256: str = Field(description="Pass back as base_sha256 to update only this version.")
    config: dict[str, Any] | None = Field(description="The validated config with defaults.")


class ConfigIn(Model):
    """Either the YAML text of the file or the config as JSON (written out as YAML)."""

    model_config = ConfigDict(extra="forbid")

    yaml: str | None = None
    config: dict[str, Any] | None = None
    base_sha256: str | None = Field(
        default=None, description="Update/delete only if the file is still this version."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ConfigIn:
        if (self.yaml is None) == (self.config is None):
            raise ValueError("give exactly one of yaml or config")
        return self


# --- review and promotion --------------------------------------------------------------------


class TabSummary(Model):
    label: str
    kind: str = Field(description="The change_kind that deciding by `kind` covers.")
    total: int
    pending: int = Field(description="Rows waiting for a person.")
    open: int = Field(description="Rows nobody decided yet (auto-approved ones included).")


class Progress(Model):
    total: int
    done: int = Field(description="Rows promotion has marked succeeded, skipped or failed.")
    failed: int


class Promotion(Model):
    job_id: int
    state: Literal["not_promotable", "ready", "waiting_for_review", "running", "completed"]
    detail: str | None = Field(description="Why the job cannot be promoted now, if it cannot.")
    progress: Progress
    started_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    dagster_run_id: str | None = None
    run_succeeded: bool | None = None
    run_failures: list[str] = []


class Hold(Model):
    """A job-level reason the job stops at the review gate (issue 15)."""

    id: int
    kind: str = Field(description="source_change or mass_change.")
    subject: str = Field(description="The field, 'records' or 'listings' the finding is about.")
    evidence: dict[str, Any] = Field(
        description="check (field_missing, field_emptied, fewer_records, mass_change), field,"
        " source_fields, filled_before / filled_now (shares), records_before / records_now,"
        " clearing_rows, deleting_rows, source_listings, share, previous_job_id."
    )
    status: Literal["pending", "accepted", "rejected"]
    decided_by: str | None
    decided_at: str | None
    note: str | None
    description: str = Field(description="The evidence in one line.")


class ReviewSummary(Model):
    job_id: int
    status: str | None
    tabs: dict[str, TabSummary] = Field(
        description="new, updates, matches, duplicates, deletions, errors."
    )
    waiting: dict[str, int] = Field(description="Rows waiting for a person, by reason.")
    holds: list[Hold] = Field(
        default=[], description="Every hold of the job; pending or rejected ones block it."
    )
    gate: str = Field(description="The review gate's own description.")
    gate_passed: bool
    promotion: Promotion


class HoldDecisionIn(Model):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject"]
    hold_ids: list[int] | None = Field(
        default=None, max_length=100, description="Default: every pending hold of the job."
    )
    note: str | None = Field(default=None, max_length=2000)


class HoldDecisionOut(Model):
    job_id: int
    decision: Literal["accept", "reject"]
    holds: list[int] = Field(description="The holds decided.")
    approved_rows: int = Field(
        description="Rows approved with an accepted source change (they only cleared its fields)."
    )
    job_status: str | None


class FieldChange(Model):
    entity: str
    action: str | None
    field: str
    before: Any = Field(description="Production now (the suggested listing for a match).")
    after: Any = Field(description="What promoting the row writes.")
    changed: bool = Field(description="Promotion would change production here.")
    kept: bool = Field(description="Edited by hand in production: promotion keeps it.")


class ReviewRow(Model):
    id: int
    rec_num: int | None
    source_id: str
    listing_name: str | None
    loc_city: str | None
    change_kind: str | None
    review_status: str
    review_reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    promote_status: str | None
    force_overwrite: bool
    match_method: str | None
    match_score: float | None
    production_listing_id: int | None
    duplicate_of: int | None
    quality_score: float | None = Field(description="0-100: completeness, accuracy, consistency.")
    validation_errors: str | None
    validation_warnings: str | None
    decidable: bool
    fields: list[FieldChange]


class ReviewRowsOut(Model):
    items: list[ReviewRow]
    limit: int
    next_after: int | None = Field(description="Pass as `after` for the next page.")


class DecisionIn(Model):
    """Exactly one of row_ids, kind, all_rows or winner."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    row_ids: list[int] | None = Field(default=None, max_length=1000)
    kind: (
        Literal["insert", "update", "skip", "delete", "duplicate", "error", "uncertain_match"]
        | None
    ) = None
    all_rows: bool = Field(
        default=False, description="Every row waiting for a person (approve) or undecided."
    )
    seen: dict[int, Literal["open", "decided"]] | None = Field(
        default=None,
        description="The rows' states as the caller last saw them, to tell apart rows someone"
        " else decided meanwhile.",
    )
    expected: int | None = Field(
        default=None, ge=0, description="With kind/all_rows: how many open rows the caller saw."
    )
    override: Literal["skip", "force_overwrite", "accept_match", "reject_match"] | None = None
    note: str | None = Field(default=None, max_length=2000)
    winner: int | None = Field(
        default=None,
        description="Of a duplicate group (records sharing a source id), the stage row to"
        " promote; the group's other rows are approved as changing nothing. Approve only.",
    )

    @model_validator(mode="after")
    def _one_selection(self) -> DecisionIn:
        chosen = [bool(self.row_ids), self.kind is not None, self.all_rows, self.winner is not None]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of row_ids, kind or all_rows (or winner)")
        return self


class RowState(Model):
    id: int
    review_status: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    promote_status: str | None


class DecisionOut(Model):
    job_id: int
    decision: str
    decided: list[int]
    already_decided: int = Field(
        description="Selected rows left alone: someone else decided them first."
    )
    already_decided_rows: list[RowState]
