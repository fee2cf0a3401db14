"""The console's queries, one file each (kept in a package so they ship as package data)."""

from __future__ import annotations

from sqlalchemy import TextClause, text

from listings_pipeline.db import load_sql


def query(name: str) -> TextClause:
    """The query in `<name>.sql` beside this module."""
    return text(load_sql(__file__, f"{name}.sql"))
