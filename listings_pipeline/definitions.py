"""The Dagster code location (`dagster dev -m listings_pipeline.definitions`)."""

from __future__ import annotations

import dagster as dg

from listings_pipeline.orchestration.assets import (
    listing_images,
    promoted_listings,
    raw_file,
    review_gate,
    staged_rows,
)
from listings_pipeline.orchestration.jobs import (
    images_job,
    pipeline_job,
    promotion_job,
    review_approval,
)
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.sensors import (
    inbox_failure_sensor,
    promotion_after_review_sensor,
    source_configs_sensor,
    uploads_inbox_sensor,
)

# Images follow each promotion by their automation condition; this sensor evaluates it
# (Dagster's default one starts stopped).
images_automation = dg.AutomationConditionSensorDefinition(
    "listing_images_automation",
    target=dg.AssetSelection.assets(listing_images),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests listing_images for each partition whose promoted_listings was "
    "materialised since the last tick.",
)

defs = dg.Definitions(
    assets=[raw_file, staged_rows, promoted_listings, listing_images],
    asset_checks=[review_gate],
    jobs=[pipeline_job, promotion_job, images_job, review_approval],
    sensors=[
        source_configs_sensor,
        uploads_inbox_sensor,
        inbox_failure_sensor,
        promotion_after_review_sensor,
        images_automation,
    ],
    resources={"listings": ListingsResource()},
    # One process per run (the worker dagster.yaml's run limits count), steps one after the
    # other: the steps of a partition are sequential anyway, and the default multiprocess
    # executor would start a Python process per step (~5 s and ~100 MB each).
    executor=dg.in_process_executor,
)
