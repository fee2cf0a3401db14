"""Typed run configuration of the project's jobs (also what the CLI, console and sensors send)."""

from __future__ import annotations

from enum import Enum

import dagster as dg
from pydantic import Field

TRIGGER_TAG = "listings/trigger"  # what started a run: manual, schedule, upload, review, ...
JOB_TAG = "listings/job_id"  # a run started for one particular pipeline job (promotion)
IMAGES_TAG = "listings/images"  # image runs: their own concurrency limit, never a source's slot


class ImportRunConfig(dg.Config):
    """Run config of raw_file: what to import, whether to resume, and who asked."""

    input_path: str | None = Field(
        None,
        description="File to import (file sources). Unset: the config's source_url, else the "
        "partition's latest upload or inbox file, else its last raw file.",
    )
    inbox_file: str | None = Field(
        None, description="An uploads-inbox file (local path or S3 key); set by the inbox sensor."
    )
    inbox_fingerprint: str | None = Field(
        None, description="The inbox file's fingerprint when it was listed."
    )
    resume: bool | None = Field(
        None,
        description="Continue the partition's latest unfinished job instead of importing again. "
        "Unset: resume in backfills and re-executions, import afresh otherwise.",
    )
    trigger_type: str = "manual"
    triggered_by: str = "dagster"


class Decision(Enum):
    approve = "approve"
    reject = "reject"


class Override(Enum):
    skip = "skip"
    force_overwrite = "force_overwrite"
    accept_match = "accept_match"
    reject_match = "reject_match"


class ReviewDecisionConfig(dg.Config):
    """A reviewer's decision on the partition's job waiting at the review gate: all its
    undecided rows, rows by id, or rows of one kind."""

    decision: Decision
    reviewer: str
    all_rows: bool = False
    row_ids: list[int] = []
    kind: str | None = None
    override: Override | None = None
    note: str | None = None
    job_id: int | None = Field(
        None,
        description="Only if this job is still the one waiting (a guard); unset: the "
        "partition's waiting job.",
    )


def import_run_config(**values: object) -> dg.RunConfig:
    return dg.RunConfig(ops={"raw_file": ImportRunConfig(**values)})  # type: ignore[arg-type]
