"""Connectors turn a source into a stream of records, chosen by the config's source_type.

A connector yields `SourceRecord`s, and `RecordProblem`s for records it could not read
(the import records those in pipeline.job_errors and goes on). A source that cannot be read
at all raises `ImportFailed` with a message naming it.
"""

from __future__ import annotations

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


def _registry() -> dict[str, Connector]:
    from listings_pipeline.importing.connectors import files

    return {
        "csv": files.read_csv,
        "json": files.read_json,
        "jsonl": files.read_jsonl,
    }


def iter_source(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    connector = _registry().get(config.source_type)
    if connector is None:
        raise ImportFailed(f"source_type {config.source_type!r} has no connector yet")
    return connector(config, input_path)
