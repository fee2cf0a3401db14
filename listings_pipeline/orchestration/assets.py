"""The assets of a source partition: raw_file → staged_rows → promoted_listings (the
`review_gate` check on staged_rows), and listing_images after any promotion.

A job that waits for a reviewer is not a failure: the review_gate check warns (it does not
fail), promoted_listings sees the gate closed, says what waits and where to decide it, tags the
run `listings/review`, and ends without materialising; the run succeeds.
promotion_after_review_sensor promotes once the gate clears.

Retries: each asset has TRANSIENT_RETRY and runs its work in `transient_only()`, so network
and database blips are retried with backoff while anything else fails at once. Which job a
run works on, and whether it resumes, is decided by `listings_pipeline.job_runs`.
"""

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine, text

from listings_pipeline import job_runs, pipeline
from listings_pipeline.db import load_queries
from listings_pipeline.images import ImageSettings, ImageStoreError, process_images
from listings_pipeline.importing.inbox import Inbox, InboxFile, InboxFileChanged, get_inbox
from listings_pipeline.orchestration import metadata as md
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.retries import TRANSIENT_RETRY, transient_only
from listings_pipeline.orchestration.run_config import JOB_TAG, ImportRunConfig
from listings_pipeline.review import review_rows

GROUP = "listings"
OWNERS = ["team:data-engineering"]
# Steps that load or promote in bulk share this concurrency pool (dagster.yaml, limit 2).
# raw_file and listing_images are left out: they mostly wait on HTTP sources and image hosts,
# and holding a database slot for a slow crawl would stall other partitions' transforms.
POOL = "listings_db"
BACKFILL_TAG = "dagster/backfill"  # set by Dagster on every run a backfill launches
REVIEW_TAG = "listings/review"  # on a run that stopped at the review gate: what waits
Q = load_queries(__file__, "assets.sql")

Context = dg.AssetExecutionContext | dg.AssetCheckExecutionContext


def _current_job(context: Context, engine: Engine) -> int:
    run = context.run
    tagged = run.tags.get(JOB_TAG)
    with engine.connect() as conn:
        job_id = job_runs.job_of_run(
            conn,
            context.partition_key,
            (run.run_id, run.parent_run_id, run.root_run_id),
            tagged_job=int(tagged) if tagged else None,
        )
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
    inbox: Inbox | None, item: InboxFile | None, given: Path | None
) -> Iterator[Path | None]:
    if inbox is not None and item is not None:
        with inbox.local_copy(item) as path:
            yield path
    else:
        yield given


@dg.asset(
    partitions_def=source_configs,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "file"},
    retry_policy=TRANSIENT_RETRY,
    description="Imports the partition's source (its source_url, an uploaded file, or "
    "`input_path`; for a file source started without one, its newest earlier input) into "
    "immutable gzip JSON-lines raw files registered in pipeline.files; one new job in "
    "pipeline.jobs per run. A backfill or re-execution resumes the latest unfinished job "
    "instead of importing again.",
)
def raw_file(
    context: dg.AssetExecutionContext, config: ImportRunConfig, listings: ListingsResource
) -> dg.MaterializeResult:
    slug = context.partition_key
    source = listings.config(slug)
    run = context.run
    meta: dict[str, dg.MetadataValue] = {}
    with transient_only():
        engine = listings.engine()
        inbox = get_inbox() if config.inbox_file else None
        resume = job_runs.wants_resume(
            config.resume,
            reexecution=run.parent_run_id is not None,
            backfill=BACKFILL_TAG in run.tags,
        )
        job_id = job_runs.job_to_continue(engine, slug, run.run_id, resume=resume)
        if job_id is not None:  # the import is done: report it, do not repeat it
            context.log.info(f"job {job_id}: import already completed; continuing that job")
            with engine.connect() as conn:
                meta.update(md.stored_stage(conn, job_id, "import"))
            meta["resumed"] = dg.MetadataValue.bool(True)
            if inbox is not None and (item := find_inbox_file(inbox, slug, config.inbox_file)):
                meta.update(_move_done(context, inbox, item, job_id))
        else:
            item = _inbox_file(inbox, slug, config) if inbox is not None else None
            given = Path(config.input_path) if config.input_path else None
            if given is None and item is None:
                given = job_runs.find_input(engine, source)
                if given is not None:
                    context.log.info(f"no input file given: importing {given}")
            with engine.connect() as conn:
                own = job_runs.job_created_by_run(conn, run.run_id)  # a retried step's job
            with _input_file(inbox, item, given) as input_path:
                job_id = own or pipeline.start_job(
                    engine,
                    source,
                    input_path=input_path,
                    triggered_by=config.triggered_by,
                    trigger_type=config.trigger_type,
                    dagster_run_id=run.run_id,
                )
                result = pipeline.import_stage(
                    engine, job_id, source, input_path, progress=context.log.info
                )
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
            result = pipeline.transform_stage(engine, job_id, source, progress=context.log.info)
            meta = md.counts(result.counts)
            meta.update(md.timing(result.seconds, result.counts.total - result.resumed_from))
            meta["resumed"] = dg.MetadataValue.bool(result.resumed_from > 0)
            meta["resumed_from_record"] = dg.MetadataValue.int(result.resumed_from)
        with engine.connect() as conn:
            waiting = review_rows(conn, job_id, status="pending", limit=md.PREVIEW_ROWS)
            meta.update(md.stage_rows(conn, job_id, waiting))
            meta.update(md.stage_errors(conn, job_id, "transform"))
    return dg.MaterializeResult(metadata={"job_id": dg.MetadataValue.int(job_id), **meta})


def how_to_decide(gate: pipeline.GateResult, listings: ListingsResource) -> str:
    """What a person does about a closed gate: where to review, which command decides."""
    return (
        f"Review it in the console: {listings.review_url(gate.job_id)} — or from a shell: "
        f"`listings-pipeline review list {gate.job_id}`, then "
        f"`listings-pipeline review approve {gate.job_id} --all` (or reject). Promotion starts "
        "by itself once nothing waits."
    )


def review_gate(
    context: dg.AssetCheckExecutionContext, listings: ListingsResource
) -> dg.AssetCheckResult:
    with transient_only():
        engine = listings.engine()
        job_id = _current_job(context, engine)
        gate = pipeline.gate(engine, job_id)
    description = gate.describe()
    if not gate.passed:
        description = f"waiting for review: {description}\n{how_to_decide(gate, listings)}"
    return dg.AssetCheckResult(
        passed=gate.passed,
        # Waiting for a person is the normal course of a review, not an error: WARN is shown
        # as a warning, never as a failed run or a red check.
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            "waiting_total": dg.MetadataValue.int(sum(gate.waiting.values())),
            **{f"waiting_{k}": dg.MetadataValue.int(v) for k, v in gate.waiting.items()},
            "review_page": dg.MetadataValue.url(listings.review_url(job_id)),
        },
    )


# partitions_def on an asset check is a preview API in Dagster 1.13; it is what makes the
# gate a per-partition check, so we use it knowingly and keep its warning out of every run.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.PreviewWarning)
    review_gate = dg.asset_check(
        asset=staged_rows,
        blocking=True,  # runs before promotion; WARN never fails the run or blocks
        partitions_def=source_configs,
        description="Says whether anything of the partition's current job waits for a person "
        "(rows to approve or reject, source-change holds), with a link to its review page. "
        "A waiting job is a warning, not a failure; promoted_listings then waits, and "
        "promotion_after_review_sensor starts promote_listings once reviewers decide.",
    )(review_gate)


@dg.asset(
    partitions_def=source_configs,
    deps=[staged_rows],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool=POOL,
    retry_policy=TRANSIENT_RETRY,
    output_required=False,
    description="Promotes the approved stage rows of the partition's current job into the "
    "public tables (inserts, updates, soft deletes), one transaction per batch; an "
    "interrupted promotion resumes with the next batch. While the review gate is closed it "
    "is not materialised and the run ends waiting for review (tag listings/review).",
)
def promoted_listings(
    context: dg.AssetExecutionContext, listings: ListingsResource
) -> Iterator[dg.MaterializeResult]:
    source = listings.config(context.partition_key)
    with transient_only():
        engine = listings.engine()
        job_id = _current_job(context, engine)
        gate = pipeline.gate(engine, job_id)
        if not gate.passed:
            total = sum(gate.waiting.values())
            context.instance.add_run_tags(
                context.run.run_id, {REVIEW_TAG: f"waiting: {total} rows, job {job_id}"}
            )
            context.log.info(f"waiting for review: {gate.describe()}")
            context.log.info(how_to_decide(gate, listings))
            return
        result = pipeline.promote_stage(
            engine,
            job_id,
            source,
            promoted_by=f"dagster:{context.run.run_id[:8]}",
            progress=context.log.info,
        )
        with engine.connect() as conn:
            actions = md.stage_rows(conn, job_id, [])["actions_by_table"]
            errors = md.stage_errors(conn, job_id, "promote")
    yield dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            "dagster/row_count": dg.MetadataValue.int(result.counts.extra.get("promoted_rows", 0)),
            **md.counts(result.counts),
            **md.timing(result.seconds, result.counts.total),
            "actions_by_table": actions,
            **errors,
        }
    )


class ImagesRunConfig(dg.Config):
    slugs: list[str] = []  # only these sources; empty: every source


# After any promotion, once (not per partition): image runs have no partition, so they never
# take a source's run slot; dagster.yaml limits them by their own tag.
IMAGES_AFTER_PROMOTION = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.in_progress()
).with_label("after a promotion")


@dg.asset(
    deps=[promoted_listings],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "image"},
    retry_policy=TRANSIENT_RETRY,
    automation_condition=IMAGES_AFTER_PROMOTION,
    description="Downloads, verifies and stores resized WebP/JPEG variants of the images of "
    "the listings each source's latest promotion wrote. Runs by itself after promotions, "
    "outside the sources' runs (its own concurrency limit), so slow image hosts never hold up "
    "a source; a broken image is recorded (pipeline.image_assets) and never fails the run; "
    "'Terminate' stops it between downloads.",
)
def listing_images(
    context: dg.AssetExecutionContext, config: ImagesRunConfig, listings: ListingsResource
) -> dg.MaterializeResult:
    totals: dict[str, int] = {}
    reasons: dict[str, int] = {}
    jobs: list[int] = []
    with transient_only(also=(ImageStoreError,)):  # the store refusing writes may recover
        engine = listings.engine()
        with engine.connect() as conn:
            due = conn.execute(text(Q["latest_promoted_jobs"]), {"slugs": config.slugs}).all()
        for job in due:
            summary = process_images(engine, job_id=job.id, settings=ImageSettings.from_env())
            values = summary.as_metadata()
            for reason, n in values.pop("failed_by_reason").items():
                reasons[reason] = reasons.get(reason, 0) + n
            for key in ("images", "downloaded", "stored", "skipped_unchanged", "failed"):
                totals[key] = totals.get(key, 0) + values[key]
            context.log.info(
                f"images of {job.slug} (job {job.id}): {summary.stored} stored, "
                f"{summary.failed} failed, {summary.skipped_unchanged} unchanged"
            )
            jobs.append(job.id)
        with engine.connect() as conn:
            previews = [(j, md.failed_images(conn, j).value) for j in jobs]
    failed_preview = "\n\n".join(f"**job {j}**\n\n{text_}" for j, text_ in previews)
    return dg.MaterializeResult(
        metadata={
            "jobs": dg.MetadataValue.json(jobs),
            "dagster/row_count": dg.MetadataValue.int(totals.get("stored", 0)),
            **{k: dg.MetadataValue.int(v) for k, v in totals.items()},
            "failed_by_reason": md.md_table(
                ["reason", "images"], sorted(reasons.items()), "No image failed."
            ),
            "failed_preview": dg.MetadataValue.md(failed_preview or "No promoted job yet."),
        }
    )
