"""The project's Dagster instance: where it lives and where it keeps its state.

* DAGSTER_HOME defaults to $LISTINGS_HOME/dagster; the dagster.yaml shipped in this package is
  copied there (so an installed wheel works as well as a checkout).
* Runs, event logs and schedule/sensor state are in PostgreSQL, never SQLite: a database of
  their own (`dagster`) on the embedded server, or on LISTINGS_DATABASE_URL's server, unless
  LISTINGS_DAGSTER_DATABASE_URL names another. dagster.yaml reads that variable; it is set
  here, as a psycopg2 URL (dagster-postgres fails with SQLAlchemy 2.1's default psycopg 3),
  before any Dagster process of the project starts, and child processes inherit it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy.exc
from sqlalchemy import make_url, text

from listings_pipeline.settings import get_settings

PACKAGE_DIR = Path(__file__).resolve().parent
INSTANCE_YAML = PACKAGE_DIR / "dagster.yaml"
WORKSPACE_YAML = PACKAGE_DIR / "workspace.yaml"
LOCATION_NAME = "listings_pipeline"  # the one code-location name (workspace.yaml, pyproject)
STORAGE_ENV = "LISTINGS_DAGSTER_DATABASE_URL"
STORAGE_DATABASE = "dagster"


def psycopg2_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql+psycopg2")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def storage_url_from_env() -> str:
    """Dagster's storage URL as dagster.yaml sees it (set by `prepare_dagster_home`)."""
    url = os.environ.get(STORAGE_ENV)
    if not url:
        raise RuntimeError(f"{STORAGE_ENV} is not set: start Dagster through listings-pipeline")
    return url


def _ensure_database(name: str) -> None:
    """Create Dagster's database on the catalogue's server if it does not exist yet."""
    from listings_pipeline.db import get_engine

    engine = get_engine()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if exists:
            return
        quoted = conn.dialect.identifier_preparer.quote(name)
        try:
            conn.execute(text(f"CREATE DATABASE {quoted}"))
        except (sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.IntegrityError):
            # Another process created it a moment ago (duplicate database / unique violation).
            if not conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar():
                raise


def storage_url() -> str:
    """Dagster's storage: LISTINGS_DAGSTER_DATABASE_URL, else the `dagster` database on the
    catalogue's server (created if missing)."""
    explicit = get_settings().dagster_database_url
    if explicit:
        return psycopg2_url(explicit)
    from listings_pipeline.db import database_url

    url = psycopg2_url(database_url(), STORAGE_DATABASE)  # starts the embedded server if needed
    _ensure_database(STORAGE_DATABASE)
    return url


def prepare_dagster_home() -> Path:
    """Set DAGSTER_HOME (with the project's dagster.yaml) and Dagster's storage URL in this
    process's environment, for Dagster here and in every process started from here."""
    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != INSTANCE_YAML.read_bytes():
        shutil.copyfile(INSTANCE_YAML, target)
    settings = get_settings()
    os.environ["DAGSTER_HOME"] = str(home)
    # Absolute, so Dagster's processes (any working directory) see the same state.
    os.environ["LISTINGS_HOME"] = str(settings.home)
    os.environ["LISTINGS_CONFIG_DIR"] = str(settings.config_dir)
    os.environ[STORAGE_ENV] = storage_url()
    return home


def get_instance() -> dg.DagsterInstance:
    prepare_dagster_home()
    return dg.DagsterInstance.get()
