"""End to end through the real Dagster server: `dagster dev` (webserver, daemon, code server)
in its own process group against temporary LISTINGS_HOME and DAGSTER_HOME, a partition run
launched through the GraphQL API as the UI launches it, its results read from PostgreSQL, and
the asset graph as a person sees it in headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster._core.instance.ref import InstanceRef
from sqlalchemy import Engine

from listings_pipeline.orchestration.ui import dagster_dev_command
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.dagster_support import (
    fail_stage_inserts,
    heal_stage_inserts,
    one,
    write_source,
)
from listings_pipeline_tests.helpers import place, write_csv

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
SLUG = "e2e-csv"
STARTUP_SECONDS = 180
RUN_SECONDS = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    dagster_home: Path
    log: Path
    location: str = ""

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30
        )
        answer.raise_for_status()
        body = answer.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


LOCATIONS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}
"""

BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on PythonError { message }
    ... on PartitionSetNotFoundError { message }
  }
}
"""

BACKFILL_RUNS = """
query BackfillRuns($tags: [ExecutionTag!]) {
  runsOrError(filter: {tags: $tags}) { __typename ... on Runs { results { runId status } } }
}
"""

RUN_STATUS = """
query Run($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status tags { key value } } }
}
"""


def wait_until_ready(server: Server, proc: subprocess.Popen) -> None:
    """Until the webserver answers GraphQL and the code location has loaded."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster dev exited ({proc.returncode}):\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            data = server.graphql(LOCATIONS)["workspaceOrError"]
            entries = data.get("locationEntries", [])
            for entry in entries:
                error = entry["locationOrLoadError"] or {}
                if error.get("__typename") == "PythonError":
                    raise AssertionError(f"code location failed to load: {error['message']}")
                if entry["loadStatus"] == "LOADED" and error.get("__typename"):
                    server.location = entry["name"]
                    return
        time.sleep(1)
    raise AssertionError(f"dagster dev not ready in {STARTUP_SECONDS}s:\n{server.log_tail()}")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop dagster dev and everything it started (webserver, daemon, code servers, runs)."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # stragglers that outlived the leader
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    configs = tmp_path / "configs"
    configs.mkdir()
    csv = write_csv(tmp_path / "places.csv", [place(i) for i in range(1, 8)])
    write_source(configs, SLUG, source_url=str(csv))
    env = {
        **os.environ,
        "LISTINGS_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "LISTINGS_CONFIG_DIR": str(configs),
        # The config's source_url is a file in the test's directory: the operator allows it.
        "LISTINGS_ALLOWED_INPUT_ROOTS": str(tmp_path),
        # The test's own PostgreSQL, so the test reads what the runs wrote.
        "LISTINGS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
    }
    port = free_port()
    log = tmp_path / "dagster-dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            dagster_dev_command(port),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole below
        )
    running = Server(f"http://127.0.0.1:{port}", dagster_home, log)
    try:
        started = time.monotonic()
        wait_until_ready(running, proc)
        print(f"dagster dev ready in {time.monotonic() - started:.1f}s")
        yield running
    finally:
        stop_group(proc)


def add_partition(server: Server, key: str) -> None:
    """What source_configs_sensor does on its first tick, done at once on the same instance."""
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(server.dagster_home)))
    try:
        instance.add_dynamic_partitions("source_configs", [key])
    finally:
        instance.dispose()


def launch_partition_run(server: Server, job: str, partition: str, run_config: dict) -> str:
    params = {
        "selector": {
            "repositoryLocationName": server.location,
            "repositoryName": "__repository__",
            "jobName": job,
        },
        "runConfigData": run_config,
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    answer = server.graphql(LAUNCH, params=params)["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


def wait_for_run(server: Server, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        run = server.graphql(RUN_STATUS, runId=run_id)["runOrError"]
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish in {RUN_SECONDS}s:\n{server.log_tail()}")


def launch_backfill(server: Server, job: str, partitions: list[str]) -> str:
    """What "Launch backfill" on the job's Partitions page does. Its runs are submitted at
    once with the backfill daemon's own code (forceSynchronousSubmission) instead of on the
    daemon's next tick, 30 s later; they still queue and launch through the daemon."""
    params = {
        "selector": {
            "partitionSetName": f"{job}_partition_set",
            "repositorySelector": {
                "repositoryLocationName": server.location,
                "repositoryName": "__repository__",
            },
        },
        "partitionNames": partitions,
        "forceSynchronousSubmission": True,
    }
    answer = server.graphql(BACKFILL, params=params)["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    (run_id,) = answer["launchedRunIds"]
    tags = [{"key": "dagster/backfill", "value": answer["backfillId"]}]
    tagged = server.graphql(BACKFILL_RUNS, tags=tags)["runsOrError"]["results"]
    assert [r["runId"] for r in tagged] == [run_id]
    return run_id


def test_partition_run_and_backfill_through_the_dagster_server(
    server: Server, engine: Engine
) -> None:
    started = time.monotonic()
    add_partition(server, SLUG)
    fail_stage_inserts(engine, "P0001", "stage table is full")
    try:
        run_id = launch_partition_run(
            server,
            "listings_pipeline",
            SLUG,
            {"ops": {"raw_file": {"config": {"triggered_by": "e2e-test"}}}},
        )
        run = wait_for_run(server, run_id)
    finally:
        heal_stage_inserts(engine)
    print(f"first run {run_id} finished in {time.monotonic() - started:.1f}s")
    assert run["status"] == "FAILURE", server.log_tail()
    assert {"key": "dagster/partition", "value": SLUG} in run["tags"]
    job = one(engine, "SELECT status, current_stage::text, error_message, dagster_run_id, "
              "triggered_by FROM pipeline.jobs")  # fmt: skip
    assert job[:2] == ("failed", "transform") and "stage table is full" in job[2]
    assert tuple(job[3:]) == (run_id, "e2e-test")

    # A backfill over the failed partition resumes the job: no second import.
    retry = wait_for_run(server, launch_backfill(server, "listings_pipeline", [SLUG]))
    print(f"backfill run finished after {time.monotonic() - started:.1f}s")
    assert retry["status"] == "SUCCESS", server.log_tail()
    assert count(engine, "pipeline.jobs") == 1 and count(engine, "pipeline.files") == 1
    assert one(engine, "SELECT status FROM pipeline.jobs")[0] == "completed"
    assert count(engine, "public.listings") == 7

    screenshot_asset_graph(server)


def screenshot_asset_graph(server: Server) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): no screenshot taken")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "dagster-asset-graph.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            # The UI's one-off "join the community" dialog would cover the graph.
            page.add_init_script("localStorage.setItem('communityNux', JSON.stringify('1'))")
            page.goto(f"{server.url}/asset-groups", wait_until="domcontentloaded")
            for asset in ("raw_file", "staged_rows", "promoted_listings", "listing_images"):
                node = page.locator(f'[data-tooltip="{asset}"]')  # the node's title in the graph
                node.first.wait_for(state="visible", timeout=60_000)
            page.wait_for_load_state("networkidle")
            assert page.get_by_text("Join the Dagster community").count() == 0
            page.screenshot(path=str(target), full_page=True)
        finally:
            browser.close()
    assert target.stat().st_size > 10_000
