"""Sensors: one partition per active config, and each config's cron schedule."""

import hashlib
import json
from datetime import UTC, datetime

import dagster as dg

from listings_pipeline.configs import load_configs
from listings_pipeline.configs.sync import config_hash, sync_all
from listings_pipeline.orchestration.jobs import pipeline_job
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.schedules import ScheduledConfig, evaluate_tick


def _split_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    try:
        parts = json.loads(cursor) if cursor else {}
        return parts.get("configs"), parts.get("tick")
    except (ValueError, AttributeError):
        return None, None


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Keeps one partition per active source config (adds new, removes deleted), "
    "syncs pipeline.configs, and starts each config's run when its cron schedule is due.",
)
def source_configs_sensor(
    context: dg.SensorEvaluationContext, listings: ListingsResource
) -> dg.SensorResult:
    configs, errors = load_configs(listings.config_dir())
    for message in errors:  # a broken file is reported, never a crash loop
        context.log.warning(message)
    active = {slug: c for slug, c in configs.items() if c.active}
    hashes = {slug: config_hash(c) for slug, c in sorted(configs.items())}
    fingerprint = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    seen_fingerprint, tick_cursor = _split_cursor(context.cursor)
    if fingerprint != seen_fingerprint:  # unchanged configs cost no database work
        with listings.engine().begin() as conn:
            deactivated = sync_all(conn, configs)
        if deactivated:
            context.log.info(f"configs no longer present, deactivated: {deactivated}")
    tick = evaluate_tick(
        [ScheduledConfig(slug, c.schedule, hashes[slug]) for slug, c in active.items()],
        tick_cursor,
        datetime.now(UTC),
        lambda: context.instance.get_dynamic_partitions(source_configs.name),
    )
    for error in tick.schedule.errors:
        context.log.warning(f"{error.slug}: {error.message}")
    requests: list = []
    if tick.partitions.to_add:
        requests.append(source_configs.build_add_request(tick.partitions.to_add))
    if tick.partitions.to_remove:
        requests.append(source_configs.build_delete_request(tick.partitions.to_remove))
    runs = [
        dg.RunRequest(
            run_key=run.run_key,
            partition_key=run.slug,
            run_config={
                "ops": {
                    "raw_file": {"config": {"trigger_type": "schedule", "triggered_by": "schedule"}}
                }
            },
            tags={"listings/trigger": "schedule", "listings/config_version": run.config_version},
        )
        for run in tick.schedule.runs
    ]
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=requests,
        cursor=json.dumps({"configs": fingerprint, "tick": tick.cursor}),
    )
