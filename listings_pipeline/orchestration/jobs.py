"""Dagster jobs: the whole pipeline of a partition, promotion alone, and the review approval."""

import dagster as dg

from listings_pipeline.orchestration.assets import (
    listing_images,
    promoted_listings,
    raw_file,
    review_gate,
    staged_rows,
)
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.review import ReviewError, decide

pipeline_job = dg.define_asset_job(
    "listings_pipeline",
    selection=dg.AssetSelection.assets(raw_file, staged_rows, promoted_listings),
    description="Import → transform → review gate → promote for one source config.",
)

promotion_job = dg.define_asset_job(
    "promote_listings",
    selection=dg.AssetSelection.checks(review_gate) | dg.AssetSelection.assets(promoted_listings),
    description="Review gate + promotion of the partition's current job (after review).",
)

images_job = dg.define_asset_job(
    "process_images",
    selection=dg.AssetSelection.assets(listing_images),
    description="Images of the listings promoted by the partition's latest promoted job (runs "
    "by itself after each promotion; start it by hand or backfill it to reprocess).",
)


class ReviewDecisionConfig(dg.Config):
    """A reviewer's decision: on all rows, rows by id, or rows of one kind."""

    job_id: int
    decision: str  # approve | reject
    reviewer: str
    all_rows: bool = False
    row_ids: list[int] = []
    kind: str | None = None
    override: str | None = None  # skip | force_overwrite | accept_match | reject_match
    note: str | None = None


@dg.op(description="Applies a reviewer's decision to stage rows of a job.")
def apply_review_decision(
    context: dg.OpExecutionContext, config: ReviewDecisionConfig, listings: ListingsResource
) -> None:
    try:
        result = decide(
            listings.engine(),
            config.job_id,
            config.decision,  # type: ignore[arg-type]
            reviewer=config.reviewer,
            row_ids=config.row_ids or None,
            kind=config.kind,
            all_rows=config.all_rows,
            note=config.note,
            override=config.override,  # type: ignore[arg-type]
        )
    except ReviewError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    context.log.info(
        f"{config.decision}d {len(result.decided)} rows of job {config.job_id}"
        f" ({result.already_decided} already decided)"
    )


@dg.job(description="Record a review decision (the human approval step of the gate).")
def review_approval() -> None:
    apply_review_decision()
