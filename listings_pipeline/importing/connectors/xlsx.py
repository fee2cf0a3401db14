"""Excel (.xlsx) connector: one sheet (`import.sheet`, else the first), streamed row by row.

openpyxl's read-only mode parses the sheet XML as it goes, so memory stays flat however many
rows there are. Cells hold their last computed value (formulas are not evaluated); dates and
times become ISO 8601 strings so every record is plain JSON.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, SourceRecord
from listings_pipeline.importing.connectors.files import column_names, require_file


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
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as err:
        raise ImportFailed(
            f"{path}: not a readable .xlsx workbook (old .xls files must be saved as .xlsx"
            f" first): {err}"
        ) from err
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
    finally:
        workbook.close()
