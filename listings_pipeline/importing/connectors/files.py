"""File connectors: CSV, JSON (an array, or one under a key path) and JSON lines.

Files are streamed: only the current record is held in memory, JSON included (ijson).
A record that cannot be read becomes a `RecordProblem` naming its line; a file that cannot be
read at all (missing, empty, wrong encoding given, broken JSON, bad header) is `ImportFailed`.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord

csv.field_size_limit(sys.maxsize)  # 10 KB descriptions are normal; 128 KB is csv's default cap

NEWLINE = b"\n"
# Bytes that Windows-1252 leaves undefined: a file holding one is not cp1252.
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


def require_file(path: Path | None, source: str) -> Path:
    if path is None:
        raise ImportFailed(f"{source}: no input file given (use --input PATH)")
    if not path.is_file():
        raise ImportFailed(f"{path}: input file not found")
    if path.stat().st_size == 0:
        raise ImportFailed(f"{path}: input file is empty")
    return path


def detect_encoding(path: Path, configured: str) -> str:
    """The codec to read `path` with. `auto`: UTF-32/UTF-16 if the file starts with their BOM;
    UTF-8 (BOM stripped) if the whole file decodes as UTF-8; else Windows-1252 (Excel's
    "CSV" on Windows; a superset of Latin-1's printable characters); else Latin-1, which
    decodes any byte."""
    if configured.lower() != "auto":
        try:
            name = codecs.lookup(configured).name
        except LookupError as err:
            raise ImportFailed(f"{path}: unknown encoding {configured!r}") from err
        return "utf-8-sig" if name == "utf-8" else name
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            return "utf-32"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8 = cp1252 = True
        while (utf8 or cp1252) and (chunk := fh.read(1 << 18)):
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if cp1252 and any(byte in chunk for byte in _CP1252_UNDEFINED):
                cp1252 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    return "utf-8-sig" if utf8 else "cp1252" if cp1252 else "latin-1"


def _not_encoded(path: Path, encoding: str, err: UnicodeDecodeError) -> ImportFailed:
    """The error for a file that is not in its configured encoding, naming the first bad line
    (text files are decoded in blocks, so the decoder's own position is no use)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line, where = 1, "end of file"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as bad:
                where = f"line {line + chunk.count(NEWLINE, 0, max(0, bad.start))}"
                break
            line += chunk.count(NEWLINE)
    name = "utf-8" if encoding == "utf-8-sig" else encoding
    return ImportFailed(
        f"{path}: {where}: not valid {name} (set import.encoding, or 'auto' to detect it):"
        f" {err.reason} (byte 0x{err.object[err.start]:02x})"
    )


def column_names(header: list[Any], where: str) -> list[str]:
    """Header cells as column names: stripped, blanks named col<N>, duplicates refused."""
    names = [str(h).strip() if h is not None else "" for h in header]
    names = [name or f"col{i}" for i, name in enumerate(names, start=1)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ImportFailed(f"{where}: duplicate column names {dupes}")
    return names


def _tap(fh: Any, lines: list[str]) -> Iterator[str]:
    """Hand lines to the csv reader and keep those of the current record in `lines`, so a
    record that cannot be parsed is still recorded as the text it was (a generator: a
    class with __next__ costs twice as much per line)."""
    for line in fh:
        lines.append(line)
        yield line


def read_csv(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    opts = config.import_
    for name in ("delimiter", "quotechar"):
        if len(getattr(opts, name)) != 1:
            raise ImportFailed(f"{config.slug}: import.{name} must be one character")
    encoding = detect_encoding(path, opts.encoding)
    with path.open("r", encoding=encoding, newline="") as fh:
        record_lines: list[str] = []
        reader = csv.reader(
            _tap(fh, record_lines), delimiter=opts.delimiter, quotechar=opts.quotechar, strict=True
        )
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1  # a quoted field may span lines: name the first
            record_lines.clear()
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as err:
                raise _not_encoded(path, encoding, err) from err
            except csv.Error as err:
                # The reader resumes at the next line; only this record is lost.
                lines = f"line {start}" + (f"-{reader.line_num}" if reader.line_num > start else "")
                if header is None and opts.skip_header:
                    raise ImportFailed(f"{path}: {lines}: cannot parse the header: {err}") from err
                yield RecordProblem(
                    f"{path.name} {lines}",
                    f"cannot parse CSV: {err}",
                    original="".join(record_lines),
                )
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if header is None and opts.skip_header:
                header = column_names(row, f"{path}: line {start}")
                continue
            locator = f"{path.name} line {start}"
            if header is None:
                yield SourceRecord({f"col{i}": v for i, v in enumerate(row, start=1)}, locator)
                continue
            if len(row) > len(header) and not any(c.strip() for c in row[len(header) :]):
                row = row[: len(header)]  # trailing delimiters, as spreadsheets write them
            if len(row) != len(header):
                yield RecordProblem(
                    locator,
                    f"expected {len(header)} fields, found {len(row)} (ragged row)",
                    original=row,
                )
            else:
                yield SourceRecord(dict(zip(header, row, strict=True)), locator)
    if header is None and opts.skip_header:
        raise ImportFailed(f"{path}: no header row (only blank lines)")


class _Utf8Reader:
    """ijson parses UTF-8 bytes: re-encode a file that is in another encoding."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size).encode("utf-8")


def read_json(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    records_path = config.import_.records_path
    prefix = records_path or ""
    encoding = detect_encoding(path, config.import_.encoding)
    found: list[str] = []  # the JSON type at records_path, once seen

    def watch(events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, str, Any]]:
        for event in events:
            if not found and event[0] == prefix and event[1] != "map_key":
                found.append(event[1])
            yield event

    with path.open("rb") if encoding == "utf-8-sig" else path.open("r", encoding=encoding) as fh:
        if encoding == "utf-8-sig" and fh.read(3) != codecs.BOM_UTF8:
            fh.seek(0)
        stream = fh if encoding == "utf-8-sig" else _Utf8Reader(fh)
        events = watch(ijson.parse(stream, use_float=True))
        items = ijson.items(events, f"{prefix}.item" if prefix else "item")
        try:
            for i, item in enumerate(items, start=1):
                locator = f"{path.name} record {i}"
                if isinstance(item, dict):
                    yield SourceRecord(item, locator)
                else:
                    yield RecordProblem(locator, "record is not a JSON object", original=item)
        except ijson.JSONError as err:
            raise ImportFailed(f"{path}: not valid JSON: {err}") from err
        except UnicodeDecodeError as err:
            raise _not_encoded(path, encoding, err) from err
    if not found:
        where = f"records_path {records_path!r} not found" if records_path else "no JSON value"
        raise ImportFailed(f"{path}: {where}")
    if found[0] not in ("start_array", "null"):
        what = {"start_map": "an object"}.get(found[0], f"a {found[0]}")
        hint = "set import.records_path" if records_path is None else "check import.records_path"
        raise ImportFailed(
            f"{path}: expected an array of records at {records_path or 'the top level'},"
            f" found {what} ({hint})"
        )


def read_jsonl(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    encoding = detect_encoding(path, config.import_.encoding)
    with path.open("r", encoding=encoding) as fh:
        line_no = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as err:
                raise _not_encoded(path, encoding, err) from err
            if not line:
                return
            line_no += 1
            if not line.strip():
                continue
            locator = f"{path.name} line {line_no}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                yield RecordProblem(
                    locator,
                    f"not valid JSON (column {err.colno}): {err.msg}",
                    original=line.rstrip("\r\n"),
                )
                continue
            if isinstance(item, dict):
                yield SourceRecord(item, locator)
            else:
                yield RecordProblem(locator, "record is not a JSON object", original=item)
