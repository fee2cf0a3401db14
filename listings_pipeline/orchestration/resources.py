"""The resource assets use to reach the database and the source configs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs import ConfigError, SourceConfig, load_config
from listings_pipeline.db import get_engine, load_queries
from listings_pipeline.db.migrate import upgrade
from listings_pipeline.settings import get_settings

Q = load_queries(__file__, "resources.sql")
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
        """The partition's config; a missing or invalid file fails the step without retries."""
        path = self.config_dir() / f"{slug}.yaml"
        if not path.exists():
            raise dg.Failure(
                description=f"no source config for partition {slug!r}: {path} does not exist"
                " (the config was deleted or renamed; its partition is removed at the next"
                " tick of source_configs_sensor)",
                allow_retries=False,
            )
        try:
            return load_config(path)
        except ConfigError as err:
            raise dg.Failure(description=str(err), allow_retries=False) from err


JOB_TAG = "listings/job_id"  # a run started for one particular job (promotion after review)


def job_for_run(conn: Connection, slug: str, run: dg.DagsterRun | None) -> int | None:
    """The job this run was started for (JOB_TAG), or the job it (or the run it re-executes)
    created, else the partition's latest job."""
    tagged = run.tags.get(JOB_TAG) if run else None
    if tagged is not None:
        return conn.execute(text(Q["tagged_job"]), {"slug": slug, "job_id": int(tagged)}).scalar()
    run_ids = [r for r in ((run.run_id, run.root_run_id, run.parent_run_id) if run else ()) if r]
    if run_ids:
        job_id = conn.execute(text(Q["job_of_runs"]), {"slug": slug, "runs": run_ids}).scalar()
        if job_id is not None:
            return job_id
    return conn.execute(text(Q["latest_job"]), {"slug": slug}).scalar()
