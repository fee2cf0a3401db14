"""The CLI as a user runs it: a subprocess with its own LISTINGS_HOME (and embedded server)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from listings_pipeline_tests.helpers import cli_env, place, write_csv

CONFIG = {
    "slug": "coast-csv",
    "dmo_id": 7,
    "dmo_name": "Coast DMO",
    "name": "Coast CSV",
    "source_type": "csv",
    "import": {"source_id": {"field": "ID"}},
    "transform": {
        "map_fields": {
            "listings.name": "Name",
            "locations.address1": "Address1",
            "locations.city": "City",
            "listing_info.description": "Description",
            "contact_info.email": "Email",
        }
    },
}


class Cli:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.configs = home / "configs"
        self.configs.mkdir()
        self.env = cli_env(home, self.configs)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "listings_pipeline.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def sql(self, query: str) -> list[tuple]:
        code = (
            "import json,sys; from sqlalchemy import text;"
            "from listings_pipeline.db import get_engine;"
            "from listings_pipeline.db.migrate import upgrade;"
            "e=get_engine(); upgrade(e); c=e.connect();"
            f"print(json.dumps([list(r) for r in c.execute(text({query!r}))], default=str))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=self.env, capture_output=True, text=True, check=True
        )
        return [tuple(r) for r in json.loads(out.stdout)]


@pytest.fixture
def cli() -> Iterator[Cli]:
    home = Path(tempfile.mkdtemp(prefix="lpcli-"))  # short: the server socket lives inside
    runner = Cli(home)
    (runner.configs / "coast-csv.yaml").write_text(yaml.safe_dump(CONFIG))
    yield runner
    runner("db", "stop")


def test_run_twice_second_is_all_skip_and_public_unchanged(cli: Cli, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "coast.csv", [place(i) for i in range(1, 4)])
    first = cli("run", "coast-csv", "--input", str(data), "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)  # exactly one JSON object on stdout
    assert summary["actions"] == {"insert": 3}
    assert summary["status"] == "completed" and summary["gate"]["passed"]
    before = cli.sql("SELECT id, name, updated_at FROM public.listings ORDER BY id")
    info_before = cli.sql("SELECT id, updated_at FROM public.listing_info ORDER BY id")
    assert len(before) == 3

    # The same records in another file (reordered): every record is a skip.
    reordered = write_csv(tmp_path / "coast-2.csv", [place(i) for i in range(3, 0, -1)])
    second = cli("run", "coast-csv", "--input", str(reordered), "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["actions"] == {"skip": 3}
    assert cli.sql("SELECT id, name, updated_at FROM public.listings ORDER BY id") == before
    assert cli.sql("SELECT id, updated_at FROM public.listing_info ORDER BY id") == info_before

    shuffled = write_csv(tmp_path / "coast-3.csv", [place(i) for i in (2, 1, 3)])
    text_out = cli("run", "coast-csv", "--input", str(shuffled))
    assert "rows by action: skip 3" in text_out.stdout
    assert "review gate: passed" in text_out.stdout

    # The same file again is an unchanged import (issue 19): no row staged, the report says so.
    third = cli("run", "coast-csv", "--input", str(shuffled), "--json")
    assert third.returncode == 0, third.stderr
    unchanged = json.loads(third.stdout)
    assert (unchanged["unchanged"], unchanged["actions"]) == (True, {})
    assert unchanged["records"]["unchanged"] == 3 and unchanged["status"] == "completed"
    assert cli.sql("SELECT id, name, updated_at FROM public.listings ORDER BY id") == before
    text_out = cli("run", "coast-csv", "--input", str(shuffled))
    assert f"unchanged: the same input as job {unchanged['unchanged_of']}" in text_out.stdout
    assert "review gate: passed" in text_out.stdout


def test_missing_listing_waits_at_gate_then_promotes(cli: Cli, tmp_path: Path) -> None:
    cli("run", "coast-csv", "--input", str(write_csv(tmp_path / "a.csv", [place(1), place(2)])))
    result = cli("run", "coast-csv", "--input", str(write_csv(tmp_path / "b.csv", [place(1)])))
    assert result.returncode == 3, result.stderr  # stopped at the review gate
    assert "review gate: waiting for review (1 delete)" in result.stdout
    job_id = int(result.stdout.split()[1])
    listed = cli("review", "list", str(job_id), "--status", "pending")
    assert "delete" in listed.stdout and "Place 2" in listed.stdout
    assert cli("promote", "coast-csv").returncode == 3  # rows still wait, as `run` says
    approved = cli("review", "approve", str(job_id), "--kind", "delete", "--reviewer", "rita")
    assert approved.returncode == 0 and "approved 1 rows" in approved.stdout
    promoted = cli("promote", "coast-csv", "--json")
    assert promoted.returncode == 0, promoted.stderr
    assert cli.sql(
        "SELECT name, listing_visible, listing_status FROM public.listings WHERE name = 'Place 2'"
    ) == [("Place 2", False, "missing_from_import")]


def test_bad_config_names_file_and_key(cli: Cli) -> None:
    bad = {**CONFIG, "slug": "broken"}
    del bad["dmo_name"]
    bad["transform"] = {"map_fields": {"listings.name": "Name", "listings.nope": "X"}}
    path = cli.configs / "broken.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = cli("configs", "validate")
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert "dmo_name: required key is missing" in result.stderr
    assert "listings.nope" in result.stderr
    run = cli("run", "broken", "--input", "/nonexistent.csv")
    assert run.returncode != 0 and "dmo_name" in run.stderr


def test_missing_input_file_leaves_no_job(cli: Cli, tmp_path: Path) -> None:
    result = cli("run", "coast-csv", "--input", str(tmp_path / "nope.csv"))
    assert result.returncode != 0
    assert f"{tmp_path / 'nope.csv'}: input file not found" in result.stderr
    assert cli.sql("SELECT count(*) FROM pipeline.jobs") == [(0,)]


def test_unparseable_csv_fails_job_with_line_and_registers_no_file(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('ID,"Na"me,City\nP1,Good,Halifax\n')
    result = cli("run", "coast-csv", "--input", str(path), "--json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed"
    assert f"{path}: line 1: cannot parse the header" in summary["error"]
    assert cli.sql("SELECT count(*) FROM pipeline.files") == [(0,)]
    assert cli.sql("SELECT count(*) FROM stage.listings_flat") == [(0,)]


def test_broken_row_is_a_record_error_and_the_rest_imports(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "one-bad-row.csv"
    path.write_text(
        "ID,Name,Address1,City,Description,Email\n"
        "P1,Good Inn,1 Main St,Halifax,Nice.,a@b.ca\n"
        'P2,"Bad"quote,2 Main St,Halifax,Oops.,c@d.ca\n'
        "P3,Fine Cafe,3 Main St,Halifax,Tasty.,e@f.ca\n"
    )
    result = cli("run", "coast-csv", "--input", str(path))
    assert result.returncode == 0, result.stderr
    assert "rows by action: insert 2" in result.stdout
    assert "line 3" in result.stdout and "cannot parse CSV" in result.stdout
    errors = cli.sql("SELECT record_id, original_record::text FROM pipeline.job_errors")
    assert len(errors) == 1 and "line 3" in errors[0][0] and "Bad" in errors[0][1]
