"""Writing generated data: snapshot files (CSV, JSON lines), truth.csv and source configs."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

import yaml

from listings_pipeline.configs import load_config
from listings_pipeline.generate.places import COLUMN_TARGETS, COLUMNS

FORMATS = ("csv", "jsonl")
TRUTH_COLUMNS = ("dmo_id", "source_key", "place_id", "first_snapshot")
_BUFFER = 1 << 20


def _csv_field(value: object) -> str:
    """One field as `csv.writer` (QUOTE_MINIMAL, the default dialect) would write it.

    Done by hand because the csv module copies ten-kilobyte descriptions character by
    character; str.replace and `in` are several times faster. A test compares the output
    with csv.writer's byte for byte.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def csv_line(values: Iterable[object]) -> str:
    return ",".join(map(_csv_field, values)) + "\r\n"


class SnapshotWriter:
    """One snapshot of one DMO, written record by record to every requested format."""

    def __init__(self, paths: dict[str, Path]) -> None:
        unknown = set(paths) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown output format(s) {sorted(unknown)}; expected {FORMATS}")
        self.paths = paths
        self._files: list[IO[str]] = []
        self._csv: IO[str] | None = None
        self._jsonl: IO[str] | None = None
        self.records = 0

    def __enter__(self) -> SnapshotWriter:
        for fmt, path in self.paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = path.open("w", encoding="utf-8", newline="", buffering=_BUFFER)
            self._files.append(fh)
            if fmt == "csv":
                self._csv = fh
                fh.write(csv_line(COLUMNS))
            else:
                self._jsonl = fh
        return self

    def write(self, record: dict[str, object]) -> None:
        if self._csv is not None:
            self._csv.write(csv_line([record[c] for c in COLUMNS]))
        if self._jsonl is not None:
            ordered = {c: record[c] for c in COLUMNS}
            self._jsonl.write(json.dumps(ordered, ensure_ascii=False) + "\n")
        self.records += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for fh in self._files:
            fh.close()

    def bytes_written(self) -> int:
        return sum(path.stat().st_size for path in self.paths.values())


def source_config(dmo_id: int, slug: str, dmo_name: str, fmt: str) -> dict[str, object]:
    """A source config for one DMO's generated files, in the shape `load_config` accepts."""
    return {
        "slug": f"{slug}-{fmt}",
        "dmo_id": dmo_id,
        "dmo_name": dmo_name,
        "name": f"{dmo_name} listings ({fmt.upper()} export)",
        "source_type": fmt,
        "import": {"format": fmt, "source_id": {"field": "ID"}},
        "transform": {
            "map_fields": {target: column for column, target in COLUMN_TARGETS.items()},
            "list_delimiter": ",",
            "default_country": "CA",
        },
    }


def write_source_config(config_dir: Path, config: dict[str, object], comment: str) -> Path:
    """Write `config` as YAML named after its slug, and prove it loads."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / f"{config['slug']}.yaml"
    body = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    path.write_text(header + body, encoding="utf-8")
    load_config(path)  # a generated config that does not validate is a generator bug
    return path


class TruthWriter:
    """truth.csv: which real-world place each (DMO, source key) record describes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = path.open("w", encoding="utf-8", newline="", buffering=_BUFFER)
        self._writer = csv.writer(self._fh)
        self._writer.writerow(TRUTH_COLUMNS)

    def add(self, dmo_id: int, source_key: str, place_id: int, snapshot: int) -> None:
        self._writer.writerow((dmo_id, source_key, place_id, snapshot))

    def close(self) -> None:
        self._fh.close()


def write_manifest(path: Path, manifest: dict[str, object]) -> None:
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
