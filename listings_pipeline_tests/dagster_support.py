"""Helpers for the orchestration tests: configs on disk, sensor ticks and in-process runs
against a real (temporary) Dagster instance."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from sqlalchemy import Engine, text

from listings_pipeline.definitions import defs
from listings_pipeline.orchestration.alerts import NotifierResource
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.resources import ListingsResource
from listings_pipeline.orchestration.sensors import make_source_configs_sensor
from listings_pipeline.settings import get_settings
from listings_pipeline_tests.helpers import csv_config

# The sensor as the code location builds it when no config has a schedule of its own.
source_configs_sensor = make_source_configs_sensor({})


def listings_resource() -> ListingsResource:
    """The resource as a run of the current test sees it (its LISTINGS_CONFIG_DIR)."""
    return ListingsResource(config_dir=str(get_settings().config_dir))


def write_source(config_dir: Path, slug: str, **overrides: Any) -> Path:
    """A CSV source config file (helpers.csv_config) named after its slug; `overrides` replace
    top-level keys unchecked, so a test can write an invalid file."""
    path = config_dir / f"{slug}.yaml"
    body = {**csv_config(slug).to_json(), **overrides}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None = None
) -> Any:
    """One evaluation of `sensor`, as the daemon would run it."""
    context = dg.build_sensor_context(
        instance=instance,
        instance_ref=instance.get_ref(),  # as in the daemon: partitions are read through it
        cursor=cursor,
        definitions=defs,
        resources={"listings": listings_resource(), "notifier": NotifierResource()},
    )
    return sensor.evaluate_tick(context)


def apply_partitions(instance: dg.DagsterInstance, data: Any) -> None:
    """Apply a tick's partition requests, as the daemon does."""
    for request in data.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(source_configs.name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(source_configs.name, key)


def execute(
    instance: dg.DagsterInstance,
    job_name: str,
    partition: str,
    run_config: dict | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    if not instance.has_dynamic_partition(source_configs.name, partition):
        instance.add_dynamic_partitions(source_configs.name, [partition])
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        partition_key=partition,
        run_config=run_config or {},
        tags=tags,
        raise_on_error=False,
    )


def run_request(instance: dg.DagsterInstance, request: dg.RunRequest, job_name: str) -> Any:
    """Launch what a sensor asked for, in process."""
    return execute(
        instance, job_name, request.partition_key or "", request.run_config, dict(request.tags)
    )


def import_config(path: str | Path) -> dict:
    return {"ops": {"raw_file": {"config": {"input_path": str(path)}}}}


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        e.event_specific_data.error.message
        for e in result.all_events
        if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
    ]


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values of the run's materialisation of `asset`."""
    for event in result.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey(asset):
            meta = event.step_materialization_data.materialization.metadata
            return {k: v.value for k, v in meta.items()}
    raise AssertionError(f"{asset} was not materialised")


def age(path: Path, seconds: float) -> Path:
    """Make an upload look finished (older than the inbox's min age)."""
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def pipeline_job() -> dg.JobDefinition:
    return defs.resolve_job_def("listings_pipeline")


def reexecute_from_failure(instance: dg.DagsterInstance, run_id: str) -> dg.ExecuteJobResult:
    """What "Re-execute from failure" in the UI does: a child run of the failed steps."""
    options = dg.ReexecutionOptions.from_failure(run_id, instance)
    parent = instance.get_run_by_id(run_id)
    assert parent is not None
    with dg.execute_job(
        dg.reconstructable(pipeline_job),
        instance=instance,
        reexecution_options=options,
        tags=parent.tags,  # as the UI does: the partition and the rest of the parent's tags
        raise_on_error=False,
    ) as result:
        assert result.dagster_run.parent_run_id == run_id
        return result


def fail_stage_inserts(engine: Engine, sqlstate: str, message: str, times: int = 10**9) -> None:
    """Make inserts into the stage table fail with SQLSTATE `sqlstate`, `times` times (a
    sequence counts them: it is not rolled back with the failed transaction)."""
    with engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE public.test_failures"))
        conn.execute(
            text(
                "CREATE FUNCTION public.test_fail() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN IF nextval('public.test_failures') <= {int(times)} THEN"
                f" RAISE EXCEPTION '{message}' USING ERRCODE = '{sqlstate}';"
                " END IF; RETURN NULL; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER test_fail BEFORE INSERT ON stage.listings_flat"
                " FOR EACH STATEMENT EXECUTE FUNCTION public.test_fail()"
            )
        )


def heal_stage_inserts(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS test_fail ON stage.listings_flat"))
        conn.execute(text("DROP FUNCTION IF EXISTS public.test_fail()"))
        conn.execute(text("DROP SEQUENCE IF EXISTS public.test_failures"))
