"""Summaries of a job for people and scripts (the CLI's output)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from listings_pipeline.db import load_queries
from listings_pipeline.pipeline import read_gate
from listings_pipeline.review.holds import accept_command, review_page

Q = load_queries(__file__, "reports.sql")


def job_summary(conn: Connection, job_id: int, *, errors: int = 10) -> dict[str, Any]:
    job = conn.execute(text(Q["job_summary"]), {"job_id": job_id}).mappings().one()
    params = {"job_id": job_id, "limit": errors}
    gate = read_gate(conn, job_id)
    return {
        "job_id": job["id"],
        "slug": job["slug"],
        "status": job["status"],
        "stage": job["current_stage"],
        # the same input as job `unchanged_of`: no record staged or written again
        "unchanged": job["unchanged_of"] is not None,
        "unchanged_of": job["unchanged_of"],
        "error": job["error_message"],
        "actions": {r.kind: r.n for r in conn.execute(text(Q["kinds"]), params)},
        "matched_other_sources": conn.execute(text(Q["matched"]), params).scalar_one(),
        "records": {k.removeprefix("records_"): job[k] for k in job if k.startswith("records_")},
        "gate": gate.as_dict(),
        "errors_total": conn.execute(text(Q["error_count"]), params).scalar_one(),
        "errors": [dict(r) for r in conn.execute(text(Q["errors"]), params).mappings()],
        "dagster_run_id": job["dagster_run_id"],
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"job {summary['job_id']} ({summary['slug']}): {summary['status']}"
        f" at stage {summary['stage']}"
    ]
    if summary["unchanged"]:
        lines.append(
            f"  unchanged: the same input as job {summary['unchanged_of']};"
            " no record was staged again"
        )
    if summary["error"]:
        lines.append(f"  error: {summary['error']}")
    actions = summary["actions"]
    if actions:
        lines.append("  rows by action: " + ", ".join(f"{k} {v}" for k, v in actions.items()))
    if summary["matched_other_sources"]:
        lines.append(
            f"  matched to listings from other sources: {summary['matched_other_sources']}"
        )
    gate = summary["gate"]
    if gate["passed"]:
        lines.append("  review gate: passed (nothing waits for a person)")
    else:
        if gate["waiting"]:
            waiting = ", ".join(f"{n} {k}" for k, n in gate["waiting"].items())
            lines.append(f"  review gate: waiting for review ({waiting})")
        for hold in gate["holds"]:
            lines.append(
                f"  review gate: hold {hold['id']} ({hold['status']}): {hold['description']}"
            )
        if any(h["status"] == "pending" for h in gate["holds"]):
            job_id = summary["job_id"]
            lines.append(
                f"  accept: {accept_command(job_id)} [--note N], or on the console's review page"
                f" {review_page(job_id)}; reject: listings-pipeline review reject-change {job_id};"
                " or fix the config and run again"
            )
    if summary["errors_total"]:
        lines.append(f"  record errors: {summary['errors_total']} (first ones below)")
        for e in summary["errors"]:
            field = f" [{e['field_name']}]" if e["field_name"] else ""
            lines.append(f"    {e['stage']}: {e['error_message']}{field}")
    return "\n".join(lines)
