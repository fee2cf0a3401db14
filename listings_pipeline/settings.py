"""Where the pipeline keeps its state, read from the environment once per call.

Every setting has a default that works on a fresh machine; nothing secret lives here
(credentials are read by the component that needs them, from variables the config names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    config_dir: Path
    environment: str
    raw_store: str  # "local" or "s3"
    s3_bucket: str | None
    s3_prefix: str
    dagster_home: Path
    s3_endpoint_url: str | None = None  # an S3-compatible server (MinIO, moto); None: AWS
    # Runs (issue 15): how long a run waits for its source (another run's stage) or its DMO's
    # catalogue (another config's promotion) before it is refused; stage retention; when a job
    # no worker touches any more counts as abandoned.
    source_lock_wait_seconds: float = 60.0
    catalogue_lock_wait_seconds: float = 900.0
    stage_keep_days: int = 30
    stale_job_hours: float = 6.0
    # Directories a config's local paths (`source_url`) may name besides the inbox and the
    # console's upload store (LISTINGS_ALLOWED_INPUT_ROOTS, os.pathsep-separated).
    allowed_input_roots: tuple[Path, ...] = ()

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def inbox_dir(self) -> Path:
        return self.home / "inbox"

    @property
    def uploads_dir(self) -> Path:
        """The console's upload store: one private directory per upload, removed after."""
        return self.home / "uploads"

    @property
    def input_roots(self) -> tuple[Path, ...]:
        """Where a config's local paths may point (symlinks and `..` resolved)."""
        return (self.inbox_dir, self.uploads_dir, *self.allowed_input_roots)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def get_settings() -> Settings:
    home = Path(os.environ.get("LISTINGS_HOME", "./.listings")).expanduser().resolve()
    return Settings(
        home=home,
        database_url=os.environ.get("LISTINGS_DATABASE_URL") or None,
        config_dir=Path(os.environ.get("LISTINGS_CONFIG_DIR", "./configs")).expanduser().resolve(),
        environment=os.environ.get("LISTINGS_ENVIRONMENT", "dev"),
        raw_store=os.environ.get("LISTINGS_RAW_STORE", "local"),
        s3_bucket=os.environ.get("LISTINGS_S3_BUCKET") or None,
        s3_prefix=os.environ.get("LISTINGS_S3_PREFIX", ""),
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or (home / "dagster"))
        .expanduser()
        .resolve(),
        s3_endpoint_url=os.environ.get("LISTINGS_S3_ENDPOINT_URL") or None,
        source_lock_wait_seconds=_number("LISTINGS_SOURCE_LOCK_WAIT_SECONDS", 60.0),
        catalogue_lock_wait_seconds=_number("LISTINGS_CATALOGUE_LOCK_WAIT_SECONDS", 900.0),
        stage_keep_days=int(_number("LISTINGS_STAGE_KEEP_DAYS", 30)),
        stale_job_hours=_number("LISTINGS_STALE_JOB_HOURS", 6.0),
        allowed_input_roots=tuple(
            Path(part).expanduser().resolve()
            for part in os.environ.get("LISTINGS_ALLOWED_INPUT_ROOTS", "").split(os.pathsep)
            if part.strip()
        ),
    )
