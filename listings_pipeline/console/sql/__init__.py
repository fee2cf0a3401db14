"""The console's queries, one file each (kept in a package so they ship as package data)."""

from __future__ import annotations

from functools import cache

from sqlalchemy import TextClause, text

from listings_pipeline.db import load_queries, load_sql


def query(name: str) -> TextClause:
    """The query in `<name>.sql` beside this module."""
    return text(load_sql(__file__, f"{name}.sql"))


@cache
def queries(name: str) -> dict[str, TextClause]:
    """The named statements (`-- name: x`) of `<name>.sql` beside this module."""
    return {key: text(sql) for key, sql in load_queries(__file__, f"{name}.sql").items()}
