"""Quality (issue 20): the distribution of a job's record quality scores — the domain function,
the console's job page, the job API and the Dagster metadata of staged_rows — and the quality
hold of a job whose average is below the config's minimum."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.console import add_user, grant_role
from listings_pipeline.console.users import create_api_token
from listings_pipeline.orchestration import metadata
from listings_pipeline.promotion.promote import PromotionRefused
from listings_pipeline.review import decide
from listings_pipeline.review.holds import decide_holds
from listings_pipeline.review.quality import quality_distribution
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, fresh_console, place
from listings_pipeline_tests.review_helpers import stage_job

SPARSE = {"Email": "", "Phone": "", "Image1": "", "Attributes": "", "MonOpen": "", "MonClose": ""}
RECORDS = [
    place(1),
    place(2),
    place(3, **SPARSE),
    place(4, **SPARSE, Description=""),
    place(5, Email="not an email"),
]


def _scores(engine: Engine, job_id: int) -> list[float]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT quality_score FROM stage.listings_flat WHERE job_id = :j"), {"j": job_id}
        )
        return sorted(float(r.quality_score) for r in rows)


def test_distribution_of_a_jobs_quality_scores(engine: Engine, tmp_path: Path) -> None:
    job = stage_job(engine, csv_config(), tmp_path, RECORDS)
    scores = _scores(engine, job)
    assert len(set(scores)) >= 3  # complete, sparse and invalid records score differently
    with engine.connect() as conn:
        q = quality_distribution(conn, job)
    assert (q.records, q.scored) == (5, 5)
    assert q.mean == pytest.approx(statistics.mean(scores), abs=0.01)
    assert (q.min, q.max) == (scores[0], scores[-1])
    assert q.quantiles[50] == pytest.approx(statistics.median(scores))
    inclusive = statistics.quantiles(scores, n=10, method="inclusive")  # percentile_cont's
    assert (q.quantiles[10], q.quantiles[90]) == pytest.approx((inclusive[0], inclusive[8]))
    assert sum(q.histogram) == 5
    for score in scores:
        assert q.histogram[min(int(score // 10), 9)] >= 1

    with engine.connect() as conn:
        meta = metadata.quality(conn, job)
    assert meta["quality_mean"].value == pytest.approx(q.mean)
    assert meta["quality_p50"].value == pytest.approx(q.quantiles[50])
    assert "| 90-100 |" in meta["quality_histogram"].value


def test_a_job_without_scores(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(validation={"quality_scoring": {"enabled": False}})
    job = stage_job(engine, config, tmp_path, RECORDS[:2])
    with engine.connect() as conn:
        q = quality_distribution(conn, job)
        assert (q.records, q.scored, q.mean, q.quantiles) == (2, 0, None, {})
        assert metadata.quality(conn, job) == {}


@pytest.fixture
def app(engine: Engine, config_dir: Path) -> Any:
    return fresh_console(engine)


def test_job_page_and_api_show_the_distribution(app: Any, engine: Engine, tmp_path: Path) -> None:
    job = stage_job(engine, csv_config(), tmp_path, RECORDS)
    with engine.connect() as conn:
        q = quality_distribution(conn, job)
    add_user(engine, "vic", "correct horse battery")
    grant_role(engine, "vic", "pipeline_viewer")
    bearer = {"Authorization": f"Bearer {create_api_token(engine, 'vic', 'ci')}"}
    client = TestClient(app)

    detail = client.get(f"/api/v1/pipeline/jobs/{job}", headers=bearer).json()
    assert detail["quality"]["scored"] == 5
    assert detail["quality"]["quantiles"]["p50"] == pytest.approx(q.quantiles[50])
    assert detail["quality"]["histogram"] == q.histogram

    page = TestClient(app, follow_redirects=False)
    login = page.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', login.text)
    assert csrf
    page.post("/login", data={"username": "vic", "password": "correct horse battery",
                              "csrf_token": csrf.group(1), "next": "/"})  # fmt: skip
    html = page.get(f"/pipeline/jobs/{job}").text
    assert f'id="quality-mean">{q.mean:.1f}<' in html
    histogram = re.search(r'id="quality-histogram".*?</table>', html, re.S)
    assert histogram
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', histogram.group(0))]
    assert counts == q.histogram


# --- the quality hold ------------------------------------------------------------------------


def test_a_job_below_the_minimum_average_quality_is_held_until_a_person_accepts(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config(review={"min_average_quality": 99})
    job = stage_job(engine, config, tmp_path, RECORDS)
    with engine.connect() as conn:
        q = quality_distribution(conn, job)
    assert q.mean is not None and q.mean < 99
    gate = pipeline.gate(engine, job)
    [hold] = gate.holds
    assert (hold.kind, hold.status, hold.evidence["mean"]) == ("quality", "pending", q.mean)
    assert not gate.passed
    assert f"average quality score {q.mean:.1f} is below the config's minimum 99" in gate.describe()
    with pytest.raises(PromotionRefused):
        pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert count(engine, "public.listings") == 0

    decide_holds(engine, job, "accept", reviewer="rita", note="known thin feed")
    if not pipeline.gate(engine, job).passed:
        decide(engine, job, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert count(engine, "public.listings") == 5

    # The next import says how the average moved; a reachable minimum holds nothing.
    again = stage_job(engine, config, tmp_path, RECORDS[:3])
    [hold] = pipeline.gate(engine, again).holds
    assert hold.evidence["previous_mean"] == pytest.approx(q.mean)
    assert f"the previous import's was {q.mean:.1f}" in hold.describe()
    relaxed = csv_config(review={"min_average_quality": 1})
    later = stage_job(engine, relaxed, tmp_path, RECORDS[:3])
    assert pipeline.gate(engine, later).holds == ()
