"""Resume (seed 000 3b, issue 4): a transform that fails part-way keeps what it finished; the
retry continues at the first unfinished record and sends no address to the geocoder twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from listings_pipeline import pipeline
from listings_pipeline.transform import stage as transform_stage
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, place, write_csv
from listings_pipeline_tests.test_geocode import FakeNominatim, nominatim  # noqa: F401


def test_resume_after_failures_repeats_no_work(
    engine: Engine,
    tmp_path: Path,
    nominatim: FakeNominatim,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LISTINGS_GEOCODER", "nominatim")
    monkeypatch.setenv("LISTINGS_GEOCODER_URL", nominatim.url)
    monkeypatch.setenv("LISTINGS_GEOCODER_MIN_DELAY", "0")
    monkeypatch.setattr(transform_stage, "BATCH_ROWS", 10)
    rows = [place(i) for i in range(25)]
    for i in (3, 14, 22):  # no coordinates: these three need the geocoder
        rows[i].update(Lat="", Lng="", Address1=f"{i} Water St")
    rows[22]["Address1"] = "12 Water St"  # the one address the fake service knows
    config = csv_config()
    path = write_csv(tmp_path / "a.csv", rows)
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)

    calls = 0

    def fail_on_second_batch(conn: Connection) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("injected failure in batch 2")
        return {}

    with pytest.raises(RuntimeError, match="injected"):
        pipeline.transform_stage(engine, job_id, config, hooks=[fail_on_second_batch])
    assert count(engine, "stage.listings_flat") == 10  # batch 1 kept, batch 2 rolled back
    with engine.connect() as conn:
        status = conn.execute(
            text(
                "SELECT status, message FROM pipeline.job_stages"
                " WHERE job_id = :j AND name = 'transform'"
            ),
            {"j": job_id},
        ).one()
    assert status.status == "failed" and "injected failure" in status.message
    assert nominatim.queries == []  # geocoding comes after the batches

    # Second attempt: resumes at record 11, geocodes, then fails in a whole-job step.
    broken = dict(transform_stage.Q)
    broken["job_duplicates"] = "SELECT no_such_column FROM stage.listings_flat"
    monkeypatch.setattr(transform_stage, "Q", broken)
    with pytest.raises(Exception, match="no_such_column"):
        pipeline.transform_stage(engine, job_id, config)
    sent = len(nominatim.queries)
    assert sent == 3  # one request per distinct address without coordinates

    # Third attempt: nothing staged twice, nothing sent twice.
    monkeypatch.undo()
    monkeypatch.setenv("LISTINGS_GEOCODER", "nominatim")
    monkeypatch.setenv("LISTINGS_GEOCODER_URL", nominatim.url)
    monkeypatch.setenv("LISTINGS_GEOCODER_MIN_DELAY", "0")
    result = pipeline.transform_stage(engine, job_id, config)
    assert result.resumed_from == 25
    assert len(nominatim.queries) == sent
    with engine.connect() as conn:
        staged = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT rec_num) FROM stage.listings_flat"
                " WHERE job_id = :j"
            ),
            {"j": job_id},
        ).one()
        geocoded = conn.execute(
            text(
                "SELECT loc_lat, location_action FROM stage.listings_flat"
                " WHERE job_id = :j AND source_id = 'P22'"
            ),
            {"j": job_id},
        ).one()
    assert tuple(staged) == (25, 25)
    assert geocoded.loc_lat is not None and geocoded.location_action == "insert"

    # A re-import of the same source sends nothing either: the cache is persistent.
    job2 = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job2, config, path)
    pipeline.transform_stage(engine, job2, config)
    assert len(nominatim.queries) == sent
