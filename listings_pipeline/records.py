"""Reading fields out of source records, shared by import (source_id) and transform (mapping)."""

from __future__ import annotations

import re
from typing import Any

_MISSING = object()
_NON_WORD = re.compile(r"[^\w\s]")


def get_path(record: dict[str, Any], path: str) -> Any:
    """Value at a source field name or dotted path (`hours.Monday`, `title.rendered`).

    An exact key wins over a path, so CSV headers containing dots still work.
    Returns None when any step is missing.
    """
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is _MISSING:
            return None
    return value


def has_path(record: dict[str, Any], path: str) -> bool:
    if path in record:
        return True
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False
    return True


def normalize_key(value: Any) -> str:
    """Seed 000's normalize for source ids: lower-case, trimmed, without special characters."""
    if value is None:
        return ""
    return _NON_WORD.sub("", str(value).lower().strip())
