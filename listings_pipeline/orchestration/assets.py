"""The three assets of a source partition: raw_file → staged_rows → promoted_listings,
with the blocking `review_gate` check on staged_rows."""

import warnings
from pathlib import Path

import dagster as dg
from sqlalchemy import Engine

from listings_pipeline import pipeline
from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.jobs import StageCounts
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource, job_for_run
from listings_pipeline.review import review_rows

GROUP = "listings"
OWNERS = ["team:data-engineering"]
POOL = "listings_db"  # database-heavy steps share this concurrency pool (dagster.yaml)


class ImportRunConfig(dg.Config):
    """Run config of raw_file: the file to import (file sources), and who asked."""

    input_path: str | None = None
    trigger_type: str = "manual"
    triggered_by: str = "dagster"


def _counts_metadata(counts: StageCounts) -> dict[str, dg.MetadataValue]:
    meta: dict[str, dg.MetadataValue] = {
        f"records_{k}": dg.MetadataValue.int(v) for k, v in counts.as_params().items()
    }
    for key, value in counts.extra.items():
        if isinstance(value, bool):
            meta[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            meta[key] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            meta[key] = dg.MetadataValue.float(value)
        else:
            meta[key] = dg.MetadataValue.text(str(value))
    return meta


def _current_job(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, engine: Engine
) -> int:
    with engine.connect() as conn:
        job_id = job_for_run(conn, context.partition_key, context.run)
    if job_id is None:
        raise dg.Failure(
            description=f"partition {context.partition_key!r} has no job yet: "
            "materialise raw_file first"
        )
    return job_id


@dg.asset(
    partitions_def=source_configs,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"python", "file"},
    pool=POOL,
    description="Imports the partition's source into immutable gzip JSON-lines raw files "
    "(pipeline.files), one new job in pipeline.jobs per run.",
)
def raw_file(
    context: dg.AssetExecutionContext, config: ImportRunConfig, listings: ListingsResource
) -> dg.MaterializeResult:
    source = listings.config(context.partition_key)
    engine = listings.engine()
    input_path = Path(config.input_path) if config.input_path else None
    try:
        job_id = pipeline.start_job(
            engine,
            source,
            input_path=input_path,
            triggered_by=config.triggered_by,
            trigger_type=config.trigger_type,
            dagster_run_id=context.run.run_id,
        )
        result = pipeline.import_stage(engine, job_id, source, input_path)
    except ImportFailed as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    seconds = max(result.seconds, 1e-9)
    return dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            **_counts_metadata(result.counts),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
            "records_per_second": dg.MetadataValue.float(round(result.counts.total / seconds, 1)),
            "files": dg.MetadataValue.md(
                "| seq | records | bytes | key |\n|---|---|---|---|\n"
                + "\n".join(
                    f"| {f.file_seq} | {f.record_count} | {f.file_size} | `{f.key}` |"
                    for f in result.files
                )
            ),
        }
    )


@dg.asset(
    partitions_def=source_configs,
    deps=[raw_file],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool=POOL,
    description="Maps, normalises, validates, hashes and matches the raw records into "
    "stage.listings_flat with an action per object; resumes a failed transform.",
)
def staged_rows(
    context: dg.AssetExecutionContext, listings: ListingsResource
) -> dg.MaterializeResult:
    source = listings.config(context.partition_key)
    engine = listings.engine()
    job_id = _current_job(context, engine)
    try:
        result = pipeline.transform_stage(engine, job_id, source)
    except pipeline.StageNotReady as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    with engine.connect() as conn:
        waiting = review_rows(conn, job_id, status="pending", limit=10)
    preview = "\n".join(
        f"| {r['id']} | {r['change_kind']} | {r['listing_name']} | {r['loc_city']} |"
        for r in waiting
    )
    return dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            **_counts_metadata(result.counts),
            "resumed_from_record": dg.MetadataValue.int(result.resumed_from),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
            "waiting_preview": dg.MetadataValue.md(
                "| row | kind | name | city |\n|---|---|---|---|\n" + preview
                if preview
                else "Nothing waits for review."
            ),
        }
    )


def review_gate(
    context: dg.AssetCheckExecutionContext, listings: ListingsResource
) -> dg.AssetCheckResult:
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
        "promoted_listings does not run until reviewers decide.",
    )(review_gate)


@dg.asset(
    partitions_def=source_configs,
    deps=[staged_rows],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"postgres"},
    pool=POOL,
    description="Promotes the approved stage rows of the partition's current job into the "
    "public tables (inserts, updates, soft deletes), batch by batch.",
)
def promoted_listings(
    context: dg.AssetExecutionContext, listings: ListingsResource
) -> dg.MaterializeResult:
    source = listings.config(context.partition_key)
    engine = listings.engine()
    job_id = _current_job(context, engine)
    try:
        result = pipeline.promote_stage(
            engine, job_id, source, promoted_by=f"dagster:{context.run.run_id[:8]}"
        )
    except (pipeline.PromotionRefused, pipeline.StageNotReady) as err:
        raise dg.Failure(description=str(err), allow_retries=False) from err
    return dg.MaterializeResult(
        metadata={
            "job_id": dg.MetadataValue.int(job_id),
            **_counts_metadata(result.counts),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        }
    )
