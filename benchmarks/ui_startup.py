"""How long `listings-pipeline ui` takes to come up, and how much memory it holds.

    python benchmarks/ui_startup.py [--runs 3] [--settle 20]

Each run starts `python -m listings_pipeline.cli ui` in its own process group against one
prepared LISTINGS_HOME (database created and migrated beforehand, so the figures are those of
an everyday start, not of the first one), and measures:

* graphql: seconds until the webserver answers a GraphQL query;
* loaded: seconds until the code location has loaded (the UI shows the assets);
* memory: after `--settle` seconds, the largest of a few samples of the resident memory of
  the command and every process it started (webserver, daemon, code servers) — RSS summed
  (shared pages counted once per process) and USS summed (memory only that process holds:
  what stopping the UI gives back).
The embedded PostgreSQL is started (and Dagster's database created) before and is not part of
the group.
Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
LOADED = """{ workspaceOrError { ... on Workspace { locationEntries {
    loadStatus locationOrLoadError { __typename } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[psutil.Process]:
    """The command and everything it started (`ui` runs `dagster dev` in a process group of its
    own, so the tree, not one group, holds webserver, daemon and code servers)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


ROLES = (("dagster_webserver", "webserver"), ("dagster-webserver", "webserver"),
         ("daemon", "daemon"), ("code-server start", "code-server proxy"),
         ("grpc", "code server"), ("api", "code server"),
         (" dev", "dagster dev"), ("cli ui", "listings-pipeline ui"))  # fmt: skip


def role(proc: psutil.Process) -> str:
    line = " ".join(proc.cmdline())
    return next((name for key, name in ROLES if key in line), line[:60])


def memory_mb(pid: int) -> tuple[float, float, int, dict[str, float]]:
    rss = uss = 0
    by_role: dict[str, float] = {}
    processes = tree(pid)
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            rss += info.rss
            uss += info.uss
            name = role(proc)
            by_role[name] = by_role.get(name, 0) + info.rss / 2**20
    return rss / 2**20, uss / 2**20, len(processes), by_role


def ask(url: str, query: str) -> dict | None:
    try:
        answer = httpx.post(f"{url}/graphql", json={"query": query}, timeout=5)
    except httpx.HTTPError:
        return None
    return answer.json().get("data") if answer.status_code == 200 else None


def one_run(env: dict[str, str], settle: float) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "listings_pipeline.cli", "ui", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    result: dict[str, float] = {}
    try:
        while "graphql" not in result or "loaded" not in result:
            if proc.poll() is not None:
                raise SystemExit(f"listings-pipeline ui exited with {proc.returncode}")
            if time.monotonic() - started > 300:
                raise SystemExit("listings-pipeline ui did not come up in 300 s")
            data = ask(url, LOADED)
            if data is not None:
                result.setdefault("graphql", time.monotonic() - started)
                entries = data["workspaceOrError"].get("locationEntries", [])
                if entries and all(
                    e["loadStatus"] == "LOADED"
                    and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
                    for e in entries
                ):
                    result["loaded"] = time.monotonic() - started
            time.sleep(0.2)
        time.sleep(settle)
        samples = []
        for _ in range(5):
            samples.append(memory_mb(proc.pid))
            time.sleep(1)
        rss, uss, count, by_role = max(samples, key=lambda sample: sample[0])
        result.update(rss_mb=rss, uss_mb=uss, processes=count)
        print("  RSS by process: " + ", ".join(f"{k} {v:.0f} MB" for k, v in by_role.items()))
    finally:
        # SIGTERM to `ui` stops the `dagster dev` group it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lp-ui-"))
    env = {**os.environ, "LISTINGS_HOME": str(home), "LISTINGS_CONFIG_DIR": str(ROOT / "configs")}
    for name in ("DAGSTER_HOME", "LISTINGS_DATABASE_URL", "LISTINGS_DAGSTER_DATABASE_URL"):
        env.pop(name, None)
    cli = [sys.executable, "-m", "listings_pipeline.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    # Dagster's database and tables too: the figures are those of an everyday start.
    prepare = "from listings_pipeline.orchestration.instance import get_instance; get_instance()"
    subprocess.run([sys.executable, "-c", prepare], env=env, cwd=ROOT, check=True)
    results = []
    try:
        for i in range(args.runs):
            r = one_run(env, args.settle)
            results.append(r)
            print(
                f"run {i + 1}: GraphQL answers after {r['graphql']:.1f} s, code location loaded"
                f" after {r['loaded']:.1f} s; {r['processes']:.0f} processes,"
                f" RSS {r['rss_mb']:.0f} MB, USS {r['uss_mb']:.0f} MB",
                flush=True,
            )
    finally:
        subprocess.run([*cli, "db", "stop"], env=env, cwd=ROOT, capture_output=True)
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(
        f"median of {len(results)}: GraphQL {median['graphql']:.1f} s, loaded"
        f" {median['loaded']:.1f} s, RSS {median['rss_mb']:.0f} MB, USS {median['uss_mb']:.0f} MB"
        f" ({median['processes']:.0f} processes)"
    )


if __name__ == "__main__":
    main()
