"""Sensors: keep one partition per active config."""

import dagster as dg

from listings_pipeline.configs import load_configs
from listings_pipeline.configs.sync import sync_all
from listings_pipeline.orchestration.jobs import pipeline_job
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a partition for each active source config and removes deleted ones.",
)
def source_config_partitions(
    context: dg.SensorEvaluationContext, listings: ListingsResource
) -> dg.SensorResult:
    configs, errors = load_configs(listings.config_dir())
    for message in errors:
        context.log.warning(message)
    active = sorted(slug for slug, c in configs.items() if c.active)
    with listings.engine().begin() as conn:
        sync_all(conn, configs)
    existing = set(context.instance.get_dynamic_partitions(source_configs.name))
    add = [s for s in active if s not in existing]
    remove = sorted(existing - set(active))
    return dg.SensorResult(
        dynamic_partitions_requests=[
            *([source_configs.build_add_request(add)] if add else []),
            *([source_configs.build_delete_request(remove)] if remove else []),
        ],
        skip_reason=None if add or remove else "configs unchanged",
    )
