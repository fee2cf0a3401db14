"""Connectors turn a source into a stream of records, chosen by the config's source_type.

A connector yields `SourceRecord`s, and `RecordProblem`s for records it could not read
(the import records those in pipeline.job_errors and goes on). A source that cannot be read
at all raises `ImportFailed` with a message naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listings_pipeline.configs.model import SourceConfig


@dataclass(slots=True)
class SourceRecord:
    data: dict[str, Any]
    locator: str  # where the record came from: "line 12", "page 3 item 4", a URL


@dataclass(slots=True)
class RecordProblem:
    locator: str
    message: str
    original: Any = None
    field: str | None = None


class ImportFailed(Exception):
    """The source cannot be imported at all; nothing is registered."""


Connector = Callable[[SourceConfig, Path | None], Iterator[SourceRecord | RecordProblem]]


_MISSING = object()
_FILE_TYPES = ("csv", "json", "jsonl", "xlsx")


def get_path(data: Any, dotted: str, default: Any = _MISSING) -> Any:
    """The value at a dotted key path ("meta.next_cursor"); `default` when a key is absent,
    else KeyError naming the key. Digits index into arrays ("items.0.id")."""
    for key in dotted.split("."):
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        elif default is _MISSING:
            raise KeyError(key)
        else:
            return default
    return data


# source type → (module, function); a module is imported only when its type is used (the API
# and XLSX connectors pull in httpx and openpyxl, ~0.3 s and ~20 MB a CSV import never needs).
_CONNECTORS = {
    "csv": ("files", "read_csv"),
    "json": ("files", "read_json"),
    "jsonl": ("files", "read_jsonl"),
    "xlsx": ("xlsx", "read_xlsx"),
    "api": ("api", "read_api"),
    "wordpress": ("wordpress", "read_wordpress"),
    "website": ("website", "read_website"),
}


def _connector(kind: str) -> Connector | None:
    entry = _CONNECTORS.get(kind)
    if entry is None:
        return None
    module = importlib.import_module(f"listings_pipeline.importing.connectors.{entry[0]}")
    return getattr(module, entry[1])


def iter_source(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    kind: str = config.source_type
    if kind in _FILE_TYPES and config.import_.format:
        kind = config.import_.format  # an uploaded file: import.format says how to read it
    connector = _connector(kind)
    if connector is None:
        raise ImportFailed(f"{config.slug}: source_type {kind!r} has no connector")
    return connector(config, input_path)
