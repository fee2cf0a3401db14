"""Numbered SQL migrations in `sql/` (NNN_name.sql), applied once each, in order.

An advisory lock serialises concurrent upgrades (several Dagster runs may start at once);
each file runs in its own transaction together with its row in pipeline.schema_migrations.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

# A checkout's sql/; an installed wheel carries the same files in the package (setup.py).
_CHECKOUT_SQL = Path(__file__).resolve().parents[2] / "sql"
SQL_DIR = (
    _CHECKOUT_SQL if _CHECKOUT_SQL.is_dir() else Path(__file__).resolve().parents[1] / "migrations"
)
_LOCK_KEY = 7_231_001  # arbitrary, constant: pg_advisory_xact_lock key for migrations
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.md5(self.path.read_bytes()).hexdigest()


def migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files must be named NNN_name.sql")
        found.append(Migration(int(match.group(1)), path.stem, path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise ValueError(f"{sql_dir}: two migrations share a number")
    return found


def upgrade(engine: Engine, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    applied: list[str] = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS pipeline"))
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS pipeline.schema_migrations ("
                " version INT PRIMARY KEY, name TEXT NOT NULL, checksum CHAR(32) NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT now())"
            )
        )
        done = dict(
            conn.execute(text("SELECT version, checksum FROM pipeline.schema_migrations")).all()
        )
        for migration in migrations(sql_dir):
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"{migration.path}: changed after it was applied to this database;"
                        " add a new migration instead of editing an applied one"
                    )
                continue
            # Straight to the driver without parameters: a file holds several statements and
            # may contain literal colons and percent signs.
            conn.connection.driver_connection.execute(migration.path.read_text(encoding="utf-8"))
            conn.execute(
                text(
                    "INSERT INTO pipeline.schema_migrations (version, name, checksum)"
                    " VALUES (:v, :n, :c)"
                ),
                {"v": migration.version, "n": migration.name, "c": migration.checksum},
            )
            applied.append(migration.name)
    return applied
