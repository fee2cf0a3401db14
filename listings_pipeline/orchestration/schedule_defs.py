"""Schedules, visible in the UI (Automation) with their next tick:

* one per source config with a `schedule:` cron, built from the config files when the code
  location loads (name: `<slug>_schedule`); a config added or re-timed later is run on time by
  source_configs_sensor until the code location is reloaded (Deployment → Reload), which then
  shows its schedule;
* `daily_maintenance`: the stale-job sweep, stage retention, and expiry and archival of
  listings every night.
"""

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from listings_pipeline.configs import load_configs
from listings_pipeline.orchestration.asset_jobs import maintenance, pipeline_job
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.run_config import TRIGGER_TAG, import_run_config

MAINTENANCE_CRON = "15 3 * * *"  # 03:15 UTC: after the nightly imports most sources schedule


def schedule_name(slug: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", slug) + "_schedule"
    if name in taken:  # "a-b" and "a_b" would share a name
        name = f"{name}_{hashlib.sha1(slug.encode()).hexdigest()[:6]}"
    taken.add(name)
    return name


def source_schedule(slug: str, cron: str, name: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=name,
        cron_schedule=cron,
        job=pipeline_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs source config {slug!r} ({cron}, UTC), from its config file's "
        "`schedule`.",
        tags={"listings/source": slug},
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        if not context.instance.has_dynamic_partition(source_configs.name, slug):
            context.instance.add_dynamic_partitions(source_configs.name, [slug])
        when = context.scheduled_execution_time
        return dg.RunRequest(
            run_key=f"{slug}:{when.isoformat() if when else 'now'}",
            partition_key=slug,
            run_config=import_run_config(trigger_type="schedule", triggered_by="schedule"),
            tags={TRIGGER_TAG: "schedule"},
        )

    return _schedule


def scheduled_crons(config_dir: Path) -> dict[str, str]:
    """slug → cron of every active config with a schedule (unreadable files are skipped here;
    source_configs_sensor reports them)."""
    configs, _ = load_configs(config_dir)
    return {s: c.schedule for s, c in sorted(configs.items()) if c.active and c.schedule}


def source_schedules(crons: Mapping[str, str]) -> list[dg.ScheduleDefinition]:
    taken: set[str] = set()
    return [source_schedule(slug, cron, schedule_name(slug, taken)) for slug, cron in crons.items()]


daily_maintenance = dg.ScheduleDefinition(
    name="daily_maintenance",
    job=maintenance,
    cron_schedule=MAINTENANCE_CRON,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The stale-job sweep, stage retention, and expiry and archival of listings, "
    "every night.",
)
