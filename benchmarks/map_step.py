"""The transform's map step (map, normalise, validate: the Python part of a transform, the
"map" entry of its step_seconds) on the generator's data, without a database.

    python benchmarks/map_step.py [--size 10000] [--runs 5] [--src DIR ...]

Each run is the fastest of three passes in one process (CPU seconds of the process, caches
emptied before each pass).
Each `--src` is a checkout of the project (for example `git archive main | tar -x -C DIR`):
the runs alternate between the checkouts in fresh processes, so a before/after comparison is
made in the same run on the same records. Prints the median seconds and records/s per checkout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _time_once(config_path: Path, export: Path, passes: int = 3) -> float:
    """The fastest of `passes` passes over the records (the machine is shared: the fastest
    pass is the one least disturbed; the caches start empty in every pass)."""
    from listings_pipeline.configs.loader import load_config
    from listings_pipeline.transform.mapping import Mapper
    from listings_pipeline.transform.normalize import normalize_row
    from listings_pipeline.transform.validate import validate_row

    config = load_config(config_path)
    with export.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    best = float("inf")
    for _ in range(passes):
        _clear_caches()
        mapper = Mapper(config)
        started = time.process_time()  # CPU seconds: less disturbed by other processes
        for record in records:
            row = mapper.map_record(record)
            issues = normalize_row(row, config.transform)
            validate_row(row, config.validation, prior=issues)
        best = min(best, time.process_time() - started)
    return best


def _clear_caches() -> None:
    """Empty every functools cache of the transform modules, so each pass parses afresh."""
    from listings_pipeline.transform import compiled

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("listings_pipeline.transform"):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
    compiled._plans.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--src", type=Path, action="append", default=[])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lp-bench")
    parser.add_argument("--once", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:  # a child process: one timed pass with the code on sys.path
        print(json.dumps(_time_once(*args.once)))
        return 0

    sys.path.insert(0, str(HERE))
    from run import dataset

    data = dataset(args.size, args.data_dir)
    config, export = data.config(1), data.export(1, 1)
    sources = args.src or [HERE.parent]
    times: dict[Path, list[float]] = {src: [] for src in sources}
    for _ in range(args.runs):
        for src in sources:
            env = {**os.environ, "PYTHONPATH": str(src.resolve())}
            out = subprocess.run(
                [sys.executable, str(HERE / "map_step.py"), "--once", str(config), str(export)],
                env=env,
                cwd=src,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            times[src].append(json.loads(out.strip().splitlines()[-1]))
    for src, values in times.items():
        median = statistics.median(values)
        print(
            f"{src}: map step {median:.3f} s median of {len(values)}"
            f" ({args.size / median:,.0f} records/s; runs {', '.join(f'{v:.3f}' for v in values)})"
        )
    if len(sources) == 2:
        a, b = (statistics.median(times[s]) for s in sources)
        print(f"ratio second/first: {b / a:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
