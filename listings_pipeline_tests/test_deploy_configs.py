"""The Dagster instance files load the way Dagster loads them, and mean what they say."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, QueuedRunCoordinator
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.ref import InstanceRef
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import pg_url_from_config
from sqlalchemy import Engine, text

from listings_pipeline.orchestration.instance import INSTANCE_YAML
from listings_pipeline.orchestration.instance_config import check_instance_config

ROOT = Path(__file__).resolve().parent.parent
LOCAL = INSTANCE_YAML
ECS = ROOT / "deploy" / "dagster.ecs.yaml"

ECS_ENV = {
    "DAGSTER_PG_HOST": "dagster-db.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_COMPUTE_LOG_BUCKET": "listings-logs",
    "DAGSTER_COMPUTE_LOG_PREFIX": "dagster/compute-logs",
}


def read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write(directory: Path, config: dict[str, Any]) -> Path:
    path = directory / "dagster.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def ecs_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ECS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def local_instance(tmp_path: Path, dagster_storage: str) -> Iterator[DagsterInstance]:
    shutil.copy(LOCAL, tmp_path / "dagster.yaml")
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    yield instance
    instance.dispose()


def test_local_config_gives_the_intended_instance(
    local_instance: DagsterInstance, tmp_path: Path
) -> None:
    assert check_instance_config(LOCAL) == []
    instance = local_instance
    # Dagster's queue (its daemon dequeues), which also works without a daemon.
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert type(instance.run_coordinator).__name__ == "ListingsRunCoordinator"
    concurrency = instance.get_concurrency_config()
    assert concurrency.run_queue_config is not None
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.run_queue_config.tag_concurrency_limits == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
        {"key": "listings/images", "limit": 1},
    ]
    assert concurrency.pool_config.default_pool_limit == 2
    assert concurrency.pool_config.pool_granularity.value == "op"
    assert instance.event_log_storage.supports_global_concurrency_limits
    assert (instance.run_retries_enabled, instance.run_retries_max_retries) == (True, 2)
    assert instance.run_retries_retry_on_asset_or_op_failure is False
    assert instance.run_monitoring_enabled
    assert instance.telemetry_enabled is False
    # Runs, event logs and schedules in PostgreSQL: no SQLite storage anywhere.
    storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    assert [type(s).__name__ for s in storages] == [
        "PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage",
    ]  # fmt: skip
    assert not list(tmp_path.rglob("*.db")) and not (tmp_path / "history").exists()


def test_run_queue_starts_at_most_one_run_per_source(local_instance: DagsterInstance) -> None:
    instance = local_instance
    location = RegisteredCodeLocationOrigin("listings_pipeline")
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "import_job")

    def run(partition: str, status: DagsterRunStatus) -> str:
        tags = {"dagster/partition": partition}
        created = create_run_for_test(
            instance, "import_job", status=status, tags=tags, remote_job_origin=origin
        )
        return created.run_id

    run("coast-api", DagsterRunStatus.STARTED)
    alpine_1 = run("alpine-csv", DagsterRunStatus.QUEUED)
    run("alpine-csv", DagsterRunStatus.QUEUED)  # waits for alpine_1
    run("coast-api", DagsterRunStatus.QUEUED)  # waits for the started coast-api run
    lake = run("lake-json", DagsterRunStatus.QUEUED)

    daemon = QueuedRunCoordinatorDaemon(interval_seconds=5)
    to_start = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), None)
    assert [r.run_id for r in to_start] == [alpine_1, lake]

    for partition in ("p1", "p2", "p3"):
        run(partition, DagsterRunStatus.STARTED)  # 4 in progress: the limit
    to_start = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), None)
    assert to_start == []


def test_ecs_config_is_valid_with_its_environment(ecs_env: None) -> None:
    assert check_instance_config(ECS) == []

    storage = read(ECS)["storage"]["postgres"]
    resolved = process_config(
        resolve_to_config_type(DagsterPostgresStorage.config_type()), storage
    ).value
    assert pg_url_from_config(resolved) == (
        "postgresql+psycopg2://dagster:not-a-real-password@dagster-db.internal:5432/dagster"
        "?sslmode=require"
    )


def test_ecs_config_names_each_missing_variable(
    ecs_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    monkeypatch.delenv("DAGSTER_COMPUTE_LOG_BUCKET")
    assert check_instance_config(ECS) == [
        f"{ECS}: storage: dagster_postgres.DagsterPostgresStorage: postgres_db.password: "
        'You have attempted to fetch the environment variable "DAGSTER_PG_PASSWORD" which is '
        "not set. In order for this execution to succeed it must be set in this environment.",
        f"{ECS}: compute_logs: dagster_aws.s3.compute_log_manager.S3ComputeLogManager: bucket: "
        'You have attempted to fetch the environment variable "DAGSTER_COMPUTE_LOG_BUCKET" '
        "which is not set. In order for this execution to succeed it must be set in this "
        "environment.",
    ]


def test_local_and_ecs_apply_the_same_limits() -> None:
    local, ecs = read(LOCAL), read(ECS)
    for key in ("concurrency", "run_retries", "telemetry"):
        assert local[key] == ecs[key], key
    assert local["run_coordinator"]["config"] == ecs["run_coordinator"]["config"]


def _typo(config: dict[str, Any]) -> None:
    runs = config["concurrency"]["runs"]
    runs["max_concurent_runs"] = runs.pop("max_concurrent_runs")


def _cpu_as_number(config: dict[str, Any]) -> None:
    config["run_launcher"]["config"]["run_resources"]["cpu"] = 512


def _limit_in_two_places(config: dict[str, Any]) -> None:
    config["run_coordinator"]["config"]["max_concurrent_runs"] = 2


def _bad_granularity(config: dict[str, Any]) -> None:
    config["concurrency"]["pools"]["granularity"] = "step"


def _kubernetes(config: dict[str, Any]) -> None:
    config["run_launcher"] = {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": {}}


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_typo, 'Received unexpected config entry "max_concurent_runs" at path root:concurrency'),
        (
            _cpu_as_number,
            "run_launcher: dagster_aws.ecs.EcsRunLauncher: Invalid scalar at path "
            'root:run_resources:cpu. Value "512" of type "<class \'int\'>" is not valid for '
            'expected type "String".',
        ),
        (
            _limit_in_two_places,
            "Found config value for `['max_concurrent_runs']` in `run_coordinator` which is"
            " incompatible with the `concurrency > runs` config",
        ),
        (_bad_granularity, "Found value `step` for `granularity`, Expected value 'run' or 'op'."),
        (_kubernetes, "run_launcher: cannot load dagster_k8s.K8sRunLauncher: No module named"),
    ],
    ids=["typo", "wrong-type", "conflict", "bad-value", "missing-package"],
)
def test_a_broken_copy_fails_with_a_clear_message(
    ecs_env: None, tmp_path: Path, breakage: Any, expected: str
) -> None:
    config = read(ECS)
    breakage(config)
    problems = check_instance_config(write(tmp_path, config))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'dagster.yaml'}: ")
    assert expected in problems[0]


def test_ecs_storage_settings_work_on_a_real_postgresql(
    migrated_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's tables on PostgreSQL through the file's psycopg2 scheme (SQLAlchemy 2.1).

    Only the connection target comes from the test server; the run launcher and compute
    logs need AWS and are left out.
    """
    url = migrated_engine.url
    database = "dagster_deploy_test"
    with migrated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {database}"))
    env = {
        "DAGSTER_PG_HOST": url.host or "",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USERNAME": url.username or "",
        "DAGSTER_PG_PASSWORD": url.password or "",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = read(ECS)
    del config["run_launcher"], config["compute_logs"]
    # The embedded server listens on a Unix socket (host=...) and has no TLS.
    config["storage"]["postgres"]["postgres_db"]["params"] = dict(url.query)
    write(tmp_path, config)

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(tmp_path)))
    try:
        instance.upgrade()  # what `dagster instance migrate` runs
        run = create_run_for_test(instance, tags={"dagster/partition": "alpine-csv"})
        assert instance.get_run_by_id(run.run_id).tags["dagster/partition"] == "alpine-csv"
        instance.event_log_storage.set_concurrency_slots("listings_db", 2)
        assert instance.event_log_storage.get_concurrency_info("listings_db").slot_count == 2
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
    finally:
        instance.dispose()
        with migrated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))
