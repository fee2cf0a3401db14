"""The import stage: stream a source into immutable raw files registered in pipeline.files.

Conservation: every input record becomes a line of a raw file or a row of
pipeline.job_errors, so `records_total == written + failed` exactly.

Every record of every connector passes the input limits here (`limits.encode_record`), and the
import runs under the worker's memory watch: a bad record is an error row and the import goes
on; an input that is bad throughout (no record readable, too many errors, memory) fails the
job with one line naming it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.gil import quick_gil_handover
from listings_pipeline.importing import unchanged
from listings_pipeline.importing.connectors import ImportFailed, RecordProblem, iter_source
from listings_pipeline.importing.limits import (
    RecordRefused,
    clean_text,
    encode_record,
    preview,
    resolve_limits,
    setting_hint,
)
from listings_pipeline.importing.memory import MemoryLimitExceeded, MemoryWatch
from listings_pipeline.importing.raw_files import RawFile, RawFileWriter, raw_line, raw_prefix
from listings_pipeline.importing.raw_store import RawStore, get_raw_store
from listings_pipeline.importing.source_id import SourceIdError, SourceIdRule
from listings_pipeline.jobs import JobError, StageCounts, record_errors
from listings_pipeline.settings import get_settings

Q = load_queries(__file__, "stage.sql")
ERROR_BATCH = 500
PROGRESS_EVERY = 5_000  # records between two progress lines


@dataclass
class ImportResult:
    files: list[RawFile]
    counts: StageCounts
    seconds: float
    bytes_read: int
    # The job whose records stand in for this one's: the input is unchanged (importing.unchanged).
    unchanged_of: int | None = None

    @property
    def written(self) -> int:
        return sum(f.record_count for f in self.files)


def job_files(conn: Connection, job_id: int) -> list:
    return list(conn.execute(text(Q["job_files"]), {"job_id": job_id}))


@quick_gil_handover
def run_import(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    input_path: Path | None,
    *,
    store: RawStore | None = None,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import the source of `config` for job `job_id`. Raises ImportFailed if it cannot."""
    settings = get_settings()
    store = store or get_raw_store(settings)
    prefix = raw_prefix(
        settings.environment, config.data_domain, config.dmo_id, today or date.today(), job_id
    )
    source_id = SourceIdRule(config)
    opts = config.import_
    started = time.perf_counter()
    print_ = unchanged.fingerprint(config)
    # An upload is hashed before a record is read: an unchanged one is not parsed or stored.
    input_hash = unchanged.file_digest(input_path) if input_path is not None else None
    if input_hash is not None:
        with engine.begin() as conn:
            base = unchanged.unchanged_base(conn, job_id, input_hash, print_)
            if base is not None:
                conn.execute(text(Q["clear_import_errors"]), {"job_id": job_id})
                return ImportResult(
                    files=[],
                    counts=unchanged.record_unchanged(conn, job_id, base, input_hash, print_),
                    seconds=time.perf_counter() - started,
                    bytes_read=input_path.stat().st_size,  # type: ignore[union-attr]
                    unchanged_of=base,
                )
    # Other sources are fetched anyway: the records' hash tells whether anything changed.
    records_hash = hashlib.sha256() if input_hash is None else None
    with engine.connect() as conn:
        registered = frozenset(
            conn.execute(text(Q["registered_keys"]), {"prefix": prefix + "%"}).scalars()
        )
    writer = RawFileWriter(
        store, prefix, opts.max_records_per_file, opts.max_bytes_per_file, registered
    )
    imported_at = datetime.now(UTC).isoformat(timespec="seconds")
    counts = StageCounts()
    pending: list[JobError] = []
    first_problem: list[str] = []
    limits = resolve_limits(config)
    source = str(input_path or config.slug)

    with engine.begin() as conn:  # a retried import starts over: its old errors go
        conn.execute(text(Q["clear_import_errors"]), {"job_id": job_id})
        # Before the first byte: what a killed import leaves under it can be found and removed.
        conn.execute(text(Q["record_prefix"]), {"job_id": job_id, "prefix": prefix})

    def flush_errors() -> None:
        with engine.begin() as conn:
            record_errors(conn, job_id, "import", pending)
        pending.clear()

    def refuse(problem: RecordProblem, error_type: str) -> None:
        message = f"{problem.locator}: {problem.message}"
        if not first_problem:
            first_problem.append(message)
        pending.append(
            JobError(
                message=message,
                record_id=problem.locator,
                field_name=problem.field,
                original=preview(problem.original),
                error_type=error_type,
            )
        )
        counts.failed += 1
        if counts.failed > limits.max_errors:
            raise ImportFailed(
                f"{source}: stopped after {limits.max_errors:,} unreadable records"
                f" ({setting_hint('max_errors')}); is it the right file and format? First:"
                f" {first_problem[0]}"
            )
        if len(pending) >= ERROR_BATCH:
            flush_errors()

    try:
        with MemoryWatch(settings.worker_memory_mb):
            for item in iter_source(config, input_path):
                counts.total += 1
                rec_num = counts.total
                if progress is not None and rec_num % PROGRESS_EVERY == 0:
                    progress(f"import: {rec_num:,} records read, {counts.failed:,} refused")
                if isinstance(item, RecordProblem):
                    refuse(item, "unreadable_record")
                    continue
                try:
                    record_json = encode_record(item.data, limits)
                except RecordRefused as err:
                    message = f"field {err.field!r}: {err.message}" if err.field else err.message
                    refuse(
                        RecordProblem(item.locator, message, item.data, err.field),
                        "record_refused",
                    )
                    continue
                try:
                    sid = source_id(item.data)
                except SourceIdError as err:
                    refuse(
                        RecordProblem(item.locator, str(err), item.data, err.field),
                        "missing_source_id",
                    )
                    continue
                if records_hash is not None:
                    records_hash.update(b"%d:%s\0%s\n" % (len(sid), sid.encode(), record_json))
                header = {
                    "rec_num": rec_num,
                    "dmo_id": config.dmo_id,
                    "source_id": sid,
                    "imported_at": imported_at,
                    "imported_by": opts.imported_by,
                    "locator": clean_text(item.locator),
                }
                writer.write(rec_num, raw_line(header, record_json))
        files = writer.close()
        if pending:
            flush_errors()
        if counts.total == 0:
            raise ImportFailed(f"{source}: the source has no records")
        if counts.failed == counts.total:
            more = counts.failed - 1
            raise ImportFailed(
                f"{source}: no record could be read: {first_problem[0]}"
                + (f" (and {more:,} more in the job's errors)" if more else "")
            )
        if input_path is not None:  # the original upload is kept beside its raw files
            original = f"{prefix}-original{''.join(input_path.suffixes) or '.dat'}"
            if store.exists(original):
                store.delete(original)
            store.put_file(input_path, original)
    except MemoryLimitExceeded:
        writer.abort()
        raise ImportFailed(
            f"{source}: stopped at record {counts.total:,}: the worker's memory passed its limit"
            f" of {settings.worker_memory_mb:,} MB (LISTINGS_WORKER_MEMORY_MB); is the input"
            " far larger than it looks (a workbook with huge shared strings)?"
        ) from None
    except ImportFailed:
        writer.abort()
        if pending:  # the errors seen so far explain the failure: keep them
            flush_errors()
        raise
    except BaseException:
        writer.abort()
        raise

    base = None
    with engine.begin() as conn:  # all files registered together, or none
        if records_hash is not None:
            input_hash = records_hash.hexdigest()
            base = unchanged.unchanged_base(conn, job_id, input_hash, print_)
        unchanged.record_input(conn, job_id, input_hash, print_, base)
        for raw in files:
            conn.execute(
                text(Q["register_file"]),
                {
                    "dmo_id": config.dmo_id,
                    "job_id": job_id,
                    "file_path": raw.key,
                    "import_id": f"job-{job_id:06}",
                    "file_seq": raw.file_seq,
                    "data_domain": config.data_domain,
                    "file_date": today or date.today(),
                    "file_size": raw.file_size,
                    "record_count": raw.record_count,
                    "first_rec_num": raw.first_rec_num,
                    "file_hash": raw.file_hash,
                },
            )
    written = sum(f.record_count for f in files)
    if progress is not None:
        progress(
            f"import: {counts.total:,} records read, {written:,} written to {len(files)} raw files"
        )
    counts.extra = {
        "unchanged": base is not None,
        **({"unchanged_of": base} if base is not None else {}),
        "files": len(files),
        "records_written": written,
        "bytes_stored": sum(f.file_size for f in files),
    }
    return ImportResult(
        files=files,
        counts=counts,
        seconds=time.perf_counter() - started,
        bytes_read=input_path.stat().st_size if input_path is not None else 0,
        unchanged_of=base,
    )
