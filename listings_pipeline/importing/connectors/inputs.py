"""Opening an input file safely: gzip decompressed on the fly within the size and ratio limits,
files that are not text (an image, an archive, a program) refused by name, and the encoding
detected (BOM, UTF-16/32 without BOM, UTF-8, UTF-8 with damaged lines, Windows-1252, Latin-1).
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.importing.limits import RATIO_FROM, InputLimits, setting_hint

GZIP_MAGIC = b"\x1f\x8b"
SAMPLE = 1 << 16
_BLOCK = 1 << 18

# Signatures of files that are certainly not text: named in the error so the user knows
# what they sent.
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook, or zipped files)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls/.doc): save it as .xlsx"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x7fELF", "a program (ELF)"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"BZh91AY&SY", "a bzip2 archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
# Control bytes that never appear in text (tab, newlines, form feed and escape do).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
# Bytes that Windows-1252 leaves undefined: a file holding one is not cp1252.
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_HIGH_BYTES = bytes(range(0x80, 0x100))


class _BoundedGzip(io.RawIOBase):
    """A gzip stream that refuses to expand past the decompressed-size and ratio limits, and
    names the file when its data is damaged or cut short."""

    def __init__(self, path: Path, raw: BinaryIO, limits: InputLimits) -> None:
        self._path = path
        self._raw = raw
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._limits = limits
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            n = self._gz.readinto(buffer)
        except (EOFError, OSError, zlib.error) as err:
            raise ImportFailed(f"{self._path}: gzip data damaged or cut short: {err}") from None
        self.produced += n
        limits = self._limits
        if self.produced > limits.max_decompressed_bytes:
            raise ImportFailed(
                f"{self._path}: decompresses to more than {limits.max_decompressed_bytes:,} bytes"
                f" ({setting_hint('max_decompressed_bytes')}); not imported"
            )
        if self.produced > RATIO_FROM:
            ratio = self.produced / max(1, self._raw.tell())
            if ratio > limits.max_compression_ratio:
                raise ImportFailed(
                    f"{self._path}: expands {ratio:,.0f} times when decompressed (over"
                    f" {limits.max_compression_ratio}, {setting_hint('max_compression_ratio')}):"
                    " a compression bomb, not imported"
                )
        return n

    def close(self) -> None:
        self._gz.close()
        super().close()


@contextmanager
def open_binary(path: Path, limits: InputLimits) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed if it is gzip (whatever its name)."""
    with path.open("rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with io.BufferedReader(_BoundedGzip(path, raw, limits), _BLOCK) as stream:
            yield stream  # type: ignore[misc]


def _utf_without_bom(sample: bytes) -> str | None:
    """UTF-16/32 without a BOM, told by where the NUL bytes of mostly-ASCII text fall."""
    n = len(sample) - len(sample) % 4
    if n < 8:
        return None
    quarters = [sample[i:n:4].count(0) / (n / 4) for i in range(4)]
    if quarters[0] < 0.05 and min(quarters[1:]) > 0.3:
        guess = "utf-32-le"
    elif quarters[3] < 0.05 and min(quarters[:3]) > 0.3:
        guess = "utf-32-be"
    else:
        even = (quarters[0] + quarters[2]) / 2
        odd = (quarters[1] + quarters[3]) / 2
        if odd > 0.3 and even < 0.05:
            guess = "utf-16-le"
        elif even > 0.3 and odd < 0.05:
            guess = "utf-16-be"
        else:
            return None
    width = 4 if guess.startswith("utf-32") else 2
    try:
        sample[: len(sample) - len(sample) % width].decode(guess, "surrogatepass")
    except UnicodeDecodeError:
        return None
    return guess


def refuse_binary(path: Path, sample: bytes, what: str) -> None:
    """ImportFailed naming what the file is, when it is certainly not `what` text."""
    for signature, kind in _SIGNATURES:
        if sample.startswith(signature):
            raise ImportFailed(f"{path}: this is {kind}, not {what}")
    lines = sample.split(b"\n")
    if len(lines) > 1 and not sample.endswith(b"\n"):
        lines.pop()  # the sample cuts its last line
    dirty = sum(1 for line in lines if _CONTROL.search(line))
    controls = len(_CONTROL.findall(sample))
    if controls >= 8 and dirty * 2 > len(lines) and controls * 100 > len(sample):
        raise ImportFailed(
            f"{path}: this looks like binary data, not {what} ({controls:,} control bytes in"
            f" the first {len(sample):,}; is it the right file?)"
        )


@dataclass(frozen=True)
class Encoding:
    name: str  # a codec name; "utf-8-sig" for UTF-8 with or without BOM
    errors: str = "strict"  # "surrogateescape": UTF-8 with damaged lines, refused one by one

    @property
    def is_utf8(self) -> bool:
        return self.name == "utf-8-sig"


def detect_encoding(path: Path, configured: str, limits: InputLimits, what: str) -> Encoding:
    """The encoding to read `path` with, after refusing it if it is not text at all.

    `auto`: UTF-32/UTF-16 by their BOM, or without one when NULs fall where ASCII text in
    them puts them; UTF-8 (BOM stripped) if the whole file decodes as UTF-8; UTF-8 with
    `surrogateescape` when it mostly does (valid multi-byte characters outnumber the bytes
    that are not UTF-8: a few damaged lines, each refused as a record); else Windows-1252
    (Excel's "CSV" on Windows); else Latin-1, which decodes any byte."""
    with open_binary(path, limits) as fh:
        sample = fh.read(SAMPLE)
        if configured.lower() != "auto":
            try:
                name = codecs.lookup(configured).name
            except LookupError as err:
                raise ImportFailed(f"{path}: unknown encoding {configured!r}") from err
            if not name.startswith(("utf-16", "utf-32")):  # NULs are their text
                refuse_binary(path, sample, what)
            return Encoding("utf-8-sig" if name == "utf-8" else name)
        if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            return Encoding("utf-32", "surrogatepass")
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return Encoding("utf-16", "surrogatepass")
        if wide := _utf_without_bom(sample):
            return Encoding(wide, "surrogatepass")
        refuse_binary(path, sample, what)
        decoder = codecs.getincrementaldecoder("utf-8")()
        chunk = sample
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = fh.read(_BLOCK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            pass
        else:
            return Encoding("utf-8-sig")
    invalid, high, cp1252 = _count_non_utf8(path, limits)
    valid = (high - invalid) // 2  # valid multi-byte characters take two bytes or more
    if valid > invalid:
        return Encoding("utf-8-sig", "surrogateescape")
    return Encoding("cp1252" if cp1252 else "latin-1")


def _count_non_utf8(path: Path, limits: InputLimits) -> tuple[int, int, bool]:
    """For a file that is not all UTF-8: (bytes that are not UTF-8, bytes >= 0x80, whether
    it can be Windows-1252)."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    invalid = high = 0
    cp1252 = True
    with open_binary(path, limits) as fh:
        while chunk := fh.read(_BLOCK):
            if chunk.isascii():
                continue
            high += len(chunk) - len(chunk.translate(None, _HIGH_BYTES))
            text = decoder.decode(chunk)
            try:
                text.encode("utf-8")  # fails only where a byte was not UTF-8
            except UnicodeEncodeError:
                invalid += len(_UNDECODABLE.findall(text))
            cp1252 = cp1252 and not any(byte in chunk for byte in _CP1252_UNDEFINED)
        invalid += len(_UNDECODABLE.findall(decoder.decode(b"", final=True)))
    return invalid, high, cp1252


class _Utf8Transcoder(io.RawIOBase):
    """The UTF-8 bytes of a stream in another encoding (the JSON readers parse UTF-8). Lone
    surrogates pass through as bytes that are not UTF-8, so the record holding one is refused
    by the JSON parser rather than the whole file."""

    def __init__(self, stream: BinaryIO, encoding: Encoding) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(encoding.name)(encoding.errors)
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            chunk = self._stream.read(_BLOCK)
            text = self._decoder.decode(chunk, final=not chunk)
            self._done = not chunk
            self._pending = text.encode("utf-8", "surrogatepass")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


@contextmanager
def open_utf8(path: Path, encoding: Encoding, limits: InputLimits) -> Iterator[BinaryIO]:
    """The file as UTF-8 bytes (BOM removed), decompressed and transcoded as needed."""
    with open_binary(path, limits) as fh:
        if encoding.is_utf8:
            if fh.peek(3)[:3] == codecs.BOM_UTF8:  # type: ignore[attr-defined]
                fh.read(3)
            yield fh
            return
        with io.BufferedReader(_Utf8Transcoder(fh, encoding), _BLOCK) as utf8:
            yield utf8  # type: ignore[misc]


@contextmanager
def open_text(path: Path, encoding: Encoding, limits: InputLimits) -> Iterator[io.TextIOWrapper]:
    """The file as text, newlines untranslated (csv wants them as they are)."""
    with (
        open_binary(path, limits) as fh,
        io.TextIOWrapper(fh, encoding=encoding.name, errors=encoding.errors, newline="") as text,
    ):
        yield text
