"""Stage retention (issue 15): old jobs' stage rows go in batches; unfinished jobs, each
source's latest, latest transformed and last completed jobs and the last N days stay, and so
does everything audit reads (jobs, errors, files, history)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.maintenance import prune_stage
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import write_csv
from listings_pipeline_tests.review_helpers import run_job, stage_job
from listings_pipeline_tests.test_runs_locks import config_data, places
from listings_pipeline_tests.workers import PAUSE_IN_TRANSFORM, Worker


def rows_by_job(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT job_id, count(*) FROM stage.listings_flat GROUP BY 1 ORDER BY 1")
            ).all()
        )


def age(engine: Engine, job_ids: list[int], days: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE pipeline.jobs SET started_at = started_at - make_interval(days => :d),"
                " finished_at = finished_at - make_interval(days => :d),"
                " enqueued_at = enqueued_at - make_interval(days => :d) WHERE id = ANY(:ids)"
            ),
            {"d": days, "ids": job_ids},
        )


def test_prune_keeps_what_is_needed_and_deletes_the_rest(engine: Engine, tmp_path: Path) -> None:
    a = SourceConfig.model_validate(config_data("a-csv", 1))
    b = SourceConfig.model_validate(config_data("b-csv", 2))
    c = SourceConfig.model_validate(config_data("c-csv", 3))
    # a: two promoted jobs, then one waiting for review (a deletion).
    a1 = run_job(engine, a, tmp_path / "a", places(30))
    a2 = run_job(engine, a, tmp_path / "a", places(30, Description="new"))
    a3 = stage_job(engine, a, tmp_path / "a", places(29))
    # b: two promoted, one superseded by the last (promoted), one with a bad record.
    b1 = run_job(engine, b, tmp_path / "b", places(20, start=100))
    b2 = run_job(engine, b, tmp_path / "b", places(20, start=100, Email="x@example.com"))
    b3 = stage_job(engine, b, tmp_path / "b", places(20, start=100, Email="y@example.com"))
    b4 = run_job(engine, b, tmp_path / "b", places(20, start=100, Email="z@example.com"))
    # c: recent jobs only.
    c1 = run_job(engine, c, tmp_path / "c", places(10, start=200))
    c2 = run_job(engine, c, tmp_path / "c", places(10, start=200, Description="c2"))
    age(engine, [a1, a2, a3, b1, b2, b3, b4], 40)
    age(engine, [c1, c2], 3)
    before = rows_by_job(engine)
    history = count(engine, "pipeline.listing_history")
    jobs = count(engine, "pipeline.jobs")

    plan = prune_stage(engine, keep_days=30, dry_run=True)
    expected = [a1, b1, b2, b3]
    assert [j["job_id"] for j in plan.jobs] == expected
    assert [j["rows"] for j in plan.jobs] == [before[j] for j in expected]
    assert plan.rows == sum(before[j] for j in expected)
    assert rows_by_job(engine) == before  # a dry run deletes nothing

    # A transform of another source holds its lock meanwhile: the prune does not wait for it.
    d_input = write_csv(tmp_path / "d.csv", places(300, start=1000))
    worker = Worker(PAUSE_IN_TRANSFORM, config_data("d-csv", 4), input=d_input)
    worker.wait_paused()
    try:
        done = prune_stage(engine, keep_days=30, batch_rows=7)
    finally:
        worker.resume()
    assert worker.finish()["job"] > 0
    assert [j["job_id"] for j in done.jobs] == expected
    assert done.rows == plan.rows
    assert done.batches == sum(before[j] // 7 + 1 for j in expected)
    after = rows_by_job(engine)
    assert set(after) >= {a2, a3, b4, c1, c2}
    assert not set(after) & set(expected)
    assert all(after[j] == before[j] for j in (a2, a3, b4, c1, c2))
    # What audit reads stays.
    assert count(engine, "pipeline.listing_history") == history
    assert count(engine, "pipeline.jobs") == jobs + 1
    with engine.connect() as conn:
        pruned = conn.execute(
            text("SELECT id FROM pipeline.jobs WHERE stage_pruned_at IS NOT NULL ORDER BY id")
        ).scalars()
        assert list(pruned) == expected
    assert prune_stage(engine, keep_days=30).rows == 0  # nothing left to prune

    # The waiting job can still be decided and promoted, and the next import of `a` reuses
    # the rows of its latest transformed job for unchanged records.
    assert pipeline.gate(engine, a3).waiting == {"delete": 1}
    nxt = stage_job(engine, a, tmp_path / "a", places(29))
    with engine.connect() as conn:
        summary = conn.execute(
            text(
                "SELECT result_summary FROM pipeline.job_stages"
                " WHERE job_id = :j AND name = 'transform'"
            ),
            {"j": nxt},
        ).scalar_one()
    assert summary["reused_rows"] == 29


def test_keep_days_zero_still_keeps_the_latest_jobs(engine: Engine, tmp_path: Path) -> None:
    a = SourceConfig.model_validate(config_data("a-csv", 1))
    first = run_job(engine, a, tmp_path, places(5))
    last = run_job(engine, a, tmp_path, places(6))
    result = prune_stage(engine, keep_days=0)
    assert [j["job_id"] for j in result.jobs] == [first]
    assert rows_by_job(engine) == {last: 6}
