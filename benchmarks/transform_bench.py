"""Transform speed and memory (issue 4): `python benchmarks/transform_bench.py [--sizes 50000]
[--runs N]`.

On a fresh database: imports DMO 1's generated CSV (listings of ~10 KB), transforms it in a
fresh worker process (records/s, baseline and peak RSS), promotes it, then times an unchanged
re-import (import + transform + promote, each in its own worker) and checks it wrote nothing to
the public tables. Shares its machinery with benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from run import dataset, format_summary, measure, summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lp-bench")
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",")):
        data = dataset(size, args.data_dir)
        runs = [measure(size, data, ("floor", "first", "unchanged")) for _ in range(args.runs)]
        summary = summarize(size, runs)
        rows = {r["stage"]: r for r in summary["table"]}
        t, u = rows["first: transform"], rows["unchanged: end to end"]
        print(
            f"{size:,} listings: transform {t['seconds']:.2f} s = {t['records_per_s']:,.0f}"
            f" records/s ({t['x_copy']:.2f}x COPY); worker RSS baseline {t['baseline_mb']:.0f} MB,"
            f" peak {t['peak_mb']:.0f} MB, data {t['data_mb']:.0f} MB; unchanged re-import"
            f" {u['seconds']:.2f} s ({u['x_copy']:.2f}x COPY)"
        )
        print(format_summary(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
