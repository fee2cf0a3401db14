"""One SQLAlchemy engine per database URL: LISTINGS_DATABASE_URL, else the embedded server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from listings_pipeline.db import embedded
from listings_pipeline.settings import get_settings

_engines: dict[str, Engine] = {}
_embedded_urls: dict[str, str] = {}  # pgdata → URL: attach to the server once per process


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url() -> str:
    """The SQLAlchemy URL in use, starting the embedded server if that is the store."""
    settings = get_settings()
    if settings.database_url:
        return _psycopg_url(settings.database_url)
    key = str(settings.pgdata)
    url = _embedded_urls.get(key)
    if url is None or not embedded.is_running(settings.pgdata):
        url = _embedded_urls[key] = embedded.start(settings.pgdata)
    return url


def _utc_session(dbapi_connection: Any, _record: Any) -> None:
    # Job and stage times are TIMESTAMP (seed 000) written with now(): every session writes and
    # reads them in UTC, whatever PGTZ or the server's zone says (PGTZ overrides a startup
    # option, hence a SET), so they compare with the TIMESTAMPTZ history alike in every worker.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TimeZone TO 'UTC'")
    dbapi_connection.commit()


# Local buffers for temporary tables, allocated only as a session fills them: the matching
# step's temporary tables hold ~200 MB at 50k rows, and with the default 8 MB their pages went to
# the OS and back (the step at 50k, medians of 2: 24.5 -> 23.4 s). Settable only before a
# session's first temporary table, hence at connect.
TEMP_BUFFERS = "256MB"


def _temp_buffers(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET temp_buffers TO '{TEMP_BUFFERS}'")
    dbapi_connection.commit()


def get_engine(url: str | None = None) -> Engine:
    """The engine of `url` (any PostgreSQL URL), else of the database in use."""
    url = _psycopg_url(url) if url else database_url()
    engine = _engines.get(url)
    if engine is None:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        event.listen(engine, "connect", _utc_session)
        event.listen(engine, "connect", _temp_buffers)
        _engines[url] = engine
    return engine


def reset_engine() -> None:
    """Dispose every engine (tests switch databases; `db stop` closes connections first)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _embedded_urls.clear()
