"""Source changes and the mass-change circuit breaker (issue 15), judged after a transform.

The transform counts, in one pass over the job's stage rows, how many records fill each stage
column (`pipeline.job_fill_stats`), and compares with the source's previous *completed* import
(config `review.source_change`): a mapped field missing from every record, a mapped field whose
filled share dropped sharply, far fewer records. Each finding becomes a `source_change` hold
(`review.on_source_change: hold`, the default), fails the job (`fail`) or is recorded as
accepted (`accept`). Independently, a job that would clear values of, or delete, more than
`review.mass_change.max_share` of the source's listings gets a `mass_change` hold, and one
whose records' average quality is below `review.min_average_quality` a `quality` hold.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.jobs import JobError, record_errors
from listings_pipeline.review.holds import CONFIG_DECIDER, Finding, blocking_holds, record_holds
from listings_pipeline.review.quality import quality_distribution, quality_findings
from listings_pipeline.transform.fields import COLLECTIONS, column_of, target_of

Q = load_queries(__file__, "source_change.sql")


class SourceChangeFailed(Exception):
    """The source changed and the config says `on_source_change: fail`."""


def field_name(column: str) -> str:
    """The name people know a stage column by: its mapping target, or a collection's table."""
    return COLLECTIONS.get(column) or target_of(column)


# Columns normalisation fills from another: a phone in either form fills both.
DERIVED = {
    "ci_local_phone": ("ci_international_phone",),
    "ci_international_phone": ("ci_local_phone",),
}


def mapped_columns(config: SourceConfig) -> dict[str, list[str]]:
    """Stage column → the source fields the config maps into it (production fields only)."""
    columns: dict[str, list[str]] = defaultdict(list)
    for target, source in config.transform.map_fields.items():
        if target.startswith("stage."):
            continue
        column = column_of(target)
        for filled in (column, *DERIVED.get(column, ())):
            if source not in columns[filled]:
                columns[filled].append(source)
    return dict(columns)


def fill_stats(conn: Connection, job_id: int) -> tuple[int, dict[str, int]]:
    """Count (and keep) how many of the job's records fill each column."""
    row = conn.execute(text(Q["record_fill_stats"]), {"job_id": job_id}).one()
    return row.records, dict(row.filled)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def source_changes(
    conn: Connection,
    job_id: int,
    config: SourceConfig,
    records: int,
    filled: dict[str, int],
    clearing_by_field: dict[str, int],
    missing_sources: Collection[str] | None,
) -> list[Finding]:
    """What changed against the source's previous completed import (none without one)."""
    previous = conn.execute(
        text(Q["previous_completed_job"]), {"slug": config.slug, "job_id": job_id}
    ).first()
    if previous is None:
        return []
    before_records, before_filled = previous.records, previous.filled
    if before_records is None:  # an import from before statistics were kept
        if not previous.has_rows:
            return []
        before_records, before_filled = fill_stats(conn, previous.id)
    limits = config.review.source_change
    if before_records < limits.min_records:
        return []
    common = {
        "previous_job_id": previous.id,
        "records_before": before_records,
        "records_now": records,
    }
    findings: list[Finding] = []
    for column, sources in sorted(mapped_columns(config).items()):
        before = _share(before_filled.get(column, 0), before_records)
        now = _share(filled.get(column, 0), records)
        absent = missing_sources is not None and all(s in missing_sources for s in sources)
        if absent and before > 0:
            check = "field_missing"
        elif before >= limits.min_filled_share and now < before * (1 - limits.max_filled_drop):
            check = "field_emptied"
        else:
            continue
        name = field_name(column)
        findings.append(
            Finding(
                kind="source_change",
                subject=name,
                evidence={
                    "check": check,
                    "field": name,
                    "source_fields": sources,
                    "filled_before": before,
                    "filled_now": now,
                    "filled_records_before": before_filled.get(column, 0),
                    "filled_records_now": filled.get(column, 0),
                    "clearing_rows": clearing_by_field.get(name, 0),
                    **common,
                },
            )
        )
    if records < before_records * (1 - limits.max_records_drop):
        findings.append(
            Finding(
                kind="source_change",
                subject="records",
                evidence={
                    "check": "fewer_records",
                    "records_share": _share(records, before_records),
                    **common,
                },
            )
        )
    return findings


def mass_change(
    config: SourceConfig, counts: Any, clearing_by_field: dict[str, int]
) -> list[Finding]:
    limits = config.review.mass_change
    if counts.source_listings < limits.min_listings:
        return []
    affected = counts.clearing_rows + counts.deleting_rows
    share = _share(affected, counts.source_listings)
    if share <= limits.max_share:
        return []
    return [
        Finding(
            kind="mass_change",
            subject="listings",
            evidence={
                "check": "mass_change",
                "source_listings": counts.source_listings,
                "clearing_rows": counts.clearing_rows,
                "deleting_rows": counts.deleting_rows,
                "clearing_by_field": clearing_by_field,
                "share": share,
                "max_share": limits.max_share,
            },
        )
    ]


@dataclass(frozen=True)
class SourceCheck:
    findings: list[Finding]
    blocking_holds: int
    fill_seconds: float = 0.0
    quality_mean: float | None = None  # the records' average quality score


def check_job(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    *,
    missing_sources: Collection[str] | None,
) -> SourceCheck:
    """Count the job's fill statistics, judge source changes and the breaker, and store the
    holds (or, with `on_source_change: fail`, record the evidence and raise)."""
    with engine.begin() as conn:
        started = time.perf_counter()
        records, filled = fill_stats(conn, job_id)
        fill_seconds = time.perf_counter() - started
        counts = conn.execute(
            text(Q["change_counts"]), {"job_id": job_id, "slug": config.slug}
        ).one()
        clearing_by_field: dict[str, int] = (
            dict(conn.execute(text(Q["clearing_by_field"]), {"job_id": job_id}).all())  # type: ignore[arg-type]
            if counts.clearing_rows
            else {}
        )
        changes = source_changes(
            conn, job_id, config, records, filled, clearing_by_field, missing_sources
        )
        policy = config.review.on_source_change
        if changes and policy == "fail":
            record_errors(
                conn,
                job_id,
                "transform",
                [
                    JobError(
                        message=f.describe(),
                        field_name=f.evidence.get("field"),
                        original=f.evidence,
                        error_type="source_change",
                    )
                    for f in changes
                ],
            )
        else:
            record_holds(
                conn,
                job_id,
                changes,
                kinds=["source_change"],
                accepted_by=CONFIG_DECIDER if policy == "accept" else None,
            )
            breaker = mass_change(config, counts, clearing_by_field)
            record_holds(conn, job_id, breaker, kinds=["mass_change"])
            quality = quality_distribution(conn, job_id)
            record_holds(
                conn, job_id, quality_findings(conn, job_id, config, quality), kinds=["quality"]
            )
        blocking = len(blocking_holds(conn, job_id))
    if changes and policy == "fail":
        raise SourceChangeFailed(
            f"job {job_id}: the source changed (review.on_source_change: fail): "
            + "; ".join(f.describe() for f in changes)
            + ". Fix the config or the source and run again."
        )
    return SourceCheck(
        findings=changes,
        blocking_holds=blocking,
        fill_seconds=fill_seconds,
        quality_mean=quality.mean,
    )
