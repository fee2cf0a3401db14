"""SQL lives in .sql files beside the code that runs it; this loads them once."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def load_sql(module_file: str, name: str) -> str:
    """Return the text of `name` in the directory of `module_file` (pass `__file__`)."""
    return (Path(module_file).parent / name).read_text(encoding="utf-8")
