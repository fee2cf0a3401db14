"""The Dagster code location (`dagster dev -m listings_pipeline.definitions`)."""

from __future__ import annotations

import dagster as dg

from listings_pipeline.orchestration.assets import (
    promoted_listings,
    raw_file,
    review_gate,
    staged_rows,
)
from listings_pipeline.orchestration.jobs import pipeline_job, promotion_job, review_approval
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.sensors import source_configs_sensor

defs = dg.Definitions(
    assets=[raw_file, staged_rows, promoted_listings],
    asset_checks=[review_gate],
    jobs=[pipeline_job, promotion_job, review_approval],
    sensors=[source_configs_sensor],
    resources={"listings": ListingsResource()},
)
