"""What promotion and expiry share: the per-batch temp tables and the notification size."""

from __future__ import annotations

from sqlalchemy import Connection, text

from listings_pipeline.db import load_queries

Q = load_queries(__file__, "promote.sql")
NOTIFY_CHUNK = 500  # listing ids per notification: ≤ ~6.5 KB, under PostgreSQL's 8000 bytes


def ensure_batch_tables(conn: Connection) -> None:
    """The per-batch temp tables of this connection (created once, emptied at every commit)."""
    if not conn.execute(text(Q["batch_tables_exist"])).scalar_one():
        conn.connection.driver_connection.execute(Q["create_batch_tables"])
