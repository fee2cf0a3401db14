"""The CLI speaks one way: `--json` on every reporting command (errors too), `--version`, and
`review pending` for what waits across sources."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from listings_pipeline.cli import main
from listings_pipeline_tests.dagster_support import write_source
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import run_job, stage_job


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def test_version_and_an_unknown_slug_under_json() -> None:
    code, out = invoke("--version")
    assert code == 0 and out.startswith("listings-pipeline, version ")
    for command in (["run", "no-such-source"], ["promote", "no-such-source"],
                    ["expire", "no-such-source"]):  # fmt: skip
        code, out = invoke(*command, "--json")
        assert code == 1
        assert json.loads(out)["error"].endswith("no-such-source.yaml: file not found")


def test_configs_validate_in_json(config_dir: Path) -> None:
    write_source(config_dir, "good-csv")
    (config_dir / "bad-csv.yaml").write_text("slug: bad-csv\n")
    code, out = invoke("configs", "validate", "--json")
    assert code == 1
    results = {Path(r["path"]).name: r for r in json.loads(out)["configs"]}
    assert results["good-csv.yaml"]["ok"] and not results["bad-csv.yaml"]["ok"]
    assert "dmo_id: required key is missing" in results["bad-csv.yaml"]["error"]


def test_review_pending_lists_waiting_jobs_and_approve_reports_in_json(
    engine: Engine, tmp_path: Path
) -> None:
    coast = csv_config("coast-csv", 1)
    lake = csv_config("lake-csv", 2)
    run_job(engine, coast, tmp_path / "in", [place(1), place(2)])
    waiting = stage_job(engine, coast, tmp_path / "in", [place(1)])  # Place 2: a deletion
    run_job(engine, lake, tmp_path / "in", [place(5)])

    code, out = invoke("review", "pending", "--json")
    assert code == 0
    (job,) = json.loads(out)["jobs"]
    assert (job["job_id"], job["slug"], job["waiting"]) == (waiting, "coast-csv", {"delete": 1})
    code, text_ = invoke("review", "pending")
    assert "coast-csv" in text_ and "1 rows wait for review (1 delete)" in text_

    code, out = invoke("review", "approve", str(waiting), "--all", "--reviewer", "rita", "--json")
    assert code == 0
    assert json.loads(out) == {
        "job_id": waiting, "decision": "approve", "decided": 1, "already_decided": 0,
    }  # fmt: skip
