"""`listings-pipeline ui`: Dagster's webserver and daemon (`dagster dev`) for this project."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import psutil

from listings_pipeline.orchestration.runner import REPO_ROOT, prepare_dagster_home


def dagster_dev_command(port: int, host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable, "-m", "dagster", "dev",
        "-m", "listings_pipeline.definitions",
        "--working-directory", str(REPO_ROOT),
        "-h", host, "-p", str(port),
    ]  # fmt: skip


def serve_dagster(port: int = 3000) -> int:
    """Run `dagster dev` in its own process group (it may ignore SIGINT when started from a
    non-interactive shell) and stop the whole group on Ctrl-C or SIGTERM."""
    env = {**os.environ, "DAGSTER_HOME": str(prepare_dagster_home())}
    proc = subprocess.Popen(dagster_dev_command(port), env=env, start_new_session=True)
    print(f"Dagster UI: http://127.0.0.1:{port}  (DAGSTER_HOME={env['DAGSTER_HOME']})", flush=True)

    def stop(*_: object) -> None:
        stop_process_tree(proc.pid)

    signal.signal(signal.SIGTERM, lambda *a: stop())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop()
        return proc.wait()


def stop_process_tree(pid: int, timeout: float = 15.0) -> None:
    """Terminate `pid` and every process under it; kill what is still alive after `timeout`.
    `dagster dev` does not always exit on SIGTERM/SIGINT, and its webserver, daemon and code
    servers must not outlive it."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
