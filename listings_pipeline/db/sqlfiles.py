"""SQL lives in .sql files beside the code that runs it; this loads them once.

A file may hold several named statements, each introduced by a line `-- name: <name>`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


@cache
def load_sql(module_file: str, name: str) -> str:
    """Return the text of `name` in the directory of `module_file` (pass `__file__`)."""
    return (Path(module_file).parent / name).read_text(encoding="utf-8")


@cache
def load_queries(module_file: str, name: str) -> dict[str, str]:
    """Return the named statements of a .sql file beside `module_file`."""
    text = load_sql(module_file, name)
    parts = _NAME.split(text)
    queries = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}
    if not queries:
        raise ValueError(f"{name}: no '-- name: ...' sections")
    return queries
