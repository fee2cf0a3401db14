"""Excel (.xlsx) connector: one sheet (`import.sheet`, else the first), streamed row by row.

openpyxl's read-only mode parses the sheet XML as it goes, so memory stays flat however many
rows there are (its shared strings are held whole: the worker's memory watch bounds them).
Cells hold their last computed value (formulas are not evaluated); dates and times become ISO
8601 strings so every record is plain JSON.

Before openpyxl opens it, the zip's directory is checked against the input limits: total
decompressed size and compression ratio. Python's zipfile never yields more than a member's
declared size (it fails the CRC instead), so a member that lies about its size cannot expand
past the check. Expat (2.4+) refuses XML entity expansion bombs ("billion laughs").
"""

from __future__ import annotations

import datetime as dt
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord
from listings_pipeline.importing.connectors.files import column_names, require_file
from listings_pipeline.importing.limits import RATIO_FROM, InputLimits, resolve_limits, setting_hint

MAX_MEMBERS = 10_000  # a workbook has a few dozen parts
# What openpyxl raises on a damaged workbook, from its zip, its XML or its cell values.
_DAMAGED = (
    InvalidFileException,
    zipfile.BadZipFile,
    zlib.error,
    ParseError,
    EOFError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    OSError,
)


def check_zip(path: Path, limits: InputLimits) -> None:
    """ImportFailed when the workbook's parts would expand past the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ImportFailed(
            f"{path}: not a readable .xlsx workbook (old .xls files must be saved as .xlsx"
            f" first): {err}"
        ) from None
    if len(members) > MAX_MEMBERS:
        raise ImportFailed(f"{path}: {len(members):,} parts in the workbook: not an .xlsx")
    total = sum(m.file_size for m in members)
    if total > limits.max_decompressed_bytes:
        raise ImportFailed(
            f"{path}: decompresses to {total:,} bytes, over the limit of"
            f" {limits.max_decompressed_bytes:,} ({setting_hint('max_decompressed_bytes')});"
            " not imported"
        )
    for member in members:
        ratio = member.file_size / max(1, member.compress_size)
        if member.file_size > RATIO_FROM and ratio > limits.max_compression_ratio:
            raise ImportFailed(
                f"{path}: part {member.filename} expands {ratio:,.0f} times ({member.file_size:,}"
                f" bytes; over {limits.max_compression_ratio},"
                f" {setting_hint('max_compression_ratio')}): a compression bomb, not imported"
            )


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        return value.strip()
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_xlsx(
    config: SourceConfig, input_path: Path | None
) -> Iterator[SourceRecord | RecordProblem]:
    path = require_file(input_path, config.slug)
    check_zip(path, resolve_limits(config))
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except _DAMAGED as err:
        raise ImportFailed(
            f"{path}: not a readable .xlsx workbook (old .xls files must be saved as .xlsx"
            f" first): {type(err).__name__}: {err}"
        ) from None
    row_no = 0
    try:
        sheet_name = config.import_.sheet or workbook.sheetnames[0]
        if sheet_name not in workbook.sheetnames:
            raise ImportFailed(
                f"{path}: no sheet named {sheet_name!r} (sheets: {workbook.sheetnames})"
            )
        sheet = workbook[sheet_name]
        # Some writers store a wrong sheet size, which makes read-only mode stop early.
        sheet.reset_dimensions()
        header: list[str] | None = None
        for row_no, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if all(_blank(v) for v in row):
                continue
            if header is None and config.import_.skip_header:
                while row and _blank(row[-1]):  # formatted but empty cells past the data
                    row = row[:-1]
                header = column_names(list(row), f"{path}: sheet {sheet_name!r} row {row_no}")
                continue
            locator = f"{path.name} sheet {sheet_name} row {row_no}"
            values = [_cell(v) for v in row]
            if header is None:
                yield SourceRecord({f"col{i}": v for i, v in enumerate(values, 1)}, locator)
                continue
            extra = values[len(header) :]
            if any(not _blank(v) for v in extra):
                yield RecordProblem(
                    locator,
                    f"expected {len(header)} columns, found a value in column"
                    f" {len(header) + next(i for i, v in enumerate(extra, 1) if not _blank(v))}"
                    " which has no header",
                    original=values,
                )
                continue
            values += [None] * (len(header) - len(values))
            yield SourceRecord(dict(zip(header, values[: len(header)], strict=True)), locator)
        if header is None and config.import_.skip_header:
            raise ImportFailed(f"{path}: sheet {sheet_name!r} has no header row (it is empty)")
    except _DAMAGED as err:
        raise ImportFailed(
            f"{path}: the workbook is damaged (reading row {row_no + 1}):"
            f" {type(err).__name__}: {err}"
        ) from None
    finally:
        workbook.close()
