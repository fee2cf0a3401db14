"""Runs through the JSON API (issue 20 item 4), over real HTTP on 127.0.0.1: upload a file,
follow the run to its result, list what waits for review; refused uploads start nothing."""

from __future__ import annotations

import http.client
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, text

from listings_pipeline.configs import load_config
from listings_pipeline.console import add_user, grant_role, launcher
from listings_pipeline.console.users import create_api_token
from listings_pipeline.importing.input_roots import path_problem
from listings_pipeline_tests.console_server import served_in_thread
from listings_pipeline_tests.helpers import place, write_csv
from listings_pipeline_tests.test_console import PASSWORD, db  # noqa: F401 - fixture
from listings_pipeline_tests.test_console_browser import CONFIG_YAML

RUN_TIMEOUT = 240.0
SLUG = "halifax-csv"  # DMO 1


@pytest.fixture
def served(db: Engine, config_dir: Path) -> Iterator[tuple[str, Any]]:  # noqa: F811
    (config_dir / f"{SLUG}.yaml").write_text(CONFIG_YAML)
    with served_in_thread(db) as (base, app):
        yield base, app


def token_for(engine: Engine, username: str, role: str, dmo_id: int | None = None) -> dict:
    add_user(engine, username, PASSWORD)
    grant_role(engine, username, role, dmo_id)
    return {"Authorization": f"Bearer {create_api_token(engine, username, 'api-runs')}"}


def follow(client: httpx.Client, headers: dict) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        run = client.get(f"/api/v1/pipeline/configs/{SLUG}/runs/latest", headers=headers)
        assert run.status_code == 200, run.text
        if run.json()["state"] != "running":
            return run.json()
        assert time.monotonic() < deadline, run.json()
        time.sleep(0.5)


def test_api_starts_runs_follows_them_and_lists_what_waits_for_review(
    served: tuple[str, Any],
    db: Engine,  # noqa: F811
    tmp_path: Path,
) -> None:
    base, _app = served
    admin = token_for(db, "ada", "super_admin")
    with db.begin() as conn:
        conn.execute(text("INSERT INTO public.dmos (id, name) VALUES (2, 'Coast')"))
    coast = token_for(db, "cora", "super_admin", 2)  # everything, for DMO 2 only
    first = write_csv(tmp_path / "halifax.csv", [place(1), place(2), place(3)])
    with httpx.Client(base_url=base, timeout=60) as client:
        started = client.post(
            f"/api/v1/pipeline/configs/{SLUG}/runs",
            headers=admin,
            files={"input_file": ("halifax.csv", first.read_bytes(), "text/csv")},
        )
        assert started.status_code == 202, started.text
        assert started.json()["state"] == "running"
        assert started.json()["input_name"] == "halifax.csv"
        assert started.json()["started_by"] == "ada"

        done = follow(client, admin)
        assert done["state"] == "promoted", done
        assert done["run_succeeded"] is True and done["dagster_run_id"]
        assert done["job"]["status"] == "completed" and done["job"]["records_new"] == 3
        assert done["job"]["triggered_by"] == "console:ada"
        with db.connect() as conn:
            names = conn.execute(text("SELECT name FROM public.listings ORDER BY name")).scalars()
            assert list(names) == ["Place 1", "Place 2", "Place 3"]

        # The job was written by that Dagster run (its assets record their run id).
        assert done["job"]["dagster_run_id"] == done["dagster_run_id"]

        # Place 3 is missing now: its deletion waits for a person.
        second = write_csv(tmp_path / "halifax-2.csv", [place(1), place(2)])
        again = client.post(
            f"/api/v1/pipeline/configs/{SLUG}/runs",
            headers=admin,
            files={"input_file": ("halifax-2.csv", second.read_bytes(), "text/csv")},
        )
        assert again.status_code == 202, again.text
        waiting = follow(client, admin)
        assert waiting["state"] == "waiting_for_review", waiting
        assert "1 delete" in waiting["gate"]
        job_id = waiting["job"]["id"]
        queue = client.get("/api/v1/pipeline/review/jobs", headers=admin).json()["items"]
        assert [(j["id"], j["slug"], j["pending"]) for j in queue] == [(job_id, SLUG, 1)]

        # Someone of another DMO sees none of it and cannot start a run.
        assert client.get("/api/v1/pipeline/review/jobs", headers=coast).json()["items"] == []
        latest = client.get(f"/api/v1/pipeline/configs/{SLUG}/runs/latest", headers=coast)
        assert latest.status_code == 404
        refused = client.post(
            f"/api/v1/pipeline/configs/{SLUG}/runs",
            headers=coast,
            files={"input_file": ("halifax.csv", first.read_bytes(), "text/csv")},
        )
        assert refused.status_code == 404
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pipeline.jobs")).scalar() == 2


def test_api_refuses_bad_uploads_and_starts_nothing(
    served: tuple[str, Any],
    db: Engine,  # noqa: F811
) -> None:
    base, app = served
    admin = token_for(db, "ada", "super_admin")
    url = f"/api/v1/pipeline/configs/{SLUG}/runs"
    with httpx.Client(base_url=base, timeout=30) as client:
        cases = [
            ({"input_file": ("feed.pdf", b"Name\nInn\n", "application/pdf")}, "must end with"),
            ({"input_file": ("feed.csv", b"", "text/csv")}, "feed.csv is empty"),
            (None, "send one as input_file"),
        ]
        for files, reason in cases:
            response = client.post(url, headers=admin, files=files)
            assert response.status_code == 400 and reason in response.text, response.text
        unknown = client.post("/api/v1/pipeline/configs/nowhere/runs", headers=admin)
        assert unknown.status_code == 404

    # A request announcing more than the limit is refused before its body is read.
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("POST", url)
    conn.putheader("Authorization", admin["Authorization"])
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(launcher.MAX_UPLOAD_BYTES + (2 << 20)))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and b"upload limit is 512 MB" in response.read()
    conn.close()

    assert app.state.launcher.last(SLUG) is None
    with db.connect() as conn_:
        assert conn_.execute(text("SELECT count(*) FROM pipeline.jobs")).scalar() == 0


def test_uploads_are_stored_under_the_input_roots(config_dir: Path) -> None:
    (config_dir / f"{SLUG}.yaml").write_text(CONFIG_YAML)
    config = load_config(config_dir / f"{SLUG}.yaml")
    saved = launcher.save_upload(config, "../../etc/feed.csv", io.BytesIO(b"Name\nInn\n"))
    try:
        assert saved.name == "feed.csv"
        assert path_problem(saved) is None
    finally:
        import shutil

        shutil.rmtree(saved.parent)
