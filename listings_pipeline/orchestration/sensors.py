"""Sensors: what starts runs without a person.

* source_configs_sensor — one partition per active config (added, removed), pipeline.configs
  kept in step, and the runs of configs whose cron the loaded schedules do not cover yet (a
  config added or re-timed since the code location loaded; see schedule_defs).
* uploads_inbox_sensor — a file dropped in the uploads inbox of a config starts one run of
  that config's partition with that file (raw_file moves it to `done/` once imported).
* inbox_failure_sensor — a file whose run failed before its import completed is moved to
  `failed/` with the reason beside it, so the inbox holds only files still to import.
* promotion_after_review_sensor — when the review gate of a waiting job clears (every row
  decided, every hold accepted: `pipeline.gate`), starts promote_listings for it.

A broken config, an unreadable inbox or a config that no longer exists is reported in the
sensor's log (Dagster UI → Automation → the sensor → its ticks) and starts nothing.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from listings_pipeline import job_runs
from listings_pipeline.configs import SourceConfig, load_configs
from listings_pipeline.configs.loader import config_paths
from listings_pipeline.configs.model import SLUG
from listings_pipeline.configs.sync import config_hash, sync_all
from listings_pipeline.importing.inbox import InboxFile, get_inbox
from listings_pipeline.orchestration.asset_jobs import pipeline_job, promotion_job
from listings_pipeline.orchestration.assets import find_inbox_file
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.run_config import JOB_TAG, TRIGGER_TAG, import_run_config
from listings_pipeline.orchestration.schedules import ScheduledConfig, evaluate_tick
from listings_pipeline.pipeline import FILE_SOURCES

INTERVAL = 30  # seconds between ticks of each sensor
INBOX_MIN_AGE = 10.0  # seconds a local upload must be unchanged before it is imported
WILL_RETRY_TAG = "dagster/will_retry"  # Dagster sets it on a failed run it is about to retry


def _split_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    try:
        parts = json.loads(cursor) if cursor else {}
        return parts.get("configs"), parts.get("tick")
    except (ValueError, AttributeError):
        return None, None


class _Job:
    def __init__(self, job_id: int, slug: str) -> None:
        self.id, self.slug = job_id, slug


def _seen(cursor: str | None) -> set[str]:
    """A sensor cursor holding a JSON list of keys already requested; unreadable: empty."""
    try:
        return {str(k) for k in json.loads(cursor)} if cursor else set()
    except (ValueError, TypeError):
        return set()


def make_source_configs_sensor(loaded_crons: Mapping[str, str]) -> dg.SensorDefinition:
    """The sensor, knowing which crons the loaded schedules run (slug → cron)."""

    @dg.sensor(
        name="source_configs_sensor",
        job=pipeline_job,
        minimum_interval_seconds=INTERVAL,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Keeps one partition per active source config (adds new, removes "
        "deleted) and syncs pipeline.configs; starts the cron runs of configs added or "
        "re-timed since the code location loaded (the others have their own schedule). "
        "A config file that cannot be read is reported here and keeps its partition.",
    )
    def source_configs_sensor(
        context: dg.SensorEvaluationContext, listings: ListingsResource
    ) -> dg.SensorResult:
        return _sync_configs(context, listings, loaded_crons)

    return source_configs_sensor


def _sync_configs(
    context: dg.SensorEvaluationContext,
    listings: ListingsResource,
    loaded_crons: Mapping[str, str],
) -> dg.SensorResult:
    config_dir = listings.configs_path()
    configs, errors = load_configs(config_dir)
    for message in errors:  # a broken file is reported, never a crash loop
        context.log.warning(message)
    # A file that exists but does not load (a typo being fixed) is not a deleted config: its
    # partition and stored config stay; it is only not scheduled until it loads again.
    unreadable = {p.stem for p in config_paths(config_dir)} - set(configs)
    keep = {slug for slug in unreadable if SLUG.match(slug)}
    active = {slug: c for slug, c in configs.items() if c.active}
    hashes = {slug: config_hash(c) for slug, c in sorted(configs.items())}
    state = {"configs": hashes, "unreadable": sorted(unreadable)}
    fingerprint = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    seen_fingerprint, tick_cursor = _split_cursor(context.cursor)
    changed = fingerprint != seen_fingerprint
    if changed:  # unchanged configs cost no database work
        with listings.engine().begin() as conn:
            deactivated = sync_all(conn, configs, unreadable=unreadable)
        if deactivated:
            context.log.info(f"configs no longer present, deactivated: {deactivated}")
    # A loaded schedule runs its config; this sensor runs only crons no schedule covers (every
    # active config still gets its partition).
    scheduled = []
    for slug, c in active.items():
        uncovered = c.schedule if loaded_crons.get(slug) != c.schedule else None
        if uncovered and changed:
            context.log.info(
                f"{slug}: schedule {uncovered!r} is run by this sensor until the code location"
                " is reloaded (then by its own schedule)"
            )
        scheduled.append(ScheduledConfig(slug, uncovered, hashes[slug]))
    scheduled += [ScheduledConfig(slug, None, "unreadable") for slug in sorted(keep)]
    tick = evaluate_tick(
        scheduled,
        tick_cursor,
        datetime.now(UTC),
        lambda: context.instance.get_dynamic_partitions(source_configs.name),
        recheck_partitions=changed,
    )
    for error in tick.schedule.errors:
        context.log.warning(f"{error.slug}: {error.message}")
    requests: list = []
    to_add = [slug for slug in tick.partitions.to_add if slug in active]
    if to_add:
        context.log.info(f"new partitions: {to_add}")
        requests.append(source_configs.build_add_request(to_add))
    to_remove = [slug for slug in tick.partitions.to_remove if slug not in keep]
    if to_remove:
        context.log.info(f"partitions of deleted or deactivated configs removed: {to_remove}")
        requests.append(source_configs.build_delete_request(to_remove))
    runs = [
        dg.RunRequest(
            run_key=run.run_key,
            partition_key=run.slug,
            run_config=import_run_config(trigger_type="schedule", triggered_by="schedule"),
            tags={TRIGGER_TAG: "schedule", "listings/config_version": run.config_version},
        )
        for run in tick.schedule.runs
    ]
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=requests,
        cursor=json.dumps({"configs": fingerprint, "tick": tick.cursor}),
    )


def inbox_run_key(item: InboxFile) -> str:
    """One run per uploaded file version: a re-upload (new time) is a new run, the same
    listing seen again on a later tick is not."""
    return f"inbox:{item.slug}:{item.name}:{item.fingerprint}:{item.modified.timestamp():.6f}"


def _uploadable(slug: str, config: SourceConfig | None) -> str | None:
    """Why files for `slug` cannot be imported, or None if they can."""
    if config is None:
        return f"no readable config {slug}.yaml"
    if not config.active:
        return f"config {slug!r} is inactive"
    if config.source_type not in FILE_SOURCES:
        return f"config {slug!r} reads a {config.source_type} source, not uploaded files"
    return None


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one run of a config's partition for each file uploaded to its inbox "
    "folder (LISTINGS_HOME/inbox/<slug>/, or inbox/<slug>/ in the S3 bucket). The file is "
    "moved to done/ once imported, or to failed/ with the reason.",
)
def uploads_inbox_sensor(
    context: dg.SensorEvaluationContext, listings: ListingsResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        inbox = get_inbox()
        slugs = inbox.slugs()
    except Exception as err:  # a misconfigured or unreachable store: say so, try next tick
        message = f"the uploads inbox cannot be read: {type(err).__name__}: {err}"
        context.log.error(message)
        return dg.SkipReason(message)
    if not slugs:
        return dg.SkipReason("no file waits in the uploads inbox")
    configs, _ = load_configs(listings.configs_path())
    requested = _seen(context.cursor)
    still_waiting: set[str] = set()
    runs: list[dg.RunRequest] = []
    new_partitions: list[str] = []
    for slug in slugs:
        problem = _uploadable(slug, configs.get(slug))
        if problem:
            context.log.warning(f"inbox/{slug}/: files wait but nothing is imported: {problem}")
            continue
        items = inbox.pending(slug, min_age_seconds=INBOX_MIN_AGE)
        if items and not context.instance.has_dynamic_partition(source_configs.name, slug):
            new_partitions.append(slug)  # the config is newer than the last partition sync
        for item in items:
            key = inbox_run_key(item)
            still_waiting.add(key)
            if key in requested:
                continue  # its run is queued or running; it moves the file when done
            context.log.info(f"inbox/{slug}/{item.name}: starting an import")
            runs.append(
                dg.RunRequest(
                    run_key=key,
                    partition_key=slug,
                    run_config=import_run_config(
                        inbox_file=item.location,
                        inbox_fingerprint=item.fingerprint,
                        trigger_type="upload",
                        triggered_by=f"inbox:{item.name}",
                    ),
                    tags={TRIGGER_TAG: "upload", "listings/inbox_file": item.name},
                )
            )
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=(
            [source_configs.build_add_request(new_partitions)] if new_partitions else []
        ),
        cursor=json.dumps(sorted(still_waiting)),
    )


@dg.run_failure_sensor(
    monitored_jobs=[pipeline_job],
    minimum_interval_seconds=INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Moves an uploaded file whose run failed before its import completed to the "
    "inbox's failed/ folder, with <file>.error.txt saying why.",
)
def inbox_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    raw = (run.run_config or {}).get("ops", {}).get("raw_file", {}).get("config", {})
    location, slug = raw.get("inbox_file"), run.tags.get("dagster/partition")
    if not location or not slug:
        return  # not an upload run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return  # Dagster retries the run, which imports the file
    inbox = get_inbox()
    item = find_inbox_file(inbox, slug, location)
    if item is None or item.fingerprint != raw.get("inbox_fingerprint"):
        return  # imported (moved to done/ by raw_file), or replaced by a newer upload
    reasons = [
        f"{event.step_key}: {event.event_specific_data.error.message.strip()}"  # type: ignore[union-attr]
        for event in context.get_step_failure_events()
        if event.event_specific_data and event.event_specific_data.error
    ]
    reason = "\n".join(reasons) or (context.failure_event.message or "the run failed")
    moved = inbox.move_aside(item, "failed", reason=f"Dagster run {run.run_id}:\n{reason}")
    context.log.info(f"inbox/{slug}/{item.name}: import failed, moved to {moved}")


@dg.sensor(
    job=promotion_job,
    minimum_interval_seconds=INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts promote_listings for a job stopped at the review gate as soon as its "
    "gate clears: every row decided, every hold accepted (once per job).",
)
def promotion_after_review_sensor(
    context: dg.SensorEvaluationContext, listings: ListingsResource
) -> dg.SensorResult | dg.SkipReason:
    ready = [_Job(job_id, slug) for job_id, slug in job_runs.cleared_jobs(listings.engine())]
    if not ready:
        return dg.SkipReason("no reviewed job waits for promotion")
    requested = _seen(context.cursor)
    partitions = set(context.instance.get_dynamic_partitions(source_configs.name))
    config_dir = listings.configs_path()
    runs = []
    for job in ready:
        if str(job.id) in requested:
            continue
        if job.slug not in partitions or not (config_dir / f"{job.slug}.yaml").exists():
            context.log.warning(
                f"job {job.id} of {job.slug!r} is reviewed but its config no longer exists;"
                " it is not promoted"
            )
            continue
        context.log.info(f"job {job.id} of {job.slug!r}: review finished, promoting")
        runs.append(
            dg.RunRequest(
                run_key=f"promote:{job.id}",
                partition_key=job.slug,
                tags={JOB_TAG: str(job.id), TRIGGER_TAG: "review"},
            )
        )
    # Remember only jobs still waiting: the cursor stays as small as the review queue.
    waiting = {str(job.id) for job in ready}
    cursor = sorted(waiting & (requested | {r.tags[JOB_TAG] for r in runs}), key=int)
    return dg.SensorResult(run_requests=runs, cursor=json.dumps(cursor))
