"""Pipeline work in another process that stops at a chosen point, so a test can act while it
holds the source (start a second run, promote, decide) and then let it go on, or kill it -9
like the kernel's OOM killer or a lost machine would.

The worker is a real process with its own database session (the lock lives in sessions), on
the test's database (LISTINGS_HOME / LISTINGS_DATABASE_URL are inherited). It prints
`paused` when it reaches the point and waits for a line on stdin; at the end it prints `done`
and a JSON line of what it did, or `error` and the message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import json, sys, traceback
from pathlib import Path
from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.db import get_engine

def pause(*_args, **_kwargs):
    print("paused", flush=True)
    sys.stdin.readline()
    return {}

engine = get_engine()
config = SourceConfig.model_validate(json.loads(sys.argv[1]))
args = json.loads(sys.argv[2])
out = {}
try:
"""
EPILOGUE = """
except Exception as err:
    print("error", flush=True)
    print(json.dumps({"error": f"{type(err).__name__}: {err}"}), flush=True)
    sys.exit(1)
print("done", flush=True)
print(json.dumps(out, default=str), flush=True)
"""

# Bodies (indented once, inside the try). `args` holds what the test passed.
RUN = """
    job = out["job"] = pipeline.start_job(engine, config, input_path=Path(args["input"]))
    pipeline.import_stage(engine, job, config, Path(args["input"]))
    pipeline.transform_stage(engine, job, config)
    if pipeline.gate(engine, job).passed:
        pipeline.promote_stage(engine, job, config, promoted_by="worker")
"""
# Paused in the transform's second batch (the first is staged, the lock and the DMO's
# catalogue are held).
PAUSE_IN_TRANSFORM = """
    from listings_pipeline.transform import stage as transform
    transform.BATCH_ROWS = args.get("batch_rows", 100)
    batches = []
    def hook(conn):
        batches.append(1)
        if len(batches) == 2:
            pause()
        return {}
    job = out["job"] = pipeline.start_job(engine, config, input_path=Path(args["input"]))
    pipeline.import_stage(engine, job, config, Path(args["input"]))
    pipeline.transform_stage(engine, job, config, hooks=[hook])
    if args.get("promote") and pipeline.gate(engine, job).passed:
        pipeline.promote_stage(engine, job, config, promoted_by="worker")
"""
# Paused after writing some records of the import (rotated raw files exist, none registered).
PAUSE_IN_IMPORT = """
    from listings_pipeline.importing import raw_files
    write = raw_files.RawFileWriter.write
    def paused_write(self, rec_num, record):
        if rec_num == args["pause_at"]:
            pause()
        return write(self, rec_num, record)
    raw_files.RawFileWriter.write = paused_write
    job = out["job"] = pipeline.start_job(engine, config, input_path=Path(args["input"]))
    pipeline.import_stage(engine, job, config, Path(args["input"]))
"""
# Promotes an existing job (args["job"]), paused inside its second batch's transaction.
PAUSE_IN_PROMOTE = """
    from listings_pipeline.promotion import promote
    real = promote.promote_job
    def paused_promote(*a, **kw):
        def on_step(batch, step):
            if batch == 2 and step == "replace_opening_hours":
                pause()
        return real(*a, **kw, batch_rows=args.get("batch_rows", 100), on_step=on_step)
    pipeline.promote_job = paused_promote
    out["job"] = args["job"]
    pipeline.promote_stage(engine, args["job"], config, promoted_by="worker")
"""


class Worker:
    def __init__(self, body: str, config: dict[str, Any], **args: Any) -> None:
        script = PRELUDE + body + EPILOGUE
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(config), json.dumps(args, default=str)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def wait_paused(self) -> None:
        line = self._line()
        if line != "paused":
            rest = self.proc.stdout.read() if self.proc.stdout else ""
            raise AssertionError(f"worker did not pause: {line!r} {rest!r}")

    def resume(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 120) -> dict[str, Any]:
        """Wait for the end; the worker's result, or {'error': message}."""
        status = self._line()
        result = json.loads(self._line() or "{}")
        self.proc.wait(timeout=timeout)
        self._close()
        assert status in ("done", "error"), status
        return result

    def kill(self) -> None:
        """kill -9: no cleanup of any kind runs in the worker."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
