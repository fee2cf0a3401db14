"""The Dagster code location `listings_pipeline` (workspace.yaml; `dagster dev -w ...`)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from listings_pipeline.orchestration.alerts import (
    notifier_from_env,
    quality_alerts,
    run_failure_alerts,
)
from listings_pipeline.orchestration.asset_jobs import (
    images_job,
    maintenance,
    pipeline_job,
    promotion_job,
    review_approval,
)
from listings_pipeline.orchestration.assets import (
    listing_images,
    promoted_listings,
    raw_file,
    review_gate,
    staged_rows,
)
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.run_config import IMAGES_TAG
from listings_pipeline.orchestration.schedule_defs import (
    daily_maintenance,
    scheduled_crons,
    source_schedules,
)
from listings_pipeline.orchestration.sensors import (
    inbox_failure_sensor,
    make_source_configs_sensor,
    promotion_after_review_sensor,
    uploads_inbox_sensor,
)
from listings_pipeline.settings import get_settings


def listings_resource() -> ListingsResource:
    """Settings read from the environment at run time (the UI shows each variable's name)."""
    # A run, sensor or test always reads the directory of its own environment; unset, the
    # default (./configs of the working directory) is made explicit for Dagster's processes.
    os.environ.setdefault("LISTINGS_CONFIG_DIR", str(get_settings().config_dir))
    database = (
        dg.EnvVar("LISTINGS_DATABASE_URL") if os.environ.get("LISTINGS_DATABASE_URL") else None
    )
    return ListingsResource(
        config_dir=dg.EnvVar("LISTINGS_CONFIG_DIR"),
        database_url=database,
        console_url=os.environ.get("LISTINGS_CONSOLE_URL") or "http://127.0.0.1:8000",
    )


def build_definitions(config_dir: Path) -> dg.Definitions:
    """Everything Dagster shows, with one schedule per scheduled config in `config_dir`."""
    crons = scheduled_crons(config_dir)
    # Images follow promotions by their automation condition; this sensor evaluates it
    # (Dagster's default one starts stopped) and tags its runs for their own run limit.
    images_automation = dg.AutomationConditionSensorDefinition(
        "listing_images_automation",
        target=dg.AssetSelection.assets(listing_images),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        run_tags={IMAGES_TAG: "all"},
        description="Requests listing_images after promotions (one run for all sources).",
    )
    return dg.Definitions(
        assets=[raw_file, staged_rows, promoted_listings, listing_images],
        asset_checks=[review_gate],
        jobs=[pipeline_job, promotion_job, images_job, review_approval, maintenance],
        schedules=[*source_schedules(crons), daily_maintenance],
        sensors=[
            make_source_configs_sensor(crons),
            uploads_inbox_sensor,
            inbox_failure_sensor,
            promotion_after_review_sensor,
            images_automation,
            run_failure_alerts,
            quality_alerts,
        ],
        resources={
            "listings": listings_resource(),
            "notifier": notifier_from_env(),
        },
        # One process per run (the worker dagster.yaml's run limits count), steps one after
        # the other: the steps of a partition are sequential anyway, and the default
        # multiprocess executor would start a Python process per step (~5 s, ~100 MB each).
        executor=dg.in_process_executor,
    )


defs = build_definitions(get_settings().config_dir)
