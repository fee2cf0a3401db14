"""Generation speed and memory: `python benchmarks/bench_generate.py [LISTINGS_PER_DMO] [DMOS]
[FORMATS]`. Writes into a temporary directory, prints records/s, MB/s, CPU time and peak RSS, and
deletes the output."""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
from pathlib import Path

from listings_pipeline.generate import generate


def main(argv: list[str]) -> None:
    per_dmo = int(argv[0]) if argv else 50_000
    dmos = int(argv[1]) if len(argv) > 1 else 1
    formats = argv[2].split(",") if len(argv) > 2 else ["csv"]
    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        summary = generate(
            work / "out",
            dmos=dmos,
            listings_per_dmo=per_dmo,
            description_kb=10,
            snapshots=1,
            formats=formats,
        )
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime  # steadier than wall time on a shared machine
        print(
            f"{summary.records_written:,} records x ~10 KB ({', '.join(formats)}):"
            f" {summary.bytes_written / 1e6:,.0f} MB in {summary.seconds:.1f} s ="
            f" {summary.records_per_second:,.0f} records/s,"
            f" {summary.bytes_written / 1e6 / summary.seconds:,.0f} MB/s;"
            f" CPU {cpu:.1f} s ({summary.records_written / cpu:,.0f} records per CPU second);"
            f" peak RSS {summary.peak_rss_mb:.0f} MB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
