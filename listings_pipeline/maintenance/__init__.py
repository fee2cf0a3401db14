"""Maintenance of the pipeline's own state (no Dagster here; the daily schedules call these):
failing jobs a dead worker left behind, and stage retention."""

from listings_pipeline.maintenance.retention import PruneResult, prune_stage
from listings_pipeline.maintenance.sweep import SweepResult, fail_dead_jobs, sweep_stale_jobs

__all__ = ["PruneResult", "SweepResult", "fail_dead_jobs", "prune_stage", "sweep_stale_jobs"]
