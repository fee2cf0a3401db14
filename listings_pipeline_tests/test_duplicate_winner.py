"""Duplicates (seed 000 3e): the reviewer picks which record of a duplicate group (one source
id, several records in one import) is promoted — through decide(), the CLI, the console's
review page and the JSON API. The others change nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.cli import main
from listings_pipeline.console import add_user, grant_role
from listings_pipeline.console.users import create_api_token
from listings_pipeline.review import ReviewError, decide
from listings_pipeline_tests.helpers import csv_config, fresh_console, place
from listings_pipeline_tests.review_helpers import listing, run_job, stage_job

PASSWORD = "correct horse battery"
FIRST = place(1, Name="Old Mill Inn", Description="First record.")
SECOND = place(1, Name="The Old Mill Inn", Description="Second, better record.", Lat="44.6101")


def _rows(engine: Engine, job_id: int) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT id, rec_num, listing_name, duplicate_of, change_kind, review_status,"
                " reviewed_by, listing_action, listing_info_action, location_action"
                " FROM stage.listings_flat WHERE job_id = :j ORDER BY rec_num"
            ),
            {"j": job_id},
        )
        return {r.listing_name: dict(r._mapping) for r in found}


def test_the_reviewer_picks_the_second_record_and_it_is_promoted(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    job = stage_job(engine, config, tmp_path, [FIRST, place(2), SECOND])
    rows = _rows(engine, job)
    first, second = rows["Old Mill Inn"], rows["The Old Mill Inn"]
    assert second["duplicate_of"] == first["id"] and second["change_kind"] == "duplicate"
    assert not pipeline.gate(engine, job).passed  # the duplicate waits for a person

    result = decide(engine, job, "approve", reviewer="rita", winner=second["id"])
    assert sorted(result.decided) == sorted([first["id"], second["id"]])
    rows = _rows(engine, job)
    first, second = rows["Old Mill Inn"], rows["The Old Mill Inn"]
    assert second["duplicate_of"] is None and second["change_kind"] == "insert"
    assert (second["listing_action"], second["listing_info_action"]) == ("insert", "insert")
    assert first["duplicate_of"] == second["id"] and first["change_kind"] == "duplicate"
    assert first["listing_action"] == first["location_action"] == "skip"
    assert {first["review_status"], second["review_status"]} == {"approved"}
    assert pipeline.gate(engine, job).passed

    pipeline.promote_stage(engine, job, config, promoted_by="test")
    promoted = listing(engine, "P1")
    assert (promoted["name"], promoted["description"]) == (
        "The Old Mill Inn",
        "Second, better record.",
    )
    assert float(promoted["lat"]) == pytest.approx(44.6101)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM public.listings")).scalar_one() == 2


def test_the_winner_of_an_existing_listing_updates_it(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1)])
    job = stage_job(engine, config, tmp_path, [FIRST, SECOND])
    second = _rows(engine, job)["The Old Mill Inn"]
    decide(engine, job, "approve", reviewer="rita", winner=second["id"], note="newer data")
    assert _rows(engine, job)["The Old Mill Inn"]["change_kind"] == "update"
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert listing(engine, "P1")["description"] == "Second, better record."


def test_a_winner_that_cannot_be_picked_is_refused(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    job = stage_job(engine, config, tmp_path, [FIRST, place(2), SECOND])
    rows = _rows(engine, job)
    second = rows["The Old Mill Inn"]["id"]
    with pytest.raises(ReviewError, match="has no duplicates"):
        decide(engine, job, "approve", reviewer="rita", winner=rows["Place 2"]["id"])
    with pytest.raises(ReviewError, match="use approve"):
        decide(engine, job, "reject", reviewer="rita", winner=second)
    with pytest.raises(ReviewError, match="exactly one of"):
        decide(engine, job, "approve", reviewer="rita", winner=second, all_rows=True)
    with pytest.raises(ReviewError, match="is not a record of job"):
        decide(engine, job, "approve", reviewer="rita", winner=999999)
    decide(engine, job, "approve", reviewer="rita", kind="duplicate")  # decided the default way
    with pytest.raises(ReviewError, match="already decided"):
        decide(engine, job, "approve", reviewer="rita", winner=second)
    assert _rows(engine, job)["The Old Mill Inn"]["duplicate_of"] is not None  # unchanged


def test_cli_approve_with_a_winner(engine: Engine, tmp_path: Path) -> None:
    job = stage_job(engine, csv_config(), tmp_path, [FIRST, SECOND])
    second = _rows(engine, job)["The Old Mill Inn"]["id"]
    result = CliRunner().invoke(
        main, ["review", "approve", str(job), "--winner", str(second), "--reviewer", "rita"]
    )
    assert result.exit_code == 0, result.output
    assert f"job {job}: approved 2 rows" in result.output
    assert _rows(engine, job)["The Old Mill Inn"]["duplicate_of"] is None
    refused = CliRunner().invoke(main, ["review", "approve", str(job), "--winner", str(second)])
    assert refused.exit_code == 1 and "already decided" in refused.output


# --- console and API ---------------------------------------------------------------------------


@pytest.fixture
def app(engine: Engine, config_dir: Path) -> Any:
    return fresh_console(engine)


def test_review_page_promotes_the_record_the_reviewer_picks(
    app: Any, engine: Engine, tmp_path: Path
) -> None:
    job = stage_job(engine, csv_config(), tmp_path, [FIRST, SECOND])
    second = _rows(engine, job)["The Old Mill Inn"]["id"]
    add_user(engine, "rita", PASSWORD)
    grant_role(engine, "rita", "pipeline_reviewer")
    client = TestClient(app, follow_redirects=False)
    login = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', login.text)
    assert csrf
    form = {"username": "rita", "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/"}
    assert client.post("/login", data=form).status_code == 303

    page = client.get(f"/pipeline/jobs/{job}/review?tab=duplicates")
    assert f'id="winner-{second}"' in page.text
    assert re.search(r"badge quality[^>]*>quality \d+<", page.text)  # the row's quality score
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert csrf
    done = client.post(
        f"/pipeline/jobs/{job}/review",
        data={"csrf_token": csrf.group(1), "tab": "duplicates", "winner": str(second)},
    )
    assert done.status_code == 303 and "done=approve&n=2" in done.headers["location"]
    rows = _rows(engine, job)
    assert rows["The Old Mill Inn"]["duplicate_of"] is None
    assert rows["Old Mill Inn"]["reviewed_by"] == "rita"


def test_decision_api_takes_a_winner(app: Any, engine: Engine, tmp_path: Path) -> None:
    job = stage_job(engine, csv_config(), tmp_path, [FIRST, SECOND])
    second = _rows(engine, job)["The Old Mill Inn"]["id"]
    add_user(engine, "bot", PASSWORD)
    grant_role(engine, "bot", "pipeline_reviewer")
    bearer = {"Authorization": f"Bearer {create_api_token(engine, 'bot', 'ci')}"}
    client = TestClient(app)
    url = f"/api/v1/pipeline/jobs/{job}/review/decisions"
    both = client.post(url, json={"decision": "approve", "winner": second, "all_rows": True},
                       headers=bearer)  # fmt: skip
    assert both.status_code == 422
    done = client.post(url, json={"decision": "approve", "winner": second}, headers=bearer)
    assert done.status_code == 200, done.text
    assert len(done.json()["decided"]) == 2
    rows = client.get(f"/api/v1/pipeline/jobs/{job}/review/rows?tab=new", headers=bearer).json()
    [winner] = rows["items"]
    assert winner["id"] == second and winner["quality_score"] is not None
    again = client.post(url, json={"decision": "approve", "winner": second}, headers=bearer)
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
