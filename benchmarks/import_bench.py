"""Import speed and memory (issue 3): `python benchmarks/import_bench.py [--sizes 50000]
[--runs N]`.

Imports DMO 1's generated CSV export (listings of ~10 KB) on a fresh database in a fresh worker
process, split into raw files by the config's thresholds (5,000 records or 50 MB), and prints
records/s, MB/s, the worker's baseline and peak RSS (data's share = peak − baseline, target
under 100 MB) and the plain COPY of the same file for scale. With several sizes it also
compares peak RSS of the largest with the smallest (target: within 10%).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from run import Database, dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lp-bench")
    args = parser.parse_args(argv)
    peaks: dict[int, float] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        data = dataset(size, args.data_dir)
        export, config = data.export(1, 0), data.config(1)
        results, floors = [], []
        for _ in range(args.runs):
            db = Database()
            try:
                floors.append(db.run("floor", input=export)["copy_seconds"])
                results.append(db.run("import", config=config, input=export))
            finally:
                db.close()
        seconds = statistics.median(r["seconds"] for r in results)
        base = statistics.median(r["baseline_mb"] for r in results)
        peak = peaks[size] = statistics.median(r["peak_mb"] for r in results)
        floor = statistics.median(floors)
        mb = export.stat().st_size / 1e6
        last = results[-1]
        print(
            f"{size:,} listings, {mb:,.0f} MB CSV (median of {args.runs}):"
            f" import {seconds:.2f} s = {last['records'] / seconds:,.0f} records/s,"
            f" {mb / seconds:.0f} MB/s, CPU {last['cpu_seconds']:.1f} s;"
            f" {last['files']} raw files, {last['bytes_stored'] / 1e6:.0f} MB gzip;"
            f" plain COPY {floor:.2f} s (import = {seconds / floor:.2f}x COPY);"
            f" worker RSS baseline {base:.0f} MB, peak {peak:.0f} MB, data {peak - base:.0f} MB",
            flush=True,
        )
    if len(peaks) > 1:
        small, big = min(peaks), max(peaks)
        change = (peaks[big] - peaks[small]) / peaks[small] * 100
        print(f"peak RSS at {big:,} vs {small:,} listings: {change:+.1f}% (target within 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
