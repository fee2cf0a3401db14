"""Dagster jobs: the pipeline of a partition, promotion alone, images, the review approval and
the daily maintenance."""

import dagster as dg

from listings_pipeline import job_runs
from listings_pipeline.configs import load_configs
from listings_pipeline.maintenance import prune_stage, sweep_stale_jobs
from listings_pipeline.orchestration.assets import (
    listing_images,
    promoted_listings,
    raw_file,
    review_gate,
    staged_rows,
)
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.run_config import IMAGES_TAG, ReviewDecisionConfig
from listings_pipeline.promotion.expiry import archive_expired
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
    tags={IMAGES_TAG: "all"},
    description="Images of the listings each source's latest promotion wrote (runs by itself "
    "after promotions; start it by hand, with `slugs` in its config, to reprocess).",
)


@dg.op(description="Applies a reviewer's decision to the partition's job waiting for review.")
def apply_review_decision(
    context: dg.OpExecutionContext, config: ReviewDecisionConfig, listings: ListingsResource
) -> None:
    engine = listings.engine()
    slug = context.partition_key
    job_id = job_runs.waiting_job(engine, slug)
    if job_id is None:
        raise dg.Failure(description=f"{slug}: no job waits for review", allow_retries=False)
    if config.job_id is not None and config.job_id != job_id:
        raise dg.Failure(
            description=f"{slug}: job {config.job_id} no longer waits for review (job {job_id} "
            "does); nothing was decided",
            allow_retries=False,
        )
    try:
        result = decide(
            engine,
            job_id,
            config.decision.value,  # type: ignore[arg-type]
            reviewer=config.reviewer,
            row_ids=config.row_ids or None,
            kind=config.kind,
            all_rows=config.all_rows,
            note=config.note,
            override=config.override.value if config.override else None,  # type: ignore[arg-type]
        )
    except ReviewError as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    context.log.info(
        f"{config.decision.value}d {len(result.decided)} rows of job {job_id}"
        f" ({result.already_decided} already decided)"
    )


@dg.job(
    partitions_def=source_configs,
    description="Record a review decision on the partition's job waiting at the review gate "
    "(the human approval step); promotion follows by itself once nothing waits.",
)
def review_approval() -> None:
    apply_review_decision()


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    description="Archives expired listings and restores renewed ones, for every active "
    "source whose config sets promotion.expiry.",
)
def archive_expired_listings(context: dg.OpExecutionContext, listings: ListingsResource) -> None:
    configs, errors = load_configs(listings.configs_path())
    for message in errors:
        context.log.warning(message)
    engine = listings.engine()
    for slug, config in sorted(configs.items()):
        if config.active and config.promotion.expiry is not None:
            result = archive_expired(engine, config)
            context.log.info(
                f"{slug}: " + ", ".join(f"{k}: {v}" for k, v in result.as_dict().items())
            )


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Marks failed the jobs a dead worker left pending or running, and removes "
    "their unregistered raw files (LISTINGS_STALE_JOB_HOURS).",
)
def sweep_stale_jobs_op(context: dg.OpExecutionContext, listings: ListingsResource) -> None:
    result = sweep_stale_jobs(listings.engine())
    for job in result.failed:
        context.log.info(f"job {job.job_id} ({job.slug}): failed: {job.reason}")
    for slug in result.busy:
        context.log.info(f"{slug}: a run holds it now; not looked at")


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    out=dg.Out(dg.Nothing),
    description="Stage retention: deletes the stage rows of jobs nothing needs any more "
    "(LISTINGS_STAGE_KEEP_DAYS).",
)
def prune_stage_op(context: dg.OpExecutionContext, listings: ListingsResource) -> None:
    result = prune_stage(listings.engine())
    context.log.info(
        f"pruned {result.rows} stage rows of {len(result.jobs)} jobs (kept the last "
        f"{result.keep_days} days) in {result.seconds:.1f} s"
    )


@dg.job(
    description="Daily maintenance: the stale-job sweep, stage retention, and expiry and "
    "archival of listings."
)
def maintenance() -> None:
    # One after the other: a swept job's stage rows may be pruned, then expiry runs.
    archive_expired_listings(after=prune_stage_op(after=sweep_stale_jobs_op()))
