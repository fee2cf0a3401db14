"""The resource assets use to reach the database and the source configs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs import SourceConfig, load_config
from listings_pipeline.db import get_engine
from listings_pipeline.db.migrate import upgrade
from listings_pipeline.settings import get_settings

_migrated: set[str] = set()


class ListingsResource(dg.ConfigurableResource):
    """Database (LISTINGS_DATABASE_URL or the embedded server) and config directory."""

    def engine(self) -> Engine:
        engine = get_engine()
        key = str(engine.url)
        if key not in _migrated:  # migrations run automatically before any run
            upgrade(engine)
            _migrated.add(key)
        return engine

    def config_dir(self) -> Path:
        return get_settings().config_dir

    def config(self, slug: str) -> SourceConfig:
        path = self.config_dir() / f"{slug}.yaml"
        if not path.exists():
            raise dg.Failure(
                description=f"no source config for partition {slug!r}: {path} does not exist"
                " (the config was deleted or renamed)"
            )
        return load_config(path)


def job_for_run(conn: Connection, slug: str, run: dg.DagsterRun | None) -> int | None:
    """The job this run (or the run it re-executes) created, else the partition's latest job."""
    run_ids = [r for r in ((run.run_id, run.root_run_id, run.parent_run_id) if run else ()) if r]
    if run_ids:
        job_id = conn.execute(
            text(
                "SELECT id FROM pipeline.jobs WHERE slug = :slug"
                " AND dagster_run_id = ANY(:runs) ORDER BY id DESC LIMIT 1"
            ),
            {"slug": slug, "runs": run_ids},
        ).scalar()
        if job_id is not None:
            return job_id
    return conn.execute(
        text("SELECT id FROM pipeline.jobs WHERE slug = :slug ORDER BY id DESC LIMIT 1"),
        {"slug": slug},
    ).scalar()
