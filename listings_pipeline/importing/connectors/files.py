"""File connectors: CSV, JSON (an array, or one under a key path) and JSON lines, each plain
or gzip-compressed.

Files are streamed within the input limits (importing/limits.py): only the current record is
held, and no line, field or record beyond its limit is ever held whole. A record that cannot
be read becomes a `RecordProblem` naming its line; a file that cannot be read at all (missing,
empty, not text, wrong encoding given, a compression bomb, a bad header, JSON whose records
cannot be reached) is `ImportFailed`.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord
from listings_pipeline.importing.connectors.inputs import (
    detect_encoding,
    open_binary,
    open_text,
    open_utf8,
)
from listings_pipeline.importing.connectors.json_scan import JsonStructureError, scan_records
from listings_pipeline.importing.limits import InputLimits, preview, resolve_limits, setting_hint

NEWLINE = b"\n"


def require_file(path: Path | None, source: str) -> Path:
    if path is None:
        raise ImportFailed(f"{source}: no input file given (use --input PATH)")
    if not path.is_file():
        raise ImportFailed(f"{path}: input file not found")
    if path.stat().st_size == 0:
        raise ImportFailed(f"{path}: input file is empty")
    return path


def column_names(header: list[Any], where: str) -> list[str]:
    """Header cells as column names: stripped, blanks named col<N>, duplicates refused."""
    names = [str(h).strip() if h is not None else "" for h in header]
    names = [name or f"col{i}" for i, name in enumerate(names, start=1)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ImportFailed(f"{where}: duplicate column names {dupes}")
    return names


def _not_encoded(
    path: Path, encoding: str, err: UnicodeDecodeError, limits: InputLimits
) -> ImportFailed:
    """The error for a file that is not in its configured encoding, naming the first bad line
    (text files are decoded in blocks, so the decoder's own position is no use)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line, where = 1, "end of file"
    with open_binary(path, limits) as fh:
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


class _RecordOverflow(Exception):
    """The lines of one CSV record passed max_record_bytes (an opening quote never closed)."""


class _Lines:
    """The lines of a CSV file for csv.reader, within the limits.

    Keeps the lines of the current record (a record that cannot be parsed is recorded as the
    text it was); a line longer than max_record_bytes is skipped without being held and
    handed on as an empty line, its record refused; lines can be read again (`push_back`).
    A class, not a generator: raising `_RecordOverflow` must not end the iteration."""

    def __init__(self, fh: IO[str], limit: int) -> None:
        self.fh = fh
        self.limit = limit
        self.line = 0  # number of the last line handed out
        self.record: list[str] = []
        self.size = 0
        self.overlong: int | None = None  # a line of the current record that was skipped
        self._again: deque[str] = deque()

    def start_record(self) -> None:
        self.record.clear()
        self.size = 0
        self.overlong = None

    def push_back(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))
        self.line -= len(lines)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.popleft()
        else:
            line = self.fh.readline(self.limit + 1)
            if not line:
                raise StopIteration
            if len(line) > self.limit and line[-1] not in "\r\n":
                while (rest := self.fh.readline(1 << 16)) and rest[-1] not in "\r\n":
                    pass
                self.line += 1
                self.overlong = self.overlong or self.line
                return "\n"
        self.line += 1
        self.record.append(line)
        self.size += len(line)
        if self.size > self.limit:
            raise _RecordOverflow
        return line


def _csv_reason(err: Exception, limits: InputLimits) -> str:
    if isinstance(err, _RecordOverflow):
        return f"record longer than {limits.max_record_bytes:,} characters"
    if "field larger than field limit" in str(err):
        return f"a field longer than {limits.max_record_bytes:,} characters"
    return str(err)


def read_csv(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    opts = config.import_
    limits = resolve_limits(config)
    for name in ("delimiter", "quotechar"):
        if len(getattr(opts, name)) != 1:
            raise ImportFailed(f"{config.slug}: import.{name} must be one character")
    encoding = detect_encoding(path, opts.encoding, limits, "CSV text")
    # The record's limit, not the field's: a field over max_field_bytes is refused later,
    # naming it; this one bounds what an opening quote that never closes can swallow.
    # Process-wide in the csv module: the limit of the config being read.
    csv.field_size_limit(limits.max_record_bytes)
    with open_text(path, encoding, limits) as fh:
        lines = _Lines(fh, limits.max_record_bytes)
        reader = csv.reader(lines, delimiter=opts.delimiter, quotechar=opts.quotechar, strict=True)
        header: list[str] | None = None
        while True:
            start = lines.line + 1  # a quoted field may span lines: name the first
            lines.start_record()
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as err:
                raise _not_encoded(path, encoding.name, err, limits) from err
            except (csv.Error, _RecordOverflow) as err:
                reason = _csv_reason(err, limits)
                span = f"line {start}" + (f"-{lines.line}" if lines.line > start else "")
                if header is None and opts.skip_header:
                    message = f"{path}: {span}: cannot parse the header: {reason}"
                    raise ImportFailed(message) from None
                runaway = (
                    not isinstance(err, csv.Error)
                    or "field limit" in reason
                    or ("unexpected end of data" in reason)
                )
                if runaway and len(lines.record) > 1:
                    # An opening quote that never closes swallows the lines after it: refuse
                    # its line, and read the lines it swallowed again as records of their own.
                    first, swallowed = lines.record[0], lines.record[1:]
                    lines.push_back(swallowed)
                    yield RecordProblem(
                        f"{path.name} line {start}",
                        f"cannot parse CSV: {reason} after a quote opened on this line (lines"
                        f" {start}-{start + len(swallowed)}); reading resumes on line {start + 1}",
                        original=first,
                    )
                    continue
                original = "".join(lines.record)
                yield RecordProblem(f"{path.name} {span}", f"cannot parse CSV: {reason}", original)
                continue
            if lines.overlong is not None:
                where = f"line {lines.overlong}"
                reason = (
                    f"line longer than {limits.max_record_bytes:,} characters"
                    f" ({setting_hint('max_record_bytes')})"
                )
                if header is None and opts.skip_header:
                    raise ImportFailed(f"{path}: {where}: cannot read the header: {reason}")
                yield RecordProblem(f"{path.name} {where}", reason)
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


def _parse_json(data: bytes, limits: InputLimits) -> tuple[Any, str | None]:
    """(value, None), or (None, why). orjson first; json reads what orjson refuses but is
    still JSON to Python (NaN, Infinity) and says precisely what is wrong with the rest."""
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as err:
        try:
            return json.loads(data), None
        except UnicodeDecodeError as bad:
            return None, f"not valid UTF-8 (byte 0x{bad.object[bad.start]:02x})"
        except RecursionError:
            return None, (
                f"nested deeper than {limits.max_depth} levels ({setting_hint('max_depth')})"
            )
        except ValueError:
            return None, f"not valid JSON: {err}"


def _json_record(
    data: bytes, locator: str, where: str, limits: InputLimits
) -> SourceRecord | RecordProblem:
    value, why = _parse_json(data, limits)
    if why is not None:
        return RecordProblem(locator, f"{where}{why}", original=preview(data))
    if isinstance(value, dict):
        return SourceRecord(value, locator)
    return RecordProblem(locator, f"{where}record is not a JSON object", original=preview(value))


def read_json(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    limits = resolve_limits(config)
    encoding = detect_encoding(path, config.import_.encoding, limits, "JSON text")
    with open_utf8(path, encoding, limits) as fh:
        try:
            for item in scan_records(fh, limits, config.import_.records_path):
                locator = f"{path.name} record {item.number}"
                where = f"line {item.line}: " if item.line > 1 else ""
                if item.data is None:
                    yield RecordProblem(locator, f"{where}{item.problem}")
                else:
                    yield _json_record(item.data, locator, where, limits)
        except JsonStructureError as err:
            raise ImportFailed(f"{path}: {err}") from None


def read_jsonl(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    limits = resolve_limits(config)
    encoding = detect_encoding(path, config.import_.encoding, limits, "JSON lines")
    limit = limits.max_record_bytes
    with open_utf8(path, encoding, limits) as fh:
        line_no = 0
        while line := fh.readline(limit + 1):
            line_no += 1
            locator = f"{path.name} line {line_no}"
            if len(line) > limit and not line.endswith(NEWLINE):
                while (rest := fh.readline(1 << 16)) and not rest.endswith(NEWLINE):
                    pass
                yield RecordProblem(
                    locator,
                    f"line longer than {limit:,} bytes ({setting_hint('max_record_bytes')})",
                    original=preview(line[:4096]),
                )
                continue
            if line.strip():
                yield _json_record(line.rstrip(b"\r\n"), locator, "", limits)
