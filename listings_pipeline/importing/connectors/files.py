"""File connectors: CSV (delimiter, quoting, header, encoding detection), JSON and JSON lines.

Files are streamed; only the current record is held in memory.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord

csv.field_size_limit(sys.maxsize)  # 10 KB descriptions are normal; 128 KB is csv's default cap


def require_file(path: Path | None, source: str) -> Path:
    if path is None:
        raise ImportFailed(f"{source}: no input file given (use --input PATH)")
    if not path.is_file():
        raise ImportFailed(f"{path}: input file not found")
    if path.stat().st_size == 0:
        raise ImportFailed(f"{path}: input file is empty")
    return path


def detect_encoding(path: Path, configured: str) -> str:
    """`auto`: UTF-8 (BOM stripped) if the whole file decodes as UTF-8, else Latin-1."""
    if configured.lower() != "auto":
        try:
            codecs.lookup(configured)
        except LookupError as err:
            raise ImportFailed(f"{path}: unknown encoding {configured!r}") from err
        return "utf-8-sig" if configured.lower().replace("_", "-") == "utf-8" else configured
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


def read_csv(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    opts = config.import_
    encoding = detect_encoding(path, opts.encoding)
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=opts.delimiter, quotechar=opts.quotechar, strict=True)
        try:
            header = next(reader) if opts.skip_header else None
        except StopIteration as err:
            raise ImportFailed(f"{path}: no header row") from err
        except (csv.Error, UnicodeDecodeError) as err:
            raise ImportFailed(f"{path}: line 1: cannot parse the header: {err}") from err
        if header is not None:
            header = [h.strip() for h in header]
            if len(set(header)) != len(header):
                dupes = sorted({h for h in header if header.count(h) > 1})
                raise ImportFailed(f"{path}: line 1: duplicate column names {dupes}")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise ImportFailed(
                    f"{path}: line {reader.line_num}: cannot parse CSV: {err}"
                ) from err
            except UnicodeDecodeError as err:
                raise ImportFailed(
                    f"{path}: line {reader.line_num + 1}: not valid {encoding}: {err}"
                ) from err
            locator = f"{path.name} line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if header is None:
                yield SourceRecord({f"col{i + 1}": v for i, v in enumerate(row)}, locator)
            elif len(row) != len(header):
                yield RecordProblem(
                    locator,
                    f"expected {len(header)} fields, found {len(row)} (ragged row)",
                    original=row,
                )
            else:
                yield SourceRecord(dict(zip(header, row, strict=True)), locator)


def _records_at(data: object, records_path: str | None, path: Path) -> list:
    for key in (records_path or "").split(".") if records_path else []:
        if not isinstance(data, dict) or key not in data:
            raise ImportFailed(f"{path}: records_path {records_path!r}: key {key!r} not found")
        data = data[key]
    if not isinstance(data, list):
        raise ImportFailed(f"{path}: expected a JSON array of records (set import.records_path)")
    return data


def read_json(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    try:
        with path.open("r", encoding=detect_encoding(path, config.import_.encoding)) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise ImportFailed(f"{path}: line {err.lineno}: not valid JSON: {err.msg}") from err
    for i, item in enumerate(_records_at(data, config.import_.records_path, path), start=1):
        locator = f"{path.name} record {i}"
        if isinstance(item, dict):
            yield SourceRecord(item, locator)
        else:
            yield RecordProblem(locator, "record is not a JSON object", original=item)


def read_jsonl(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    with path.open("r", encoding=detect_encoding(path, config.import_.encoding)) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            locator = f"{path.name} line {line_no}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                yield RecordProblem(
                    locator, f"not valid JSON: {err.msg}", original=line.rstrip("\n")
                )
                continue
            if isinstance(item, dict):
                yield SourceRecord(item, locator)
            else:
                yield RecordProblem(locator, "record is not a JSON object", original=item)
