"""The records of a JSON array, found without building the document: each record's bytes are
cut out by tracking only strings and brackets, then parsed alone by orjson.

Why not ijson: its prefixed events (`ijson.items`, `ijson.parse`) keep a path string per
nesting level, O(depth²) memory (20,000 nested brackets: 1 GB; 200 KB of them: 23 GB), and
yajl turns a lone surrogate escape into "?" without a word. Here regular expressions skip
everything but brackets and unfinished strings in C; a record's bytes are held only up to
`max_record_bytes` and its nesting counted up to `max_depth` (past either, it is skipped, not
held); orjson then refuses what is not valid (bad UTF-8, lone surrogates, syntax) in that
record alone, and the next record is read as usual.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from listings_pipeline.importing.limits import InputLimits, setting_hint

CHUNK = 1 << 16
MAX_KEY = 1 << 16  # bytes of a key on the way to the records (records_path)
_WS = re.compile(rb"[ \t\r\n]*+")
# Complete strings and bytes that are neither brackets nor quotes: all a record is made of,
# between its brackets. Possessive: no backtracking, linear time.
_BODY = re.compile(rb'(?:"(?:[^"\\]++|\\.)*+"|[^"\[\]{}]++)*+', re.DOTALL)
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_LITERAL = re.compile(rb'[^\s,:\[\]{}"]*+')
QUOTE, COMMA, COLON = ord('"'), ord(","), ord(":")
OPEN_MAP, OPEN_ARRAY, CLOSE_MAP, CLOSE_ARRAY = ord("{"), ord("["), ord("}"), ord("]")
OPEN = (OPEN_MAP, OPEN_ARRAY)
CUT_SHORT = "the file ends inside this record (was it cut short?)"


class JsonStructureError(Exception):
    """The document cannot lead to its records: nothing of it can be imported."""


@dataclass(frozen=True, slots=True)
class ScannedRecord:
    number: int
    line: int  # where the record starts
    data: bytes | None  # its JSON text, None when refused
    problem: str | None = None


def _kind(byte: int | None) -> str:
    if byte is None:
        return "nothing"
    return {
        OPEN_MAP: "an object",
        OPEN_ARRAY: "an array",
        QUOTE: "a string",
        ord("t"): "a boolean",
        ord("f"): "a boolean",
        ord("n"): "null",
    }.get(byte, "a number" if chr(byte) in "-0123456789" else f"{chr(byte)!r}")


class _Scanner:
    def __init__(self, stream: BinaryIO, limits: InputLimits) -> None:
        self.stream = stream
        self.limits = limits
        self.buf = bytearray()
        self.pos = 0
        self.lines = 1  # line number at index `counted`
        self.counted = 0
        self.eof = False

    def line(self) -> int:
        """The line number at pos (newlines are counted once each, as pos moves on)."""
        self.lines += self.buf.count(b"\n", self.counted, self.pos)
        self.counted = self.pos
        return self.lines

    def fill(self, keep_from: int) -> bool:
        """Drop the bytes before index `keep_from`, read more; False at the end of input."""
        if keep_from:
            self.line()
            self.lines -= self.buf.count(b"\n", keep_from, self.counted)  # not yet passed
            self.counted = keep_from
            del self.buf[:keep_from]
            self.pos -= keep_from
            self.counted -= keep_from
        if self.eof:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def peek(self) -> int | None:
        """The next byte that is not whitespace (not consumed); None at the end of input."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill(self.pos):
                return None

    def string(self, limit: int) -> bytes | None:
        """The string token at pos, quotes included; None if longer than `limit` (skipped)."""
        start, keep = self.pos, True
        self.pos += 1
        while True:
            self.pos = _STRING_REST.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) and self.buf[self.pos] == QUOTE:
                self.pos += 1
                return bytes(self.buf[start : self.pos]) if keep else None
            keep = keep and len(self.buf) - start <= limit
            if not self.fill(start if keep else self.pos):
                raise EOFError
            start = 0

    def literal(self, limit: int) -> bytes | None:
        """A number, true, false or null at pos; None if longer than `limit` (skipped)."""
        start, keep = self.pos, True
        while True:
            self.pos = _LITERAL.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return bytes(self.buf[start : self.pos]) if keep else None
            keep = keep and len(self.buf) - start <= limit
            if not self.fill(start if keep else self.pos):
                return bytes(self.buf[start : self.pos]) if keep else None
            start = 0

    def container(self, collect: bool) -> tuple[bytes | None, str | None]:
        """The object or array at pos, to its matching bracket: (its bytes, None) when
        `collect` and within the limits, else (None, why or None). EOFError if it never ends."""
        limits = self.limits
        start, depth, why = self.pos, 0, None
        keep = collect
        while True:
            self.pos = _BODY.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(self.buf):
                if keep and len(self.buf) - start > limits.max_record_bytes:
                    keep, why = False, self._too_big()
                if not self.fill(start if keep else self.pos):
                    raise EOFError
                if keep:
                    start = 0
                continue
            byte = self.buf[self.pos]
            if byte == QUOTE:  # a string that runs past the buffer
                self.pos += 1
                while True:
                    self.pos = _STRING_REST.match(self.buf, self.pos).end()  # type: ignore[union-attr]
                    if self.pos < len(self.buf) and self.buf[self.pos] == QUOTE:
                        self.pos += 1
                        break
                    if keep and len(self.buf) - start > limits.max_record_bytes:
                        keep, why = False, self._too_big()
                    if not self.fill(start if keep else self.pos):
                        raise EOFError
                    if keep:
                        start = 0
            elif byte in OPEN:
                depth += 1
                self.pos += 1
                if collect and depth > limits.max_depth and why is None:
                    keep, why = (
                        False,
                        (
                            f"nested deeper than {limits.max_depth} levels"
                            f" ({setting_hint('max_depth')})"
                        ),
                    )
            else:  # a closing bracket (a mismatched one makes bytes orjson refuses)
                depth -= 1
                self.pos += 1
                if depth == 0:
                    return (bytes(self.buf[start : self.pos]) if keep else None), why

    def _too_big(self) -> str:
        limit = self.limits.max_record_bytes
        return f"record larger than {limit:,} bytes ({setting_hint('max_record_bytes')})"

    def value(self, collect: bool, limit: int) -> tuple[bytes | None, str | None]:
        byte = self.buf[self.pos]
        if byte in OPEN:
            return self.container(collect)
        token = self.string(limit) if byte == QUOTE else self.literal(limit)
        return token, None if token is not None or not collect else self._too_big()


def _key(token: bytes | None) -> str | None:
    try:
        return orjson.loads(token) if token is not None else None
    except orjson.JSONDecodeError:
        return None


def scan_records(
    stream: BinaryIO, limits: InputLimits, records_path: str | None
) -> Iterator[ScannedRecord]:
    """The records of the array at `records_path` (dotted keys; None: the document itself).

    Raises JsonStructureError when the path cannot be followed. A syntax error between records,
    or the end of the file before the array closes, ends the records with a problem record:
    the complete records before it are all read."""
    scanner = _Scanner(stream, limits)
    where = f"records_path {records_path!r}" if records_path else "the top level"
    try:
        byte = scanner.peek()
        if byte is None:
            raise JsonStructureError("no JSON value")
        for key in records_path.split(".") if records_path else ():
            byte = _enter(scanner, key, records_path or "")
    except EOFError:
        raise JsonStructureError(f"the file ends before {where} (was it cut short?)") from None
    if byte == ord("n"):
        return  # null: no records
    if byte != OPEN_ARRAY:
        hint = "set import.records_path" if records_path is None else "check import.records_path"
        raise JsonStructureError(
            f"expected an array of records at {records_path or 'the top level'},"
            f" found {_kind(byte)} ({hint})"
        )
    scanner.pos += 1
    number = 0
    try:
        byte = scanner.peek()
        if byte == CLOSE_ARRAY:
            return
        while True:
            number += 1
            line = scanner.line()
            if byte is None:
                raise EOFError
            if byte in (COMMA, COLON, CLOSE_MAP, CLOSE_ARRAY):
                yield ScannedRecord(
                    number,
                    line,
                    None,
                    f"not valid JSON: {chr(byte)!r} where a record should"
                    " be; the rest of the file is not read",
                )
                return
            data, why = scanner.value(True, limits.max_record_bytes)
            yield ScannedRecord(number, line, data, why)
            byte = scanner.peek()
            if byte == COMMA:
                scanner.pos += 1
                byte = scanner.peek()
            elif byte == CLOSE_ARRAY:
                return
            elif byte is None:
                number += 1
                yield ScannedRecord(
                    number,
                    scanner.line(),
                    None,
                    f"the file ends after record {number - 1} without closing the array of"
                    " records (was it cut short?)",
                )
                return
            else:
                yield ScannedRecord(
                    number + 1,
                    scanner.line(),
                    None,
                    f"not valid JSON: expected ',' or ']' after record {number}, found"
                    f" {_kind(byte)}; the rest of the file is not read",
                )
                return
    except EOFError:
        yield ScannedRecord(number, line, None, CUT_SHORT)


def _enter(scanner: _Scanner, key: str, records_path: str) -> int | None:
    """Move into the value of `key` in the object at pos; return its first byte."""
    if scanner.peek() != OPEN_MAP:
        raise JsonStructureError(f"records_path {records_path!r} not found")
    scanner.pos += 1
    byte = scanner.peek()
    while byte != CLOSE_MAP:
        if byte != QUOTE:
            raise JsonStructureError(
                f"not valid JSON at line {scanner.line()}: expected a key, found {_kind(byte)}"
            )
        name = _key(scanner.string(MAX_KEY))
        if scanner.peek() != COLON:
            raise JsonStructureError(f"not valid JSON at line {scanner.line()}: expected ':'")
        scanner.pos += 1
        byte = scanner.peek()
        if byte is None:
            raise EOFError
        if name == key:
            return byte
        scanner.value(False, MAX_KEY)
        byte = scanner.peek()
        if byte == COMMA:
            scanner.pos += 1
            byte = scanner.peek()
        elif byte != CLOSE_MAP:
            raise JsonStructureError(
                f"not valid JSON at line {scanner.line()}: expected ',' or '}}',"
                f" found {_kind(byte)}"
            )
    raise JsonStructureError(f"records_path {records_path!r} not found")
