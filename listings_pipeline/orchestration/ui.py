"""`listings-pipeline ui`: Dagster's webserver and daemon (`dagster dev`) for this project,
and the pipeline console beside it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import dagster as dg
import psutil

from listings_pipeline.orchestration.instance import WORKSPACE_YAML, prepare_dagster_home


def dagster_dev_command(port: int, host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable, "-m", "dagster", "dev", "-w", str(WORKSPACE_YAML),
        "-h", host, "-p", str(port),
    ]  # fmt: skip


def console_command(port: int, host: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "listings_pipeline.cli", "console", "--host", host,
            "--port", str(port)]  # fmt: skip


def serve_dagster(port: int = 3000, console_port: int | None = 8000) -> int:
    """Run `dagster dev` (and the console) in their own process groups (`dagster dev` may
    ignore SIGINT when started from a non-interactive shell) and stop both, with everything
    under them, on Ctrl-C or SIGTERM. Returns when `dagster dev` exits."""
    prepare_dagster_home()  # sets DAGSTER_HOME and Dagster's storage URL in os.environ
    env = dict(os.environ)
    procs = [subprocess.Popen(dagster_dev_command(port), env=env, start_new_session=True)]
    print(f"Dagster UI: http://127.0.0.1:{port}  (DAGSTER_HOME={env['DAGSTER_HOME']})", flush=True)
    if console_port is not None:
        procs.append(
            subprocess.Popen(console_command(console_port), env=env, start_new_session=True)
        )
        print(f"Pipeline console: http://127.0.0.1:{console_port}", flush=True)

    def stop(*_: object) -> None:
        for proc in procs:
            stop_process_tree(proc.pid)
        # The daemon is gone: say so at once, so a CLI run submitted now launches itself
        # instead of waiting for the stale heartbeat to age out.
        with contextlib.suppress(Exception), dg.DagsterInstance.get() as instance:
            instance.wipe_daemon_heartbeats()

    signal.signal(signal.SIGTERM, lambda *a: stop())
    try:
        return procs[0].wait()
    except KeyboardInterrupt:
        return procs[0].wait()
    finally:
        stop()


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
