"""Read a directory of messy files through the file connectors and the record checks, and
print what became of each kind: `python benchmarks/hostile_corpus.py DIR [--format json]
[--wrap]`.

Every file ends as records, problems or one ImportFailed line; anything else is a crash and is
listed, as is any file that took more than a second. `--wrap` reads each file as the value of
a record (`[{"ID": "1", "v": <file>}]`), which is how JSONTestSuite's y_/n_/i_ files
(github.com/nst/JSONTestSuite, test_parsing/) test the parser record by record.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, SourceRecord, iter_source
from listings_pipeline.importing.limits import RecordRefused, encode_record, resolve_limits


def outcome(config: SourceConfig, path: Path) -> str:
    limits = resolve_limits(config)
    try:
        items = list(iter_source(config, path))
    except ImportFailed:
        return "file failed"
    records = [i for i in items if isinstance(i, SourceRecord)]
    refused = 0
    for record in records:
        try:
            encode_record(record.data, limits)
        except RecordRefused:
            refused += 1
    if records and refused == len(records):
        return "records refused"
    return "records read" if records else "problems only"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--format", default="json", choices=("csv", "json", "jsonl"))
    parser.add_argument("--wrap", action="store_true")
    args = parser.parse_args()
    config = SourceConfig.model_validate(
        {
            "slug": "corpus",
            "dmo_id": 1,
            "dmo_name": "Corpus",
            "name": "corpus",
            "source_type": args.format,
            "transform": {"map_fields": {"listings.name": "Name"}},
        }
    )
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    odd: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(p for p in args.directory.iterdir() if p.is_file()):
            target = path
            if args.wrap:
                target = Path(tmp) / f"wrapped.{args.format}"
                target.write_bytes(b'[{"ID": "1", "v": ' + path.read_bytes() + b"}]")
            started = time.perf_counter()
            try:
                result = outcome(config, target)
            except Exception as err:  # what the connectors must never let out
                result = f"CRASH {type(err).__name__}: {err}"[:200]
            seconds = time.perf_counter() - started
            kind = path.name.split("_")[0] if args.wrap else "-"
            counts[(kind, result)] += 1
            if result.startswith("CRASH") or seconds > 1:
                odd.append(f"{path.name}: {result} ({seconds:.2f} s)")
    for (kind, result), n in sorted(counts.items()):
        print(f"{kind:<4} {result:<18} {n:>5}")
    for line in odd:
        print(line)
    return 1 if any("CRASH" in line for line in odd) else 0


if __name__ == "__main__":
    raise SystemExit(main())
