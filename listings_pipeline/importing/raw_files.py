"""Immutable raw files: gzip JSON lines, split by the seed's dual threshold (max records OR
max bytes, whichever comes first), named per seed 000's convention."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import orjson

from listings_pipeline.importing.raw_store import RawStore

# Level 1: raw files are written once per import and 10 KB descriptions still shrink ~3x;
# higher levels cost several times the CPU for a few percent.
GZIP_LEVEL = 1
_RECORD_KEY = b',"record":'
# Lines are handed to a background thread in chunks of this size to be compressed, hashed and
# stored (zlib and hashlib release the GIL), while the import parses the next records.
CHUNK_BYTES = 1 << 20


def raw_prefix(environment: str, data_domain: str, dmo_id: int, day: date, job_id: int) -> str:
    """{environment}/raw/{data_domain}/{dmo_id}/{YYYYMMDD}/job-{job_id:06}"""
    return f"{environment}/raw/{data_domain}/{dmo_id}/{day:%Y%m%d}/job-{job_id:06}"


def raw_line(header: dict[str, Any], record_json: bytes) -> bytes:
    """One line of a raw file: the import's keys, then "record" last (read_raw_lines relies on
    it), from the record's JSON as `limits.encode_record` made it."""
    return orjson.dumps(header)[:-1] + _RECORD_KEY + record_json + b"}\n"


def load_line(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:  # e.g. NaN, which json writes and orjson does not read
        return json.loads(line)


@dataclass(frozen=True)
class RawFile:
    key: str
    file_seq: int
    record_count: int
    first_rec_num: int
    file_size: int  # compressed bytes as stored
    file_hash: str  # md5 of the stored bytes


class _HashingSink:
    """Counts and hashes the compressed bytes on their way to the store."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.md5.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


class RawFileWriter:
    """Write records to job-{job:06}-{seq:02}.jsonl.gz files, rotating at either threshold.

    Files become visible in the store only when complete; `close()` returns them for
    registration. On error, `abort()` removes whatever this writer stored.
    """

    def __init__(
        self,
        store: RawStore,
        prefix: str,
        max_records: int,
        max_bytes: int,
        registered: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.registered = registered  # keys pipeline.files knows: never replaced
        self.prefix = prefix
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.files: list[RawFile] = []
        self._stack: ExitStack | None = None
        self._gz: gzip.GzipFile | None = None
        self._sink: _HashingSink | None = None
        self._seq = 0
        self._count = 0
        self._bytes = 0
        self._first = 0
        self._key = ""
        self._chunk = bytearray()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-file-writer")
        self._in_flight: Future[int] | None = None

    def key(self, seq: int) -> str:
        return f"{self.prefix}-{seq:02}.jsonl.gz"

    def _open(self, rec_num: int) -> None:
        self._seq += 1
        self._key = self.key(self._seq)
        if self.store.exists(self._key):
            if self._key in self.registered:
                raise FileExistsError(f"{self._key}: a registered raw file is never replaced")
            # Left by an attempt that crashed before registering its files: never registered,
            # so never seen by anyone; replace it.
            self.store.delete(self._key)
        self._stack = ExitStack()
        target = self._stack.enter_context(self.store.writer(self._key))
        self._sink = _HashingSink(target)
        self._gz = gzip.GzipFile(fileobj=self._sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        self._count = 0
        self._bytes = 0
        self._first = rec_num

    def _send(self) -> None:
        """Hand the collected lines to the writer thread (one chunk in flight at most)."""
        self._wait()
        if self._chunk and self._gz is not None:
            chunk, self._chunk = bytes(self._chunk), bytearray()
            self._in_flight = self._pool.submit(self._gz.write, chunk)

    def _wait(self) -> None:
        if self._in_flight is not None:
            future, self._in_flight = self._in_flight, None
            future.result()  # re-raises a failed write here

    def _close_current(self) -> None:
        if self._gz is None or self._stack is None or self._sink is None:
            return
        self._send()
        self._wait()
        self._gz.close()
        self._stack.close()
        self.files.append(
            RawFile(
                key=self._key,
                file_seq=self._seq,
                record_count=self._count,
                first_rec_num=self._first,
                file_size=self._sink.size,
                file_hash=self._sink.md5.hexdigest(),
            )
        )
        self._gz = self._stack = self._sink = None

    def write(self, rec_num: int, line: bytes) -> int:
        """Write one record's line (`raw_line`); return the file_seq it went to."""
        if self._gz is not None and (
            self._count >= self.max_records or self._bytes + len(line) > self.max_bytes
        ):
            self._close_current()
        if self._gz is None:
            self._open(rec_num)
        self._chunk += line
        self._count += 1
        self._bytes += len(line)
        if len(self._chunk) >= CHUNK_BYTES:
            self._send()
        return self._seq

    def close(self) -> list[RawFile]:
        self._close_current()
        self._pool.shutdown()
        return self.files

    def abort(self) -> None:
        self._chunk = bytearray()
        with suppress(Exception):  # the error that made us abort is the one to report
            self._wait()
        self._pool.shutdown()
        if self._stack is not None:
            try:
                self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)
            finally:
                self._gz = self._stack = self._sink = None
        for raw in self.files:
            self.store.delete(raw.key)
        self.files = []


@dataclass(frozen=True, slots=True)
class RawLine:
    """One record of a raw file: the keys the import wrote before the record (rec_num,
    dmo_id, source_id, ...) and the source record's JSON text as stored, parsed on demand."""

    header: dict[str, Any]
    record_json: bytes
    parsed: Any = None

    def record(self) -> Any:
        return self.parsed if self.parsed is not None else load_line(self.record_json)


def read_raw_lines(store: RawStore, key: str) -> Iterator[RawLine]:
    """Stream the records of one raw file. The writer puts "record" last, so the header is
    parsed alone and the record's bytes are the rest of the line: a record's fingerprint
    costs no parsing. (Keys before it hold numbers and escaped strings, so the first
    `,"record":` is the key.)"""
    with store.reader(key) as fh, gzip.GzipFile(fileobj=fh, mode="rb") as gz:
        for line in gz:
            line = line.rstrip(b"\r\n")
            start = line.find(_RECORD_KEY)
            if start > 0 and line.endswith(b"}"):
                try:
                    header = orjson.loads(line[:start] + b"}")
                except orjson.JSONDecodeError:
                    pass
                else:
                    yield RawLine(header, line[start + len(_RECORD_KEY) : -1])
                    continue
            whole = load_line(line)  # what orjson refuses (e.g. NaN): the whole line is the key
            record = whole.pop("record")
            yield RawLine(whole, line, record)
