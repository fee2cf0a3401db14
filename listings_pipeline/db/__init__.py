"""Database access: the embedded server, the engine, migrations and SQL files."""

from listings_pipeline.db.engine import database_url, get_engine, reset_engine
from listings_pipeline.db.sqlfiles import load_queries, load_sql

__all__ = ["database_url", "get_engine", "load_queries", "load_sql", "reset_engine"]
