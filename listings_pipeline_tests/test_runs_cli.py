"""Runs started at the same time from the command line, as users start them (issue 15): two
runs of one source, and two configs of one DMO, each `listings-pipeline run` a process of its
own on the test's database. Only outcomes are asserted — production, stage rows, job states,
exit codes and messages — not how the CLI executes a run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text

from listings_pipeline.configs import SourceConfig
from listings_pipeline_tests.conftest import _TRUNCATE, count
from listings_pipeline_tests.helpers import cli_env, write_csv
from listings_pipeline_tests.review_helpers import checksums, run_job
from listings_pipeline_tests.test_runs_locks import config_data, places

ROOT = Path(__file__).resolve().parents[1]


class Cli:
    """`listings-pipeline` against the test's database, with its own home (raw files, Dagster
    instance) per phase of a test."""

    def __init__(self, engine: Engine, home: Path, configs: list[dict[str, Any]]) -> None:
        self.home = home
        (home / "configs").mkdir(parents=True)
        for data in configs:
            (home / "configs" / f"{data['slug']}.yaml").write_text(yaml.safe_dump(data))
        self.env = cli_env(
            home,
            home / "configs",
            LISTINGS_DATABASE_URL=engine.url.render_as_string(hide_password=False),
            PYTHONPATH=str(ROOT),
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "listings_pipeline.cli", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = self.start(*args)
        out, err = proc.communicate(timeout=600)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def stage_kinds(engine: Engine) -> dict[tuple[int, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT job_id, coalesce(change_kind, '?') || '/' || coalesce(match_method, '-'),"
                " count(*) FROM stage.listings_flat GROUP BY 1, 2 ORDER BY 1, 2"
            )
        ).all()
    return {(job, kind): n for job, kind, n in rows}


def job_states(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, status FROM pipeline.jobs ORDER BY id")).all())


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(_TRUNCATE)


@pytest.mark.parametrize("gap", [0.5, 1.5])
def test_two_runs_of_one_source_end_as_one_run(engine: Engine, tmp_path: Path, gap: float) -> None:
    data = config_data()
    path = write_csv(tmp_path / "listings.csv", places(3000))
    run_job(engine, SourceConfig.model_validate(data), tmp_path / "reference", places(3000))
    reference = checksums(engine, ignore_jobs=True)  # one run alone
    assert count(engine, "public.listings") == 3000
    reset(engine)

    cli = Cli(engine, tmp_path / "concurrent", [data])
    first = cli.start("run", "runs-csv", "--input", str(path))
    time.sleep(gap)
    second = cli.start("run", "runs-csv", "--input", str(path), "--json")
    results = [finish(first), finish(second)]

    assert checksums(engine, ignore_jobs=True) == reference
    states = job_states(engine)
    assert len(states) == 2 and "completed" in states.values(), "\n".join(
        r.stdout + r.stderr for r in results
    )
    assert set(states.values()) <= {"completed", "superseded"}  # nothing left running
    # Each job staged the 3,000 records once: as inserts if it decided before anything was
    # promoted, else as unchanged rows linked through the bridge. No deletion, no fuzzy or
    # uncertain match, no duplicate, whatever the interleaving.
    for (job, kind), n in stage_kinds(engine).items():
        assert (kind, n) in (("insert/none", 3000), ("skip/bridge", 3000)), (job, kind, n)
    # The run that did not finish its job says why, on one line, and exits 1.
    for result in results:
        assert result.returncode in (0, 1), result.stdout + result.stderr
        if "--json" in result.args:
            answer = json.loads(result.stdout)  # exactly one JSON object, whatever happened
            assert answer["status"] == ("completed" if result.returncode == 0 else "superseded")
            assert (answer["error"] is None) == (result.returncode == 0)
        elif result.returncode == 0:
            assert ": completed at stage promote" in result.stdout
        else:
            last = result.stderr.strip().splitlines()[-1]
            assert last.startswith("Error: job ") and " superseded: " in last, result.stderr


def test_two_configs_of_one_dmo_at_once(engine: Engine, tmp_path: Path) -> None:
    """A CSV export and a second feed of DMO 1 list the same 200 places (with their own ids)
    and run at the same time: one catalogue of 200 listings results, both sources linked to
    it, as if they had run one after the other."""
    data_a, data_b = config_data("a-csv"), config_data("b-csv")
    rows_a, rows_b = places(200, prefix="A"), places(200, prefix="B")
    references = []
    for order in ((data_a, rows_a), (data_b, rows_b)), ((data_b, rows_b), (data_a, rows_a)):
        for data, rows in order:
            run_job(engine, SourceConfig.model_validate(data), tmp_path / "ref", rows)
        references.append(checksums(engine, ignore_jobs=True))
        reset(engine)

    cli = Cli(engine, tmp_path / "concurrent", [data_a, data_b])
    path_a = write_csv(tmp_path / "a.csv", rows_a)
    path_b = write_csv(tmp_path / "b.csv", rows_b)
    a = cli.start("run", "a-csv", "--input", str(path_a))
    time.sleep(0.3)
    b = cli.start("run", "b-csv", "--input", str(path_b))
    for result in (finish(a), finish(b)):
        assert result.returncode == 0, result.stdout + result.stderr

    assert count(engine, "public.listings") == 200
    assert checksums(engine, ignore_jobs=True) in references
    with engine.connect() as conn:
        linked = dict(
            conn.execute(
                text(
                    "SELECT left(source_id, 1), count(DISTINCT target_id)"
                    " FROM pipeline.bridge_source_target WHERE target_type = 'listings' GROUP BY 1"
                )
            ).all()
        )
    assert linked == {"A": 200, "B": 200}
    kinds = {kind.split("/")[0] for _, kind in stage_kinds(engine)}
    assert kinds <= {"insert", "skip", "update"}  # no deletion, duplicate or uncertain match
    assert set(job_states(engine).values()) == {"completed"}


def test_maintenance_commands(engine: Engine, tmp_path: Path) -> None:
    config = SourceConfig.model_validate(config_data())
    first = run_job(engine, config, tmp_path, places(5))
    run_job(engine, config, tmp_path, places(6))
    cli = Cli(engine, tmp_path / "cli", [config_data()])

    plan = cli("maintenance", "prune-stage", "--keep-days", "0", "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    answer = json.loads(plan.stdout)
    assert (answer["dry_run"], answer["rows"]) == (True, 5)
    assert [j["job_id"] for j in answer["jobs"]] == [first]
    done = cli("maintenance", "prune-stage", "--keep-days", "0")
    assert done.returncode == 0 and "pruned 5 stage rows of 1 jobs" in done.stdout
    assert count(engine, "stage.listings_flat") == 6

    swept = cli("maintenance", "sweep", "--json")
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout) == {"failed": [], "busy_sources": []}
