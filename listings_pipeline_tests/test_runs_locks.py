"""One run per source at a time, whatever starts it (issue 15): the source lock every stage
holds, what a second run is told, supersession re-checked under the lock, and the DMO's
catalogue lock between two configs of one DMO. Second runs here are real other processes."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.locks import CatalogueBusy, SourceBusy, source_lock
from listings_pipeline.review import decide
from listings_pipeline_tests.conftest import _TRUNCATE, count
from listings_pipeline_tests.helpers import place, write_csv
from listings_pipeline_tests.review_helpers import checksums, run_job, stage_job
from listings_pipeline_tests.workers import PAUSE_IN_PROMOTE, PAUSE_IN_TRANSFORM, Worker


def config_data(slug: str = "runs-csv", dmo_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "dmo_id": dmo_id,
        "dmo_name": f"DMO {dmo_id}",
        "name": f"{slug} listings",
        "source_type": "csv",
        "import": {"source_id": {"field": "ID"}},
        "transform": {
            "map_fields": {
                "listings.name": "Name",
                "locations.address1": "Address1",
                "locations.city": "City",
                "locations.lat": "Lat",
                "locations.lng": "Lng",
                "listing_info.description": "Description",
                "contact_info.email": "Email",
            }
        },
        **extra,
    }


def places(n: int, start: int = 0, prefix: str = "P", **overrides: str) -> list[dict[str, str]]:
    return [place(i, ID=f"{prefix}{i}", Image1="", **overrides) for i in range(start, start + n)]


def job_row(engine: Engine, job_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, error_message FROM pipeline.jobs WHERE id = :j"), {"j": job_id}
        ).one()
    return dict(row._mapping)


@pytest.fixture
def quick_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTINGS_SOURCE_LOCK_WAIT_SECONDS", "0.3")
    monkeypatch.setenv("LISTINGS_CATALOGUE_LOCK_WAIT_SECONDS", "0.3")


def test_a_second_run_is_refused_naming_the_running_job(
    engine: Engine, tmp_path: Path, quick_refusal: None
) -> None:
    data = config_data()
    config = SourceConfig.model_validate(data)
    path = write_csv(tmp_path / "a.csv", places(300))
    worker = Worker(PAUSE_IN_TRANSFORM, data, input=path)
    worker.wait_paused()
    try:
        with pytest.raises(SourceBusy) as refused:
            pipeline.start_job(engine, config, input_path=path)
        message = str(refused.value)
        assert "source 'runs-csv' is busy: job 1 of 'runs-csv' is in its transform since" in message
        assert f"(worker {socket.gethostname()}:{worker.pid})" in message
        assert "waited 0.3 s" in message and "LISTINGS_SOURCE_LOCK_WAIT_SECONDS" in message
        assert count(engine, "pipeline.jobs") == 1  # a refused run leaves no job behind
        # A reviewer's decision waits for the source too (and is refused the same way).
        with pytest.raises(SourceBusy, match="job 1 of 'runs-csv' is in its transform"):
            decide(engine, 1, "approve", all_rows=True, reviewer="rita")
    finally:
        worker.resume()
    assert worker.finish() == {"job": 1}
    job = pipeline.start_job(engine, config, input_path=path)  # free again
    assert job == 2


def test_a_killed_holder_frees_the_source_and_its_job_resumes(
    engine: Engine, tmp_path: Path, quick_refusal: None
) -> None:
    data = config_data()
    config = SourceConfig.model_validate(data)
    path = write_csv(tmp_path / "a.csv", places(300))
    worker = Worker(PAUSE_IN_TRANSFORM, data, input=path)
    worker.wait_paused()
    worker.kill()
    assert job_row(engine, 1)["status"] == "running"
    # The session died with the process: the lock is free at once, no timeout to wait out.
    with source_lock(engine, "runs-csv", stage="test", wait=0):
        pass
    result = pipeline.transform_stage(engine, 1, config)  # resumes after the staged batch
    assert result.resumed_from == 100
    with engine.connect() as conn:
        message = conn.execute(
            text("SELECT message FROM pipeline.job_stages WHERE job_id = 1 AND name = 'import'")
        ).scalar()
        attempts = conn.execute(
            text(
                "SELECT attempt_count FROM pipeline.job_stages"
                " WHERE job_id = 1 AND name = 'transform'"
            )
        ).scalar()
    assert message is None and attempts == 2
    pipeline.promote_stage(engine, 1, config, promoted_by="test")
    assert count(engine, "public.listings") == 300


def test_an_older_job_cannot_work_once_a_newer_one_transforms(
    engine: Engine, tmp_path: Path
) -> None:
    config = SourceConfig.model_validate(config_data())
    old_path = write_csv(tmp_path / "old.csv", places(5))
    old = pipeline.start_job(engine, config, input_path=old_path)
    pipeline.import_stage(engine, old, config, old_path)
    new = stage_job(engine, config, tmp_path / "new", places(6))
    with pytest.raises(pipeline.JobSuperseded, match=f"job {old} .* superseded by job {new}"):
        pipeline.transform_stage(engine, old, config)
    assert job_row(engine, old) == {
        "status": "superseded",
        "error_message": f"superseded by job {new}, a newer import of the same source",
    }
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM stage.listings_flat WHERE job_id = :j"), {"j": old}
            ).scalar()
            == 0
        )  # no decision made against the state the newer job will change


def test_waiting_job_new_run_and_promotion_of_the_old_one(
    engine: Engine, tmp_path: Path, quick_refusal: None
) -> None:
    """A job waits at the gate (an approved deletion); a new run of the source starts; the old
    job's promotion is refused while the new run transforms (naming it), and refused as
    superseded afterwards. Production ends as the new run alone leaves it."""
    data = config_data()
    config = SourceConfig.model_validate(data)
    first, second, third = places(60), places(59), places(58) + places(1, start=100)
    # The reference: the same jobs one after the other, nothing concurrent.
    run_job(engine, config, tmp_path / "ref", first)
    stage_job(engine, config, tmp_path / "ref", second)
    third_path = write_csv(tmp_path / "third.csv", third)
    reference_job = stage_job(engine, config, tmp_path / "ref", third)
    decide(engine, reference_job, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, reference_job, config, promoted_by="test")
    reference = checksums(engine, ignore_jobs=True)

    with engine.begin() as conn:
        conn.connection.driver_connection.execute(_TRUNCATE)
    run_job(engine, config, tmp_path / "a", first)
    waiting = stage_job(engine, config, tmp_path / "b", second)  # P59 missing: a deletion
    assert not pipeline.gate(engine, waiting).passed
    decide(engine, waiting, "approve", kind="delete", reviewer="rita")

    worker = Worker(PAUSE_IN_TRANSFORM, data, input=third_path, batch_rows=20, promote=False)
    worker.wait_paused()
    try:
        with pytest.raises(SourceBusy, match=r"job 3 of 'runs-csv' is in its transform"):
            pipeline.promote_stage(engine, waiting, config, promoted_by="rita")
    finally:
        worker.resume()
    assert worker.finish() == {"job": 3}
    with pytest.raises(pipeline.PromotionRefused, match=f"job {waiting} .* superseded by job 3"):
        pipeline.promote_stage(engine, waiting, config, promoted_by="rita")
    assert count(engine, "public.listings") == 60  # nothing of the old job reached production
    decide(engine, 3, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, 3, config, promoted_by="test")
    assert checksums(engine, ignore_jobs=True) == reference


def test_a_decision_waits_for_the_promotion_of_its_job(
    engine: Engine, tmp_path: Path, quick_refusal: None
) -> None:
    data = config_data()
    config = SourceConfig.model_validate(data)
    job = stage_job(engine, config, tmp_path, places(250))
    worker = Worker(PAUSE_IN_PROMOTE, data, job=job)
    worker.wait_paused()
    try:
        with pytest.raises(SourceBusy, match=f"job {job} of 'runs-csv' is in its promote"):
            decide(engine, job, "reject", all_rows=True, reviewer="rita")
    finally:
        worker.resume()
    assert worker.finish() == {"job": job}
    assert count(engine, "public.listings") == 250


# --- two configs of one DMO ---------------------------------------------------------------------
def test_a_transform_never_sees_another_configs_promotion_half_done(
    engine: Engine, tmp_path: Path, quick_refusal: None
) -> None:
    """Config B of DMO 1 promotes 250 places in batches of 100; config A (same DMO, same
    places) transforms meanwhile. A waits for the whole promotion instead of matching the first
    batch and inserting the rest; DMO 2 is not held up at all."""
    data_b = config_data("b-csv")
    config_a = SourceConfig.model_validate(config_data("a-csv"))
    config_b = SourceConfig.model_validate(data_b)
    job_b = stage_job(engine, config_b, tmp_path / "b", places(250, prefix="B"))
    worker = Worker(PAUSE_IN_PROMOTE, data_b, job=job_b)
    worker.wait_paused()  # batch 1 committed, batch 2 in its transaction
    try:
        path = write_csv(tmp_path / "a.csv", places(250, prefix="A"))
        job_a = pipeline.start_job(engine, config_a, input_path=path)
        pipeline.import_stage(engine, job_a, config_a, path)  # the import reads no catalogue
        with pytest.raises(CatalogueBusy) as refused:
            pipeline.transform_stage(engine, job_a, config_a)
        assert f"the catalogue of DMO 1 (used by 'a-csv') is busy: job {job_b} of 'b-csv'" in str(
            refused.value
        )
        # Another DMO's sources are not held up.
        run_job(
            engine,
            SourceConfig.model_validate(config_data("c-csv", 2)),
            tmp_path / "c",
            places(3, start=1000),
        )
    finally:
        worker.resume()
    assert worker.finish() == {"job": job_b}
    pipeline.transform_stage(engine, job_a, config_a)  # resumes, now that B is promoted
    with engine.connect() as conn:
        methods = dict(
            conn.execute(
                text(
                    "SELECT coalesce(match_method, 'none'), count(*) FROM stage.listings_flat"
                    " WHERE job_id = :j GROUP BY 1"
                ),
                {"j": job_a},
            ).all()
        )
    assert methods == {"match_hash": 250}  # every place matched B's listing, none inserted
    pipeline.promote_stage(engine, job_a, config_a, promoted_by="test")
    assert count(engine, "public.listings") == 253


def test_rows_staged_as_new_are_linked_when_another_config_promoted_them_first(
    engine: Engine, tmp_path: Path
) -> None:
    """Both configs of DMO 1 transform before either promotes: both stage 40 inserts. The
    second promotion finds the places in the catalogue and links them, as a transform run now
    would: no duplicate listing."""
    config_a = SourceConfig.model_validate(config_data("a-csv"))
    config_b = SourceConfig.model_validate(config_data("b-csv"))
    job_a = stage_job(engine, config_a, tmp_path / "a", places(40, prefix="A"))
    job_b = stage_job(engine, config_b, tmp_path / "b", places(40, prefix="B"))
    pipeline.promote_stage(engine, job_a, config_a, promoted_by="test")
    result = pipeline.promote_stage(engine, job_b, config_b, promoted_by="test")
    assert result.counts.extra["rows_linked_at_promotion"] == 40
    assert count(engine, "public.listings") == 40
    with engine.connect() as conn:
        bridged = conn.execute(
            text(
                "SELECT count(DISTINCT target_id) FROM pipeline.bridge_source_target"
                " WHERE target_type = 'listings' AND source_id LIKE 'B%'"
            )
        ).scalar()
    assert bridged == 40


def test_a_resumed_promotion_inserts_what_the_uninterrupted_one_would(
    engine: Engine, tmp_path: Path
) -> None:
    """Two records with the same name and address but their own ids are two new listings. A
    promotion interrupted after the first does not link the second to it when it resumes."""
    from listings_pipeline.promotion.promote import promote_job

    config = SourceConfig.model_validate(config_data())
    rows = places(1) + places(1, prefix="Q")
    job = stage_job(engine, config, tmp_path, rows)

    def crash(batch: int) -> None:
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        promote_job(engine, job, config.slug, promoted_by="t", config=config, batch_rows=1,
                    after_batch=crash)  # fmt: skip
    assert count(engine, "public.listings") == 1
    result = pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert result.counts.extra["rows_linked_at_promotion"] == 0
    assert count(engine, "public.listings") == 2
