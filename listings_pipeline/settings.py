"""Where the pipeline keeps its state, read from the environment once per call.

Every setting has a default that works on a fresh machine; nothing secret lives here
(credentials are read by the component that needs them, from variables the config names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Input limits settable for every config (importing/limits.py: defaults and meaning).
LIMIT_NAMES = (
    "max_depth",
    "max_record_bytes",
    "max_field_bytes",
    "max_decompressed_bytes",
    "max_compression_ratio",
    "max_errors",
)


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
    # Dagster's own storage; None: database `dagster` on the catalogue's server.
    dagster_database_url: str | None = None
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
    input_limits: dict[str, int] = field(default_factory=dict)  # LISTINGS_MAX_* that are set
    # RSS an import may reach before it is stopped with a clear error (0: no watch).
    worker_memory_mb: int = 1024

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


def _positive_int(name: str, default: int | None = None) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name}={raw!r}: expected a whole number of 0 or more")
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
        dagster_database_url=os.environ.get("LISTINGS_DAGSTER_DATABASE_URL") or None,
        source_lock_wait_seconds=_number("LISTINGS_SOURCE_LOCK_WAIT_SECONDS", 60.0),
        catalogue_lock_wait_seconds=_number("LISTINGS_CATALOGUE_LOCK_WAIT_SECONDS", 900.0),
        stage_keep_days=int(_number("LISTINGS_STAGE_KEEP_DAYS", 30)),
        stale_job_hours=_number("LISTINGS_STALE_JOB_HOURS", 6.0),
        allowed_input_roots=tuple(
            Path(part).expanduser().resolve()
            for part in os.environ.get("LISTINGS_ALLOWED_INPUT_ROOTS", "").split(os.pathsep)
            if part.strip()
        ),
        input_limits={
            name: value
            for name in LIMIT_NAMES
            if (value := _positive_int(f"LISTINGS_{name.upper()}")) is not None
        },
        worker_memory_mb=_positive_int("LISTINGS_WORKER_MEMORY_MB", 1024) or 0,
    )


@dataclass(frozen=True)
class ConsoleSettings:
    """The console's accounts and HTTP settings (README "Console" → "Security")."""

    public_url: str | None  # where users reach it; https:// makes cookies Secure
    login_free_failures_account: int  # failed logins per account before delays start
    login_free_failures_address: int  # per client address (an office shares one)
    login_max_lock_seconds: int  # the delays double up to this lockout
    login_forget_seconds: int  # failures are forgotten after this long without one
    password_hash_slots: int  # Argon2 hashes at once in a process, 64 MiB each
    password_hash_wait_seconds: int  # a login waits this long for a slot, then 503
    api_token_days: int  # default lifetime of a new API token

    @property
    def https(self) -> bool:
        return (self.public_url or "").lower().startswith("https://")


def _int_env(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def get_console_settings() -> ConsoleSettings:
    return ConsoleSettings(
        public_url=os.environ.get("LISTINGS_CONSOLE_PUBLIC_URL") or None,
        login_free_failures_account=_int_env("LISTINGS_LOGIN_FREE_FAILURES_ACCOUNT", 5, 1),
        login_free_failures_address=_int_env("LISTINGS_LOGIN_FREE_FAILURES_ADDRESS", 20, 1),
        login_max_lock_seconds=_int_env("LISTINGS_LOGIN_MAX_LOCK_SECONDS", 900, 1),
        login_forget_seconds=_int_env("LISTINGS_LOGIN_FORGET_SECONDS", 3600, 60),
        password_hash_slots=_int_env("LISTINGS_PASSWORD_HASH_SLOTS", 1, 1),
        password_hash_wait_seconds=_int_env("LISTINGS_PASSWORD_HASH_WAIT_SECONDS", 30, 1),
        api_token_days=_int_env("LISTINGS_API_TOKEN_DAYS", 90, 1),
    )
