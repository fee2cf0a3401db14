"""No job left behind (issue 15): a worker killed -9 in the middle of a stage leaves its job
running and its lock free; the next run of the source (or the sweep) marks the job failed with
the reason, removes what the killed import wrote but never registered, and ends with the same
production as one clean run."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.importing.raw_store import get_raw_store
from listings_pipeline.maintenance import sweep_stale_jobs
from listings_pipeline.settings import get_settings
from listings_pipeline_tests.conftest import _TRUNCATE
from listings_pipeline_tests.helpers import write_csv
from listings_pipeline_tests.review_helpers import checksums, run_job, stage_job
from listings_pipeline_tests.test_runs_locks import config_data, places
from listings_pipeline_tests.workers import (
    PAUSE_IN_IMPORT,
    PAUSE_IN_PROMOTE,
    PAUSE_IN_TRANSFORM,
    Worker,
)

if TYPE_CHECKING:
    from listings_pipeline_tests.s3_server import S3

pytest_plugins = ["listings_pipeline_tests.s3_server"]

ROWS = 250
DATA = config_data(
    **{"import": {"source_id": {"field": "ID"}, "max_records_per_file": 100}},
)


def unfinished_jobs(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id, status FROM pipeline.jobs WHERE status IN ('pending', 'running')")
        ).all()


def job(engine: Engine, job_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, error_message, raw_prefix FROM pipeline.jobs WHERE id = :j"),
            {"j": job_id},
        ).one()
    return dict(row._mapping)


def leftovers(engine: Engine) -> list[str]:
    """Stored keys of any job that pipeline.files does not register (an import's original
    upload is kept beside its registered files), and partial writes."""
    store = get_raw_store()
    found = []
    with engine.connect() as conn:
        registered = set(conn.execute(text("SELECT file_path FROM pipeline.files")).scalars())
        jobs = conn.execute(
            text(
                "SELECT j.raw_prefix, i.status FROM pipeline.jobs j JOIN pipeline.job_stages i"
                " ON i.job_id = j.id AND i.name = 'import' WHERE j.raw_prefix IS NOT NULL"
            )
        ).all()
    for prefix, import_status in jobs:
        for key in store.keys(prefix + "-"):
            original = import_status == "completed" and key.startswith(prefix + "-original")
            if key not in registered and not original:
                found.append(key)
        raw = get_settings().raw_dir / prefix
        found += [str(p) for p in raw.parent.glob(f".tmp-{raw.name}*")]
    return found


def kill_in(stage: str, engine: Engine, config: SourceConfig, path: Path) -> Worker:
    if stage == "import":
        worker = Worker(PAUSE_IN_IMPORT, DATA, input=path, pause_at=230)
    elif stage == "transform":
        worker = Worker(PAUSE_IN_TRANSFORM, DATA, input=path, batch_rows=100)
    else:
        staged = stage_job(engine, config, path.parent / "staged", places(ROWS))
        worker = Worker(PAUSE_IN_PROMOTE, DATA, job=staged, batch_rows=100)
    worker.wait_paused()
    worker.kill()
    return worker


@pytest.mark.parametrize("stage", ["import", "transform", "promote"])
def test_a_worker_killed_mid_stage_is_failed_by_the_next_run(
    engine: Engine, tmp_path: Path, stage: str
) -> None:
    config = SourceConfig.model_validate(DATA)
    shutil.rmtree(get_settings().raw_dir, ignore_errors=True)
    run_job(engine, config, tmp_path / "reference", places(ROWS))
    reference = checksums(engine, ignore_jobs=True)
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(_TRUNCATE)
    shutil.rmtree(get_settings().raw_dir, ignore_errors=True)

    path = write_csv(tmp_path / "in.csv", places(ROWS))
    worker = kill_in(stage, engine, config, path)
    killed = job(engine, 1)
    assert killed["status"] == "running"  # what the killed worker left
    if stage == "import":  # files it rotated (complete, unregistered) and the one it was writing
        assert len(leftovers(engine)) == 3

    next_job = run_job(engine, config, tmp_path / "next", places(ROWS))
    assert next_job == 2
    failed = job(engine, 1)
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith(
        f"worker {socket.gethostname()}:{worker.pid} died during {stage} (started "
    )
    assert "found by the next run" in failed["error_message"]
    assert unfinished_jobs(engine) == []
    assert leftovers(engine) == []
    assert checksums(engine, ignore_jobs=True) == reference


def test_a_killed_import_leaves_nothing_in_s3(
    engine: Engine, tmp_path: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTINGS_RAW_STORE", "s3")
    monkeypatch.setenv("LISTINGS_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("LISTINGS_S3_PREFIX", "lp")
    monkeypatch.setenv("LISTINGS_S3_ENDPOINT_URL", s3.endpoint)
    config = SourceConfig.model_validate(DATA)
    path = write_csv(tmp_path / "in.csv", places(ROWS))
    kill_in("import", engine, config, path)
    prefix = "lp/" + job(engine, 1)["raw_prefix"]
    listed = s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)["Contents"]
    assert len(listed) == 2  # the rotated files; the third was still being spooled locally
    # A worker killed inside an upload leaves it open (invisible, but stored and billed).
    s3.client.create_multipart_upload(Bucket=s3.bucket, Key=f"{prefix}-03.jsonl.gz")

    run_job(engine, config, tmp_path / "next", places(ROWS))
    assert job(engine, 1)["status"] == "failed"
    assert "Contents" not in s3.client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
    assert "Uploads" not in s3.client.list_multipart_uploads(Bucket=s3.bucket, Prefix=prefix)
    assert leftovers(engine) == []


def test_the_sweep_fails_dead_and_abandoned_jobs_and_leaves_live_ones(
    engine: Engine, tmp_path: Path
) -> None:
    dead_config = SourceConfig.model_validate(DATA)
    live_data = config_data("live-csv", 2)
    idle_config = SourceConfig.model_validate(config_data("idle-csv", 3))
    kill_in("transform", engine, dead_config, write_csv(tmp_path / "in.csv", places(ROWS)))
    # A job whose worker stopped between import and transform, seven hours ago.
    idle_path = write_csv(tmp_path / "idle.csv", places(5, start=500))
    idle = pipeline.start_job(engine, idle_config, input_path=idle_path)
    pipeline.import_stage(engine, idle, idle_config, idle_path)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE pipeline.job_stages SET started_at = started_at - interval '7 hours',"
                " finished_at = finished_at - interval '7 hours' WHERE job_id = :j"
            ),
            {"j": idle},
        )
        conn.execute(
            text("UPDATE pipeline.jobs SET started_at = started_at - interval '7 hours'"),
        )
    live = Worker(
        PAUSE_IN_TRANSFORM, live_data, input=write_csv(tmp_path / "live.csv", places(300, 1000))
    )
    live.wait_paused()
    try:
        result = sweep_stale_jobs(engine)
    finally:
        live.resume()
    assert live.finish()["job"] == 3
    assert sorted((j.job_id, j.slug, j.stage) for j in result.failed) == [
        (1, "runs-csv", "transform"),
        (idle, "idle-csv", "import"),
    ]
    assert result.busy == ["live-csv"]
    assert job(engine, 1)["error_message"].startswith("worker ")
    assert "found by the sweep" in job(engine, 1)["error_message"]
    assert job(engine, idle)["error_message"].startswith(
        "abandoned: no worker took job 2 further after its import, and nothing happened to it"
    )
    assert job(engine, 3)["status"] == "running"  # transformed, waiting for its promotion
    # A failed job whose import completed still resumes.
    assert pipeline.resumable_job(engine, "idle-csv") == idle
    pipeline.transform_stage(engine, idle, idle_config)
    pipeline.promote_stage(engine, idle, idle_config, promoted_by="test")
    assert job(engine, idle)["status"] == "completed"
