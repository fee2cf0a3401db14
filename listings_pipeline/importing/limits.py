"""What one input may cost: nesting depth, record and field size, decompressed size, unreadable
records per import. Defaults here, overridden by `LISTINGS_*` settings, then by a config's
`import.limits`.

Every record of every connector passes `encode_record` on its way to a raw file: a record
over a limit, or one PostgreSQL could not store (a NUL character, a lone surrogate), is
refused there with a reason naming the field, and the import goes on with the next record.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass, fields, replace
from typing import Any

import orjson
from pydantic import ValidationError

from listings_pipeline.configs.model import LimitSettings, SourceConfig
from listings_pipeline.settings import get_settings

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class InputLimits:
    # Listings nest a few levels (a WordPress post: 4); 32 leaves room and keeps every parser,
    # and json's recursion, far from trouble.
    max_depth: int = 32
    # One record as stored (JSON): 10 KB is typical, a WordPress post with its HTML ~100 KB.
    max_record_bytes: int = 2 * MIB
    # One value: a description is a few KB; 512 KB is already a book.
    max_field_bytes: int = 512 * KIB
    # What a compressed input (.gz, the members of an .xlsx) may expand to, in total.
    max_decompressed_bytes: int = 1024 * MIB
    # Text compresses 5-20x; a bomb 1000x. Checked once the output passes RATIO_FROM bytes.
    max_compression_ratio: int = 100
    # Unreadable records before the import stops: a wrong file or format, not a few bad rows.
    max_errors: int = 10_000

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))


RATIO_FROM = 16 * MIB  # small files have noisy ratios (a styles.xml of repeated tags)
ENV_NAMES = {name: f"LISTINGS_{name.upper()}" for name in InputLimits().names}


def resolve_limits(config: SourceConfig | None = None) -> InputLimits:
    """Defaults, then the settings (environment), then the config's `import.limits`."""
    try:  # the settings get the bounds a config gets
        from_env = LimitSettings.model_validate(get_settings().input_limits)
    except ValidationError as err:
        first = err.errors()[0]
        name = ENV_NAMES[str(first["loc"][0])]
        raise ValueError(f"{name}: {first['msg']}") from None
    limits = replace(InputLimits(), **from_env.model_dump(exclude_none=True))
    if config is not None:
        limits = replace(limits, **config.import_.limits.model_dump(exclude_none=True))
    return limits


def setting_hint(name: str) -> str:
    return f"import.limits.{name} or {ENV_NAMES[name]}"


class RecordRefused(Exception):
    """A record that cannot be stored as it is; `field` names where, when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _bad_text(text: str) -> str | None:
    """Why PostgreSQL could not store `text`, or None."""
    if "\x00" in text:
        return "holds a NUL character (U+0000), which PostgreSQL cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        if 0xDC80 <= code <= 0xDCFF:  # how Python decodes a byte that is not UTF-8
            return f"holds the byte 0x{code - 0xDC00:02x}, which is not valid UTF-8"
        return f"holds a lone surrogate (U+{code:04X}), which is not valid Unicode"
    return None


def _walk(value: Any, limits: InputLimits) -> None:
    """Find what is wrong with a record that failed a quick check, naming the field.

    Iterative (a record may be nested far deeper than Python's recursion limit)."""
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limits.max_depth:
                raise RecordRefused(
                    f"nested deeper than {limits.max_depth} levels"
                    f" (limit {setting_hint('max_depth')})",
                    path or None,
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and (why := _bad_text(key)):
                    raise RecordRefused(f"a key {why}", path or None)
                stack.append((f"{path}.{key}" if path else str(key), child, depth + 1))
        elif isinstance(item, str):
            if why := _bad_text(item):
                raise RecordRefused(why, path or None)
            if len(item) * 4 > limits.max_field_bytes:  # cheap bound before encoding
                size = len(item.encode("utf-8"))
                if size > limits.max_field_bytes:
                    raise RecordRefused(
                        f"value of {size:,} bytes, over the limit of {limits.max_field_bytes:,}"
                        f" ({setting_hint('max_field_bytes')})",
                        path or None,
                    )


def _dumps(record: Any) -> bytes:
    """orjson; what it refuses for its own reasons (integers beyond 64 bits, non-string keys)
    goes through json, as raw files always did."""
    try:
        return orjson.dumps(record)
    except TypeError:  # orjson.JSONEncodeError
        try:
            return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        except (ValueError, TypeError, RecursionError, UnicodeEncodeError) as err:
            raise RecordRefused(f"cannot be stored as JSON: {err}") from None


def encode_record(record: dict[str, Any], limits: InputLimits) -> bytes:
    """The record as JSON, or RecordRefused. The common record (small, shallow, clean text)
    costs one orjson call and three byte scans; only a suspect one is walked."""
    if not isinstance(record, dict):
        raise RecordRefused(f"record is not an object but {type(record).__name__}")
    try:
        data = orjson.dumps(record)
    except TypeError:  # surrogates, nesting past orjson's 255, or what only json writes
        _walk(record, limits)
        data = _dumps(record)
    suspect = (
        b"\\u0000" in data
        or len(data) > limits.max_field_bytes
        or (
            (data.find(b"{", 1) >= 0 or data.find(b"[") >= 0)  # not flat (memchr: cheap)
            and data.count(b"{") + data.count(b"[") > limits.max_depth
        )
    )
    if suspect:
        _walk(record, limits)  # raises when a brace or "\u0000" was more than text
    if len(data) > limits.max_record_bytes:
        raise RecordRefused(
            f"record of {len(data):,} bytes, over the limit of {limits.max_record_bytes:,}"
            f" ({setting_hint('max_record_bytes')})"
        )
    return data


_PREVIEW = 2048  # characters of a refused record kept in pipeline.job_errors
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother = 6, 400, 200
_repr.maxdict = _repr.maxlist = _repr.maxtuple = 50


def clean_text(text: str, limit: int | None = None) -> str:
    """`text` as PostgreSQL can store it: NULs and lone surrogates shown as escapes."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"… ({len(text):,} characters)"
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def preview(original: Any) -> Any:
    """What to keep of a refused record: the value itself when small, plain and storable;
    otherwise a bounded text (a record may be megabytes, or nested thousands deep)."""
    if original is None:
        return None
    if isinstance(original, bytes):
        return clean_text(original[: _PREVIEW * 4].decode("utf-8", "replace"), _PREVIEW)
    if isinstance(original, str):
        return clean_text(original, _PREVIEW)
    try:
        data = orjson.dumps(original)
    except TypeError:
        data = None
    if data is not None and len(data) <= 8 * _PREVIEW and b"\\u0000" not in data:
        return original
    return clean_text(_repr.repr(original), 8 * _PREVIEW)
