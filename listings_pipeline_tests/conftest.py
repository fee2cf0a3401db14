"""Shared fixtures: a real PostgreSQL (embedded in a temporary LISTINGS_HOME, or
LISTINGS_DATABASE_URL), migrated once per session and emptied before each test that uses it."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, text

from listings_pipeline.db import get_engine, reset_engine
from listings_pipeline.db.embedded import stop
from listings_pipeline.db.migrate import upgrade
from listings_pipeline_tests.helpers import clear_accounts

_TRUNCATE = """
DO $$
DECLARE names TEXT;
BEGIN
  SELECT string_agg(quote_ident(schemaname) || '.' || quote_ident(tablename), ', ') INTO names
  FROM pg_tables
  WHERE schemaname IN ('public', 'pipeline', 'stage') AND tablename <> 'schema_migrations';
  IF names IS NOT NULL THEN EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE'; END IF;
END $$;
"""


@pytest.fixture(scope="session")
def listings_home() -> Iterator[Path]:
    # Short path: the embedded server's Unix socket lives in the data dir (108-byte limit).
    home = Path(tempfile.mkdtemp(prefix="lp-"))
    old = os.environ.get("LISTINGS_HOME")
    os.environ["LISTINGS_HOME"] = str(home)
    yield home
    reset_engine()
    stop(home / "pgdata")
    if old is None:
        os.environ.pop("LISTINGS_HOME", None)
    else:
        os.environ["LISTINGS_HOME"] = old
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_engine(listings_home: Path) -> Engine:
    engine = get_engine()
    upgrade(engine)
    return engine


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """The migrated database, emptied of all rows, console accounts included (a user an earlier
    test made would otherwise scope a later test's `--reviewer` of the same name)."""
    with migrated_engine.begin() as conn:
        conn.connection.driver_connection.execute(_TRUNCATE)
    clear_accounts(migrated_engine)
    return migrated_engine


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "configs"
    directory.mkdir()
    monkeypatch.setenv("LISTINGS_CONFIG_DIR", str(directory))
    return directory


def write_config(directory: Path, **overrides: object) -> Path:
    """Write a minimal valid CSV config (overridable key by key) and return its path."""
    config: dict[str, object] = {
        "slug": "demo-csv",
        "dmo_id": 1,
        "dmo_name": "Demo DMO",
        "name": "Demo CSV",
        "source_type": "csv",
        "transform": {
            "map_fields": {
                "listings.name": "Name",
                "locations.address1": "Address1",
                "locations.city": "City",
                "listing_info.description": "Description",
            }
        },
    }
    config.update(overrides)
    path = directory / f"{config['slug']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.fixture
def dagster_storage(migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database for a Dagster instance's storage on the test server; its psycopg2 URL
    is in LISTINGS_DAGSTER_DATABASE_URL (what the project's dagster.yaml reads)."""
    from listings_pipeline.orchestration.instance import STORAGE_ENV, psycopg2_url

    name = f"dagster_{uuid.uuid4().hex[:12]}"
    with migrated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = psycopg2_url(migrated_engine.url.render_as_string(hide_password=False), name)
    monkeypatch.setenv(STORAGE_ENV, url)
    yield url
    with migrated_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
