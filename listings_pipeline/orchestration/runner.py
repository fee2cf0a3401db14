"""Run partitions through the Dagster instance from scripts and the CLI, so every run shows
in the UI exactly as if it had been launched there."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from listings_pipeline.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def prepare_dagster_home() -> Path:
    """DAGSTER_HOME defaults to $LISTINGS_HOME/dagster, with the project's dagster.yaml."""
    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    source = REPO_ROOT / "dagster.yaml"
    if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> dg.DagsterInstance:
    prepare_dagster_home()
    return dg.DagsterInstance.get()


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    failures: list[str]
    gate: dict[str, Any] | None


def _execute(
    job_name: str, slug: str, run_config: dict[str, Any], tags: dict[str, str]
) -> RunOutcome:
    from listings_pipeline.definitions import defs
    from listings_pipeline.orchestration.partitions import source_configs

    instance = get_instance()
    if not instance.has_dynamic_partition(source_configs.name, slug):
        try:
            instance.add_dynamic_partitions(source_configs.name, [slug])
        except Exception:  # another run of a new source added it meanwhile
            if not instance.has_dynamic_partition(source_configs.name, slug):
                raise
    job = defs.resolve_job_def(job_name)
    # The run's events are in the instance (and the UI); the terminal gets only what matters.
    level = os.environ.get("LISTINGS_DAGSTER_LOG_LEVEL", "CRITICAL").upper()
    run_config = {**run_config, "loggers": {"console": {"config": {"log_level": level}}}}
    # Dagster's own log lines go to stderr; keep stdout for the CLI's answer.
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        warnings.simplefilter("ignore", category=dg.PreviewWarning)
        result = job.execute_in_process(
            instance=instance,
            partition_key=slug,
            run_config=run_config,
            tags=tags,
            raise_on_error=False,
        )
    failures = [
        e.event_specific_data.error.message.strip()  # type: ignore[union-attr]
        for e in result.all_events
        if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
    ]
    gate = None
    for evaluation in result.get_asset_check_evaluations():
        gate = {
            "passed": evaluation.passed,
            "description": evaluation.description,
        }
    return RunOutcome(run_id=result.run_id, success=result.success, failures=failures, gate=gate)


def run_partition(
    slug: str, input_path: Path | None, *, trigger_type: str = "manual", triggered_by: str = "cli"
) -> RunOutcome:
    config = {
        "ops": {
            "raw_file": {
                "config": {
                    "input_path": str(input_path.resolve()) if input_path else None,
                    "trigger_type": trigger_type,
                    "triggered_by": triggered_by,
                }
            }
        }
    }
    return _execute("listings_pipeline", slug, config, {"listings/trigger": trigger_type})


def promote_partition(slug: str) -> RunOutcome:
    return _execute("promote_listings", slug, {}, {"listings/trigger": "manual"})
