"""The resources assets and sensors use: the catalogue database and the source configs, and the
notifier for alerts. Their settings are fields, shown in the UI and overridable per run or test."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from listings_pipeline.configs import ConfigError, SourceConfig, load_config
from listings_pipeline.db import get_engine
from listings_pipeline.db.migrate import upgrade

_migrated: set[str] = set()


class ListingsResource(dg.ConfigurableResource):
    """The catalogue database and the source config directory."""

    config_dir: str = Field(description="Directory of the source config YAML files, one per slug.")
    database_url: str | None = Field(
        None,
        description="The catalogue's PostgreSQL; unset: LISTINGS_DATABASE_URL, else the "
        "embedded server under LISTINGS_HOME.",
    )
    console_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL of the pipeline console, for links to its review pages.",
    )

    def engine(self) -> Engine:
        engine = get_engine(self.database_url)
        key = str(engine.url)
        if key not in _migrated:  # migrations run automatically before any run
            upgrade(engine)
            _migrated.add(key)
        return engine

    def configs_path(self) -> Path:
        return Path(self.config_dir)

    def config(self, slug: str) -> SourceConfig:
        """The partition's config; a missing or invalid file fails the step without retries."""
        path = self.configs_path() / f"{slug}.yaml"
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

    def review_url(self, job_id: int) -> str:
        return f"{self.console_url.rstrip('/')}/pipeline/jobs/{job_id}/review"
