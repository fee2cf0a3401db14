"""End to end through the real Dagster server: `dagster dev` (webserver, daemon, code server)
in its own process group against temporary LISTINGS_HOME and DAGSTER_HOME, a partition run
launched through the GraphQL API as the UI launches it, its results read from PostgreSQL, and
the asset graph as a person sees it in headless Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, text

from listings_pipeline.orchestration.instance import INSTANCE_YAML
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
SCHEDULED = "e2e-scheduled-csv"  # a cron schedule; no source_url: backfills find its file
SECOND = "e2e-second-csv"
WAITING = "e2e-waiting-csv"
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
    env: dict[str, str] = field(default_factory=dict)
    data: Path = Path()

    def instance(self) -> dg.DagsterInstance:
        """The same instance as the server's, read from this process."""
        with _environ(self.env):
            return dg.DagsterInstance.get()

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
    """Stop dagster dev and everything it started (webserver, daemon, code servers, runs).
    SIGINT first: `dagster dev` shuts its children down on Ctrl-C, while on SIGTERM it sat
    out the whole 30 s wait of every module teardown."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # stragglers that outlived the leader
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `dagster dev` (webserver, daemon, code server) for every test of this module, on
    the test's PostgreSQL: the catalogue in its database, Dagster's storage in a fresh one."""
    from listings_pipeline.orchestration.instance import STORAGE_ENV, psycopg2_url

    tmp_path = tmp_path_factory.mktemp("e2e")
    home = tmp_path / "home"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copy(INSTANCE_YAML, dagster_home / "dagster.yaml")
    configs = tmp_path / "configs"
    configs.mkdir()
    csv = write_csv(tmp_path / "places.csv", [place(i) for i in range(1, 8)])
    write_source(configs, SLUG, source_url=str(csv))
    write_source(configs, SCHEDULED, schedule="30 6 * * *")  # a file source without source_url
    write_source(configs, SECOND)
    write_source(configs, WAITING)
    catalogue = migrated_engine.url.render_as_string(hide_password=False)
    storage = f"dagster_e2e_{uuid.uuid4().hex[:8]}"
    with migrated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {storage}"))
    env = {
        **os.environ,
        "LISTINGS_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "LISTINGS_CONFIG_DIR": str(configs),
        # The config's source_url is a file in the test's directory: the operator allows it.
        "LISTINGS_ALLOWED_INPUT_ROOTS": str(tmp_path),
        # The test's own PostgreSQL, so the test reads what the runs wrote.
        "LISTINGS_DATABASE_URL": catalogue,
        STORAGE_ENV: psycopg2_url(catalogue, storage),
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
    running = Server(f"http://127.0.0.1:{port}", dagster_home, log, env=env, data=tmp_path)
    try:
        started = time.monotonic()
        wait_until_ready(running, proc)
        print(f"dagster dev ready in {time.monotonic() - started:.1f}s")
        yield running
    finally:
        stop_group(proc)
        with migrated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {storage} WITH (FORCE)"))


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def add_partition(server: Server, *keys: str) -> None:
    """What source_configs_sensor does on its first tick, done at once on the same instance."""
    instance = server.instance()
    try:
        for key in keys:
            if not instance.has_dynamic_partition("source_configs", key):
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


def launch_backfill(server: Server, job: str, partitions: list[str]) -> tuple[str, list[str]]:
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
    run_ids = answer["launchedRunIds"]
    tags = [{"key": "dagster/backfill", "value": answer["backfillId"]}]
    tagged = server.graphql(BACKFILL_RUNS, tags=tags)["runsOrError"]["results"]
    assert sorted(r["runId"] for r in tagged) == sorted(run_ids)
    assert len(run_ids) == len(partitions)
    return answer["backfillId"], run_ids


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
              "triggered_by FROM pipeline.jobs WHERE slug = :s", s=SLUG)  # fmt: skip
    assert job[:2] == ("failed", "transform") and "stage table is full" in job[2]
    assert tuple(job[3:]) == (run_id, "e2e-test")

    # A backfill over the failed partition resumes the job: no second import.
    _, (backfill_run,) = launch_backfill(server, "listings_pipeline", [SLUG])
    retry = wait_for_run(server, backfill_run)
    print(f"backfill run finished after {time.monotonic() - started:.1f}s")
    assert retry["status"] == "SUCCESS", server.log_tail()
    assert count(engine, "pipeline.jobs") == 1 and count(engine, "pipeline.files") == 1
    assert one(engine, "SELECT status FROM pipeline.jobs")[0] == "completed"
    assert count(engine, "public.listings") == 7

    with browser() as page:
        page.goto(f"{server.url}/asset-groups", wait_until="domcontentloaded")
        for asset in ("raw_file", "staged_rows", "promoted_listings", "listing_images"):
            node = page.locator(f'[data-tooltip="{asset}"]')  # the node's title in the graph
            node.first.wait_for(state="visible", timeout=60_000)
        shot(page, "dagster-asset-graph.png")


def shot(page: Any, name: str) -> None:
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Join the Dagster community").count() == 0
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A page of headless Debian Chromium (Playwright), the UI's first-visit dialog dismissed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): no screenshot taken")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
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
            page = chromium.new_page(viewport={"width": 1600, "height": 1000})
            # The UI's one-off "join the community" dialog would cover the page.
            page.add_init_script("localStorage.setItem('communityNux', JSON.stringify('1'))")
            yield page
        finally:
            chromium.close()


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "listings_pipeline.cli", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )


def kinds(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(run_id).records
    return [r.event_log_entry.dagster_event.event_type_value for r in records
            if r.event_log_entry.dagster_event is not None]  # fmt: skip


def input_config(path: Path) -> dict:
    return {"ops": {"raw_file": {"config": {"input_path": str(path)}}}}


def test_cli_run_is_queued_and_launched_by_the_running_daemon(
    server: Server, engine: Engine
) -> None:
    from listings_pipeline.orchestration.coordinator import daemon_alive

    data = write_csv(server.data / "cli.csv", [place(i) for i in range(1, 4)])
    result = cli(server, "run", SECOND, "--input", str(data), "--json")
    assert result.returncode == 0, result.stderr + server.log_tail()
    summary = json.loads(result.stdout)  # --json: still exactly one object on stdout
    assert summary["status"] == "completed" and summary["actions"] == {"insert": 3}
    assert "  queued" in result.stderr and "raw_file: import: 3 records read" in result.stderr
    instance = server.instance()
    try:
        assert daemon_alive(instance)  # so the daemon, not the CLI, dequeued the run
        run = instance.get_run_by_id(summary["dagster_run_id"])
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == SECOND
        assert run.tags["dagster/code_location"] == "listings_pipeline"
        events = kinds(instance, run.run_id)
        assert events.index("PIPELINE_ENQUEUED") < events.index("PIPELINE_STARTING")
    finally:
        instance.dispose()


def test_review_wait_schedule_and_backfill_as_a_person_sees_them(
    server: Server, engine: Engine
) -> None:
    add_partition(server, WAITING, SCHEDULED, SECOND)
    three = write_csv(server.data / "three.csv", [place(i) for i in range(1, 4)])
    two = write_csv(server.data / "two.csv", [place(1), place(2)])

    # A partition waiting for review: its run succeeds, tagged with what waits.
    first = launch_partition_run(server, "listings_pipeline", WAITING, input_config(three))
    assert wait_for_run(server, first)["status"] == "SUCCESS", server.log_tail()
    waiting_id = launch_partition_run(server, "listings_pipeline", WAITING, input_config(two))
    waiting = wait_for_run(server, waiting_id)
    assert waiting["status"] == "SUCCESS", server.log_tail()
    review = {t["key"]: t["value"] for t in waiting["tags"]}["listings/review"]
    assert review.startswith("waiting: 1 rows, job ")

    # File sources without source_url: a backfill finds each partition's last input file.
    for slug in (SCHEDULED, SECOND):
        run_id = launch_partition_run(server, "listings_pipeline", slug, input_config(three))
        assert wait_for_run(server, run_id)["status"] == "SUCCESS", server.log_tail()
    backfill_id, run_ids = launch_backfill(server, "listings_pipeline", [SCHEDULED, SECOND])
    assert [wait_for_run(server, r)["status"] for r in run_ids] == ["SUCCESS", "SUCCESS"]
    for slug in (SCHEDULED, SECOND):
        inputs = one(engine, "SELECT array_agg(DISTINCT input_path) FROM pipeline.jobs"
                     " WHERE slug = :s AND status = 'completed'", s=slug)[0]  # fmt: skip
        assert str(three) in inputs

    schedule = f"{SCHEDULED.replace('-', '_')}_schedule"
    with browser() as page:
        # The waiting run: green "Success", its log says what waits and how to decide it.
        page.goto(f"{server.url}/runs/{waiting_id}", wait_until="domcontentloaded")
        page.get_by_text("waiting for review: job").first.wait_for(timeout=120_000)
        assert page.get_by_text("Success", exact=True).first.is_visible()
        assert page.get_by_text("Failure", exact=True).count() == 0
        assert page.get_by_text("listings-pipeline review approve").count() > 0
        shot(page, "dagster-review-wait.png")
        page.get_by_text("View tags and config").first.click()
        page.get_by_text("listings/review").first.wait_for(timeout=60_000)
        assert page.get_by_text("waiting: 1 rows, job").count() > 0
        shot(page, "dagster-review-wait-tags.png")

        # The config's cron, as a schedule of its own, with its next tick.
        page.goto(f"{server.url}/automation", wait_until="domcontentloaded")
        page.get_by_text(schedule).first.wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle")
        listed = page.inner_text("body")
        (ARTIFACTS / "dagster-schedules.txt").write_text(listed)
        shot(page, "dagster-schedules.png")
        page.goto(
            f"{server.url}/locations/{server.location}/schedules/{schedule}",
            wait_until="domcontentloaded",
        )
        page.get_by_text("Next tick").first.wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle")
        detail = page.inner_text("body")
        (ARTIFACTS / "dagster-schedule.txt").write_text(detail)
        shot(page, "dagster-schedule.png")
        assert "30 6 * * *" in detail or "6:30" in detail

        # The backfill over the two file sources: each of its runs successful.
        for n, run_id in enumerate(run_ids):
            page.goto(f"{server.url}/runs/{run_id}", wait_until="domcontentloaded")
            page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=120_000)
            header = page.inner_text("body")
            assert "Success" in header and "Failure" not in header
            assert f"partition: {SCHEDULED}" in header or f"partition: {SECOND}" in header
            shot(page, f"dagster-backfill-run-{n + 1}.png")
