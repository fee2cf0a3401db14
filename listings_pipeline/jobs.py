"""Bookkeeping of a run of one source config: pipeline.jobs, job_stages, stage_results,
job_errors and config_snapshots. Each Dagster run of a partition is one job."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.configs.sync import StoredConfig
from listings_pipeline.db import load_queries
from listings_pipeline.importing.limits import clean_text
from listings_pipeline.locks import worker_id
from listings_pipeline.net.secrets import mask

Q = load_queries(__file__, "jobs.sql")
STAGES = ("import", "transform", "review", "promote")
COUNT_KEYS = ("total", "new", "updated", "deleted", "duplicates", "unchanged", "failed", "warning")


@dataclass
class StageCounts:
    total: int = 0
    new: int = 0
    updated: int = 0
    deleted: int = 0
    duplicates: int = 0
    unchanged: int = 0
    failed: int = 0
    warning: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_params(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNT_KEYS}


@dataclass(frozen=True)
class JobError:
    """A record-level problem: names the record (locator) and field, keeps the original."""

    message: str
    record_id: str | None = None
    field_name: str | None = None
    original: Any = None
    error_type: str = "record"
    file_id: int | None = None


def create_job(
    conn: Connection,
    config: SourceConfig,
    stored: StoredConfig,
    *,
    input_path: str | None,
    triggered_by: str = "cli",
    trigger_type: str = "manual",
    dagster_run_id: str | None = None,
) -> int:
    job_id = conn.execute(
        text(Q["insert_job"]),
        {
            "dmo_id": config.dmo_id,
            "config_id": stored.id,
            "config_version": stored.version,
            "slug": config.slug,
            "dagster_run_id": dagster_run_id,
            "input_path": input_path,
            "triggered_by": triggered_by,
            "trigger_type": trigger_type,
        },
    ).scalar_one()
    conn.execute(text(Q["insert_stages"]), {"dmo_id": config.dmo_id, "job_id": job_id})
    conn.execute(text(Q["insert_snapshot"]), {"job_id": job_id, "config_id": stored.id})
    return job_id


def start_stage(conn: Connection, job_id: int, stage: str) -> int:
    conn.execute(text(Q["set_job_stage"]), {"job_id": job_id, "stage": stage, "status": "running"})
    return conn.execute(
        text(Q["start_stage"]), {"job_id": job_id, "stage": stage, "worker": worker_id()}
    ).scalar_one()


def finish_stage(
    conn: Connection,
    job_id: int,
    stage: str,
    counts: StageCounts,
    *,
    status: str = "completed",
    message: str | None = None,
    job_status: str = "running",
) -> None:
    summary = {**counts.as_params(), **counts.extra}
    row = conn.execute(
        text(Q["finish_stage"]),
        {
            "job_id": job_id,
            "stage": stage,
            "status": status,
            "message": message,
            "summary": json.dumps(summary, default=str),
        },
    ).one()
    conn.execute(
        text(Q["upsert_stage_result"]),
        {
            "dmo_id": row.dmo_id,
            "job_id": job_id,
            "job_stages_id": row.id,
            "status": status,
            "started_at": row.started_at,
            **counts.as_params(),
        },
    )
    conn.execute(text(Q["set_job_stage"]), {"job_id": job_id, "stage": stage, "status": job_status})


def set_job_counts(conn: Connection, job_id: int, counts: StageCounts) -> None:
    conn.execute(text(Q["update_job_counts"]), {"job_id": job_id, **counts.as_params()})


def fail_stage(engine: Engine, job_id: int, stage: str, message: str) -> None:
    """Record a failed stage in its own transaction (the stage's own work was rolled back)."""
    with engine.begin() as conn:
        conn.execute(
            text(Q["finish_stage"]),
            {
                "job_id": job_id,
                "stage": stage,
                "status": "failed",
                "message": message,
                "summary": "{}",
            },
        )
        conn.execute(text(Q["fail_job"]), {"job_id": job_id, "message": message})


def finish_job(conn: Connection, job_id: int, status: str) -> None:
    conn.execute(text(Q["finish_job"]), {"job_id": job_id, "status": status})


def record_errors(conn: Connection, job_id: int, stage: str, errors: Iterable[JobError]) -> int:
    params = [
        {
            "job_id": job_id,
            "stage": stage,
            "file_id": e.file_id,
            # Texts from a source (a field name, a file name) may hold what PostgreSQL refuses.
            "record_id": None if e.record_id is None else clean_text(e.record_id),
            "field_name": None if e.field_name is None else clean_text(e.field_name, 500),
            "original": None if e.original is None else json.dumps(e.original, default=str),
            "error_type": e.error_type,
            "message": clean_text(mask(e.message), 4000),
        }
        for e in errors
    ]
    if params:
        conn.execute(text(Q["insert_error"]), params)  # executemany: one round trip per batch
    return len(params)


def get_job(conn: Connection, job_id: int) -> Mapping[str, Any] | None:
    row = conn.execute(text(Q["get_job"]), {"job_id": job_id}).mappings().first()
    return row


def latest_job_id(conn: Connection, slug: str) -> int | None:
    return conn.execute(text(Q["latest_job"]), {"slug": slug}).scalar_one_or_none()


def stage_statuses(conn: Connection, job_id: int) -> list[Mapping[str, Any]]:
    return list(conn.execute(text(Q["stage_status"]), {"job_id": job_id}).mappings())
