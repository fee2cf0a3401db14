"""What each materialisation shows in the Dagster UI: counts as numbers (so Dagster plots them
across runs), and short Markdown previews of what a data engineer opens first — files written,
the first errors, rows waiting for review, what the job does to each production table."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Connection, text

from listings_pipeline.db import load_queries
from listings_pipeline.images.problems import redact_url
from listings_pipeline.jobs import StageCounts
from listings_pipeline.review.quality import quality_distribution

Q = load_queries(__file__, "metadata.sql")
PREVIEW_ROWS = 10
TARGETS = ("listings", "listing_info", "locations", "contact_info", "listing_images",
           "opening_dates", "opening_hours", "attributes")  # fmt: skip
ACTIONS = ("insert", "update", "delete", "skip", "error", "pending")


def value(v: Any) -> dg.MetadataValue:
    """A typed metadata value: numbers stay numbers so the UI can plot them."""
    if isinstance(v, bool):
        return dg.MetadataValue.bool(v)
    if isinstance(v, int):
        return dg.MetadataValue.int(v)
    if isinstance(v, float):
        return dg.MetadataValue.float(v)
    if isinstance(v, list | dict):
        return dg.MetadataValue.json(v)
    return dg.MetadataValue.text("" if v is None else str(v))


def counts(c: StageCounts) -> dict[str, dg.MetadataValue]:
    meta = {f"records_{k}": dg.MetadataValue.int(v) for k, v in c.as_params().items()}
    meta.update({k: value(v) for k, v in c.extra.items()})
    return meta


def stored_counts(summary: Mapping[str, Any] | None) -> dict[str, dg.MetadataValue]:
    """The counts a completed stage stored in job_stages.result_summary."""
    summary = dict(summary or {})
    c = StageCounts(**{k: int(summary.pop(k, 0) or 0) for k in StageCounts().as_params()})
    c.extra = summary
    return counts(c)


def timing(seconds: float, records: int) -> dict[str, dg.MetadataValue]:
    return {
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
        "records_per_second": dg.MetadataValue.float(round(records / max(seconds, 1e-9), 1)),
    }


def _cell(v: Any, width: int = 80) -> str:
    s = "" if v is None else str(v)
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> dg.MetadataValue:
    lines = [f"| {' | '.join(r)} |" for r in ([_cell(v) for v in row] for row in rows)]
    if not lines:
        return dg.MetadataValue.md(empty)
    head = f"| {' | '.join(headers)} |\n|{'---|' * len(headers)}\n"
    return dg.MetadataValue.md(head + "\n".join(lines))


def files_written(conn: Connection, job_id: int) -> dict[str, dg.MetadataValue]:
    files = conn.execute(text(Q["job_files"]), {"job_id": job_id}).all()
    return {
        "files_written": dg.MetadataValue.int(len(files)),
        "files": md_table(
            ["seq", "records", "bytes", "md5", "key"],
            (
                (f.file_seq, f.record_count, f.file_size, f.file_hash, f"`{f.file_path}`")
                for f in files
            ),  # fmt: skip
            "No file was written.",
        ),
    }


def stage_errors(conn: Connection, job_id: int, stage: str) -> dict[str, dg.MetadataValue]:
    """The first record errors of one stage, and their number by type."""
    params = {"job_id": job_id, "stage": stage, "limit": PREVIEW_ROWS}
    by_type = {r.error_type: r.n for r in conn.execute(text(Q["stage_error_types"]), params)}
    first = conn.execute(text(Q["stage_errors"]), params).all()
    return {
        f"{stage}_errors": dg.MetadataValue.int(sum(by_type.values())),
        **{f"{stage}_errors_{t}": dg.MetadataValue.int(n) for t, n in by_type.items()},
        f"{stage}_errors_preview": md_table(
            ["record", "field", "type", "message"],
            ((e.record_id, e.field_name, e.error_type, e.error_message) for e in first),
            f"No record failed in the {stage} stage.",
        ),
    }


def stage_rows(conn: Connection, job_id: int, waiting: Sequence[Mapping[str, Any]]) -> dict:
    """Actions per production table, review status counts, rows waiting for review (`waiting`,
    from review.review_rows) and rows with validation issues."""
    by_target: dict[str, dict[str, int]] = {t: {} for t in TARGETS}
    for r in conn.execute(text(Q["actions_by_target"]), {"job_id": job_id}):
        by_target.setdefault(r.target, {})[r.action or "pending"] = r.n
    actions = [a for a in ACTIONS if any(a in v for v in by_target.values())]
    actions += sorted({a for v in by_target.values() for a in v} - set(actions))
    statuses = {
        r.status: r.n for r in conn.execute(text(Q["review_status_counts"]), {"job_id": job_id})
    }
    issues = conn.execute(
        text(Q["rows_with_issues"]), {"job_id": job_id, "limit": PREVIEW_ROWS}
    ).all()
    return {
        **quality(conn, job_id),
        "dagster/row_count": dg.MetadataValue.int(sum(statuses.values())),
        **{f"review_{s}": dg.MetadataValue.int(n) for s, n in statuses.items()},
        "actions_by_table": md_table(
            ["table", *actions],
            ([t, *(by_target[t].get(a, 0) for a in actions)] for t in by_target if by_target[t]),
            "No stage rows.",
        ),
        "waiting_preview": md_table(
            ["row", "source id", "kind", "reason", "name", "city"],
            (
                (
                    r["id"],
                    r.get("source_id"),
                    r["change_kind"],
                    r.get("review_reason"),
                    r["listing_name"],
                    r["loc_city"],
                )
                for r in waiting
            ),  # fmt: skip
            "Nothing waits for review.",
        ),
        "issues_preview": md_table(
            ["row", "record", "source id", "name", "kind", "errors", "warnings"],
            (
                (
                    r.id,
                    r.rec_num,
                    r.source_id,
                    r.listing_name,
                    r.change_kind,
                    r.validation_errors,
                    r.validation_warnings,
                )
                for r in issues
            ),  # fmt: skip
            "No row has validation errors or warnings.",
        ),
    }


def quality(conn: Connection, job_id: int) -> dict[str, dg.MetadataValue]:
    """The records' quality scores: mean and quantiles as numbers (plotted across runs), the
    histogram as a table."""
    q = quality_distribution(conn, job_id)
    if not q.scored:
        return {}
    return {
        "quality_mean": dg.MetadataValue.float(q.mean or 0.0),
        "quality_min": dg.MetadataValue.float(q.min or 0.0),
        **{f"quality_p{p}": dg.MetadataValue.float(v) for p, v in q.quantiles.items()},
        "quality_histogram": md_table(["score", "records"], q.buckets, "No scores."),
    }


def stored_stage(conn: Connection, job_id: int, stage: str) -> dict[str, dg.MetadataValue]:
    """Counts and duration a completed stage recorded, for a run that resumes after it."""
    row = conn.execute(text(Q["stage_summary"]), {"job_id": job_id, "stage": stage}).first()
    if row is None:
        return {}
    summary = row.result_summary
    if isinstance(summary, str):
        summary = json.loads(summary)
    meta = stored_counts(summary)
    if row.seconds is not None:
        meta["seconds"] = dg.MetadataValue.float(round(float(row.seconds), 3))
    return meta


def failed_images(conn: Connection, job_id: int) -> dg.MetadataValue:
    rows = conn.execute(text(Q["failed_images"]), {"job_id": job_id, "limit": PREVIEW_ROWS}).all()
    return md_table(
        ["listing_info", "url", "reason", "message"],
        (
            (r.listing_info_id, redact_url(r.source_url), r.error_reason, r.error_message)
            for r in rows
        ),  # fmt: skip
        "No image failed.",
    )
