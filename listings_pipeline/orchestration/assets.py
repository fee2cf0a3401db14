"""The assets of a source partition: raw_file → staged_rows → promoted_listings (with the
blocking `review_gate` check on staged_rows), and listing_images after promotion.

Retries: each asset has TRANSIENT_RETRY and runs its work in `transient_only()`, so network
and database blips are retried with backoff while anything else fails at once. A run that
resumes (a backfill, a re-execution, or `resume: true`) continues the partition's latest
unfinished job from its failed stage instead of importing again.
"""

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine, text

from listings_pipeline import pipeline, reports
from listings_pipeline.db import load_queries
from listings_pipeline.images import ImageSettings, ImageStoreError, process_images
from listings_pipeline.importing.inbox import Inbox, InboxFile, InboxFileChanged, get_inbox
from listings_pipeline.orchestration import metadata as md
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource, job_for_run
from listings_pipeline.orchestration.retries import TRANSIENT_RETRY, transient_only
from listings_pipeline.review import review_rows

GROUP = "listings"
OWNERS = ["team:data-engineering"]
# Steps that load or promote in bulk share this concurrency pool (dagster.yaml, limit 2).
# raw_file and listing_images are left out: they mostly wait on HTTP sources and image hosts,
# and holding a database slot for a slow crawl would stall other partitions' transforms.
POOL = "listings_db"
BACKFILL_TAG = "dagster/backfill"  # set by Dagster on every run a backfill launches
Q = load_queries(__file__, "assets.sql")


class ImportRunConfig(dg.Config):
    """Run config of raw_file: what to import, whether to resume, and who asked."""

    input_path: str | None = Field(None, description="File to import (file sources).")
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


def wants_resume(config: ImportRunConfig, run: dg.DagsterRun) -> bool:
    if config.resume is not None:
        return config.resume
    return run.parent_run_id is not None or BACKFILL_TAG in run.tags


def _current_job(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, engine: Engine
) -> int:
    with engine.connect() as conn:
        job_id = job_for_run(conn, context.partition_key, context.run)
    if job_id is None:
        raise dg.Failure(
            description=f"partition {context.partition_key!r} has no job yet: "
            "materialise raw_file first",
            allow_retries=False,
        )
    return job_id


def find_inbox_file(inbox: Inbox, slug: str, location: str) -> InboxFile | None:
    return next((i for i in inbox.pending(slug, min_age_seconds=0) if i.location == location), None)


def _inbox_file(inbox: Inbox, slug: str, config: ImportRunConfig) -> InboxFile:
    item = find_inbox_file(inbox, slug, config.inbox_file or "")
    if item is None:
        raise dg.Failure(
            description=f"inbox file {config.inbox_file} is no longer in the inbox (imported or "
            "moved aside by an earlier run, or renamed): upload it again to import it",
            allow_retries=False,
        )
    if config.inbox_fingerprint and item.fingerprint != config.inbox_fingerprint:
        raise dg.Failure(
            description=f"inbox file {config.inbox_file} was replaced after this run was "
            "requested; the new version is imported by its own run",
            allow_retries=False,
        )
    return item


def _move_done(
    context: dg.AssetExecutionContext, inbox: Inbox, item: InboxFile, job_id: int
) -> dict[str, dg.MetadataValue]:
    try:
        moved = inbox.move_aside(item, "done", job_id=job_id)
    except InboxFileChanged as err:  # replaced during the import: the new version runs later
        context.log.warning(str(err))
        return {"inbox_file": dg.MetadataValue.text(f"{item.name} (left in the inbox: {err})")}
    context.log.info(f"inbox file {item.name} imported by job {job_id}, moved to {moved}")
    return {
        "inbox_file": dg.MetadataValue.text(item.name),
        "moved_to": dg.MetadataValue.text(moved),
    }


@contextlib.contextmanager
def _input_file(
    inbox: Inbox | None, item: InboxFile | None, config: ImportRunConfig
) -> Iterator[Path | None]:
    if inbox is not None and item is not None:
        with inbox.local_copy(item) as path:
            yield path
    else:
        yield Path(config.input_path) if config.input_path else None


@dg.asset(
    partitions_def=source_configs,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "file"},
    retry_policy=TRANSIENT_RETRY,
    description="Imports the partition's source (its source_url, an uploaded file, or "
    "`input_path`) into immutable gzip JSON-lines raw files registered in pipeline.files; "
    "one new job in pipeline.jobs per run. A backfill or re-execution resumes the latest "
    "unfinished job instead of importing again.",
)
def raw_file(
    context: dg.AssetExecutionContext, config: ImportRunConfig, listings: ListingsResource
) -> dg.MaterializeResult:
    slug = context.partition_key
    source = listings.config(slug)
    meta: dict[str, dg.MetadataValue] = {}
    with transient_only():
        engine = listings.engine()
        inbox = get_inbox() if config.inbox_file else None
        with engine.connect() as conn:
            own = reports.job_for_run(conn, context.run.run_id)  # set if this step is a retry
        job_id: int | None = None
        if own is not None and pipeline.stage_state(engine, own).get("import") == "completed":
            job_id = own
        elif own is None and wants_resume(config, context.run):
            job_id = pipeline.resumable_job(engine, slug)
        if job_id is not None:  # the import is done: report it, do not repeat it
            context.log.info(f"job {job_id}: import already completed; continuing that job")
            with engine.connect() as conn:
                meta.update(md.stored_stage(conn, job_id, "import"))
            meta["resumed"] = dg.MetadataValue.bool(True)
            if inbox is not None and (item := find_inbox_file(inbox, slug, config.inbox_file)):
                meta.update(_move_done(context, inbox, item, job_id))
        else:
            item = _inbox_file(inbox, slug, config) if inbox is not None else None
            with _input_file(inbox, item, config) as input_path:
                if own is None:
                    job_id = pipeline.start_job(
                        engine,
                        source,
                        input_path=input_path,
                        triggered_by=config.triggered_by,
                        trigger_type=config.trigger_type,
                        dagster_run_id=context.run.run_id,
                    )
                else:  # a retried step imports again into the job its first attempt made
                    job_id = own
                result = pipeline.import_stage(engine, job_id, source, input_path)
                read = pipeline.resolve_input(source, input_path)  # also the config's source_url
            meta.update(md.counts(result.counts))
            meta.update(md.timing(result.seconds, result.counts.total))
            meta["resumed"] = dg.MetadataValue.bool(False)
            if read is not None:
                name = item.name if item is not None else read.name  # not the temporary copy's
                meta["input_file"] = dg.MetadataValue.text(name)
                meta["input_bytes"] = dg.MetadataValue.int(result.bytes_read)
            if inbox is not None and item is not None:
                meta.update(_move_done(context, inbox, item, job_id))
        with engine.connect() as conn:
            meta.update(md.files_written(conn, job_id))
            meta.update(md.stage_errors(conn, job_id, "import"))
            written = conn.execute(text(Q["records_written"]), {"job_id": job_id}).scalar_one()
    return dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            "dagster/row_count": dg.MetadataValue.int(written),
            **meta,
        }
    )


@dg.asset(
    partitions_def=source_configs,
    deps=[raw_file],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool=POOL,
    retry_policy=TRANSIENT_RETRY,
    description="Maps, normalises, validates, hashes and matches the raw records into "
    "stage.listings_flat with an action per production table; flags rows a person must "
    "review. A failed transform resumes after the last staged record; a completed one is "
    "not repeated.",
)
def staged_rows(
    context: dg.AssetExecutionContext, listings: ListingsResource
) -> dg.MaterializeResult:
    source = listings.config(context.partition_key)
    with transient_only():
        engine = listings.engine()
        job_id = _current_job(context, engine)
        if pipeline.stage_state(engine, job_id).get("transform") == "completed":
            context.log.info(f"job {job_id}: transform already completed; not repeated")
            with engine.connect() as conn:
                meta = md.stored_stage(conn, job_id, "transform")
            meta["resumed"] = dg.MetadataValue.bool(True)
        else:
            result = pipeline.transform_stage(engine, job_id, source)
            meta = md.counts(result.counts)
            meta.update(md.timing(result.seconds, result.counts.total - result.resumed_from))
            meta["resumed"] = dg.MetadataValue.bool(result.resumed_from > 0)
            meta["resumed_from_record"] = dg.MetadataValue.int(result.resumed_from)
        with engine.connect() as conn:
            waiting = review_rows(conn, job_id, status="pending", limit=md.PREVIEW_ROWS)
            meta.update(md.stage_rows(conn, job_id, waiting))
            meta.update(md.stage_errors(conn, job_id, "transform"))
    return dg.MaterializeResult(metadata={"job_id": dg.MetadataValue.int(job_id), **meta})


def review_gate(
    context: dg.AssetCheckExecutionContext, listings: ListingsResource
) -> dg.AssetCheckResult:
    with transient_only():
        engine = listings.engine()
        job_id = _current_job(context, engine)
        result = pipeline.gate(engine, job_id)
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            "waiting_total": dg.MetadataValue.int(sum(result.waiting.values())),
            **{f"waiting_{k}": dg.MetadataValue.int(v) for k, v in result.waiting.items()},
        },
    )


# partitions_def on an asset check is a preview API in Dagster 1.13; it is what makes the
# gate a per-partition check, so we use it knowingly and keep its warning out of every CLI run.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.PreviewWarning)
    review_gate = dg.asset_check(
        asset=staged_rows,
        blocking=True,
        partitions_def=source_configs,
        description="Fails while any stage row of the partition's current job waits for a person; "
        "promoted_listings does not run until reviewers decide (promotion_after_review_sensor "
        "then starts promote_listings).",
    )(review_gate)


@dg.asset(
    partitions_def=source_configs,
    deps=[staged_rows],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool=POOL,
    retry_policy=TRANSIENT_RETRY,
    description="Promotes the approved stage rows of the partition's current job into the "
    "public tables (inserts, updates, soft deletes), one transaction per batch; an "
    "interrupted promotion resumes with the next batch.",
)
def promoted_listings(
    context: dg.AssetExecutionContext, listings: ListingsResource
) -> dg.MaterializeResult:
    source = listings.config(context.partition_key)
    with transient_only():
        engine = listings.engine()
        job_id = _current_job(context, engine)
        result = pipeline.promote_stage(
            engine, job_id, source, promoted_by=f"dagster:{context.run.run_id[:8]}"
        )
        with engine.connect() as conn:
            actions = md.stage_rows(conn, job_id, [])["actions_by_table"]
            errors = md.stage_errors(conn, job_id, "promote")
    return dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            "dagster/row_count": dg.MetadataValue.int(result.counts.extra.get("promoted_rows", 0)),
            **md.counts(result.counts),
            **md.timing(result.seconds, result.counts.total),
            "actions_by_table": actions,
            **errors,
        }
    )


@dg.asset(
    partitions_def=source_configs,
    deps=[promoted_listings],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "image"},
    retry_policy=TRANSIENT_RETRY,
    automation_condition=dg.AutomationCondition.eager(),
    description="Downloads, verifies and stores resized WebP/JPEG variants of the images of "
    "the listings promoted by the partition's latest promoted job. Runs by itself after each "
    "promotion (automation condition), outside the import runs, so slow image hosts never "
    "hold up a source; a broken image is recorded (pipeline.image_assets) and never fails "
    "the run.",
)
def listing_images(
    context: dg.AssetExecutionContext, listings: ListingsResource
) -> dg.MaterializeResult:
    with transient_only(also=(ImageStoreError,)):  # the store refusing writes may recover
        engine = listings.engine()
        with engine.connect() as conn:
            job_id = conn.execute(
                text(Q["latest_promoted_job"]), {"slug": context.partition_key}
            ).scalar()
        if job_id is None:
            raise dg.Failure(
                description=f"partition {context.partition_key!r} has no promoted job yet",
                allow_retries=False,
            )
        summary = process_images(engine, job_id=job_id, settings=ImageSettings.from_env())
        with engine.connect() as conn:
            failed_preview = md.failed_images(conn, job_id)
    values = summary.as_metadata()
    by_reason = values.pop("failed_by_reason")
    return dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            "dagster/row_count": dg.MetadataValue.int(summary.stored),
            **{k: md.value(v) for k, v in values.items()},
            "failed_by_reason": md.md_table(
                ["reason", "images"], sorted(by_reason.items()), "No image failed."
            ),
            "failed_preview": failed_preview,
        }
    )
