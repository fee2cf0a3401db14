"""Job holds: a job-level reason to stop at the review gate that is not a stage row.

A hold has a kind (`source_change`: the source's shape changed against its previous completed
import; `mass_change`: the circuit breaker, the job would clear values of or delete too many of
the source's listings; `quality`: the records' average quality score is below the config's
minimum, review/quality.py), the evidence a person needs to judge it, and a status: pending until a
person accepts or rejects it. Nothing of a job with a pending or rejected hold is promoted
(`pipeline.gate`, `promotion.check_promotable`). Accepting a source change also approves the
rows that wait only because they clear the fields it names; rejecting cancels the job.
Used by the transform (which writes them), the CLI, the console and its JSON API.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, text

from listings_pipeline.db import load_queries

Q = load_queries(__file__, "holds.sql")
HoldKind = Literal["source_change", "mass_change", "quality"]
CONFIG_DECIDER = "config (review.on_source_change: accept)"


class HoldError(Exception):
    """A decision on holds that cannot be taken; nothing was changed."""


def accept_command(job_id: int) -> str:
    return f"listings-pipeline review accept-change {job_id}"


def review_page(job_id: int) -> str:
    return f"/pipeline/jobs/{job_id}/review"


def _share(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def describe_evidence(kind: str, evidence: dict[str, Any]) -> str:
    """One line a person can judge the hold by."""
    check = evidence.get("check")
    before_job = evidence.get("previous_job_id")
    since = f" (against job {before_job})" if before_job else ""
    if check in ("field_missing", "field_emptied"):
        sources = evidence.get("source_fields") or []
        named = f" (source field {', '.join(map(repr, sources))})" if sources else ""
        what = (
            "is missing from every record"
            if check == "field_missing"
            else "was emptied in most records"
        )
        line = (
            f"{evidence['field']}{named} {what}: filled in"
            f" {_share(evidence.get('filled_before'))} → {_share(evidence.get('filled_now'))}"
            f" of the records ({evidence.get('records_before')} → {evidence.get('records_now')}"
            f" records){since}"
        )
        clearing = evidence.get("clearing_rows")
        if clearing:
            line += f"; promoting would clear it on {clearing} listings"
        return line
    if check == "fewer_records":
        return (
            f"far fewer records: {evidence.get('records_before')} → {evidence.get('records_now')}"
            f" ({_share(evidence.get('records_share'))} of the previous import){since}"
        )
    if check == "mass_change":
        return (
            f"would clear values of {evidence.get('clearing_rows')} and delete"
            f" {evidence.get('deleting_rows')} of the source's {evidence.get('source_listings')}"
            f" listings ({_share(evidence.get('share'))}, more than the"
            f" {_share(evidence.get('max_share'))} allowed by review.mass_change.max_share)"
        )
    if check == "quality_average":
        before = evidence.get("previous_mean")
        was = f"; the previous import's was {before:.1f}" if before is not None else ""
        return (
            f"the records' average quality score {evidence.get('mean'):.1f} is below the"
            f" config's minimum {evidence.get('min_average'):g}"
            f" (review.min_average_quality; {evidence.get('scored')} records scored{was})"
        )
    return f"{kind}: {json.dumps(evidence, sort_keys=True, default=str)}"


@dataclass(frozen=True)
class Hold:
    id: int
    job_id: int
    kind: str
    subject: str
    evidence: dict[str, Any]
    status: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None

    @property
    def blocking(self) -> bool:
        return self.status != "accepted"

    @property
    def evidence_text(self) -> str:
        return describe_evidence(self.kind, self.evidence)

    def describe(self) -> str:
        line = f"{self.kind.replace('_', ' ')}: {self.evidence_text}"
        if self.status != "pending":
            line += f" [{self.status} by {self.decided_by}]"
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_id": self.job_id,
            "kind": self.kind,
            "subject": self.subject,
            "evidence": self.evidence,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
            "description": self.describe(),
        }


@dataclass(frozen=True)
class Finding:
    """A reason to hold a job, before it is stored: `subject` keys it within the job."""

    kind: HoldKind
    subject: str
    evidence: dict[str, Any]

    def describe(self) -> str:
        return f"{self.kind.replace('_', ' ')}: {describe_evidence(self.kind, self.evidence)}"


def job_holds(conn: Connection, job_id: int) -> list[Hold]:
    return [Hold(**r) for r in conn.execute(text(Q["job_holds"]), {"job_id": job_id}).mappings()]


def blocking_holds(conn: Connection, job_id: int) -> list[Hold]:
    """Holds that keep the job from promotion: pending, or rejected (the job is cancelled)."""
    return [h for h in job_holds(conn, job_id) if h.blocking]


def record_holds(
    conn: Connection,
    job_id: int,
    findings: Sequence[Finding],
    *,
    kinds: Iterable[str],
    accepted_by: str | None = None,
) -> None:
    """Store the job's findings of `kinds` as holds (pending, or accepted by `accepted_by`),
    and drop pending holds of those kinds that a re-run no longer finds. Set-based: one
    statement for all findings."""
    if findings:
        conn.execute(
            text(Q["upsert_hold"]),
            [
                {
                    "job_id": job_id,
                    "kind": f.kind,
                    "subject": f.subject,
                    "evidence": json.dumps(f.evidence, default=str),
                    "status": "pending" if accepted_by is None else "accepted",
                    "decided_by": accepted_by,
                    "note": None,
                }
                for f in findings
            ],
        )
    conn.execute(
        text(Q["drop_stale_holds"]),
        {
            "job_id": job_id,
            "kinds": list(kinds),
            "keep": [f"{f.kind}:{f.subject}" for f in findings],
        },
    )
    if accepted_by is not None:
        conn.execute(
            text(Q["approve_explained_rows"]), {"job_id": job_id, "by": accepted_by, "note": None}
        )


@dataclass(frozen=True)
class HoldDecision:
    job_id: int
    decision: str
    holds: list[int]
    approved_rows: int


def _open_job(conn: Connection, job_id: int) -> Any:
    job = conn.execute(text(Q["lock_job"]), {"job_id": job_id}).first()
    if job is None:
        raise HoldError(f"job {job_id} does not exist")
    if job.status == "completed" or job.promote_status == "completed":
        raise HoldError(f"job {job_id} was already promoted; its holds can no longer be decided")
    if job.status in ("failed", "cancelled", "superseded"):
        raise HoldError(f"job {job_id} is {job.status}; its holds can no longer be decided")
    return job


def decide_holds(
    engine: Engine,
    job_id: int,
    decision: Literal["accept", "reject"],
    *,
    reviewer: str,
    note: str | None = None,
    hold_ids: Sequence[int] | None = None,
) -> HoldDecision:
    """Accept or reject the job's pending holds (all, or `hold_ids`). Accepting approves the
    rows that wait only because they clear the accepted fields; rejecting cancels the job
    (fix the config or the source, and run again)."""
    if decision not in ("accept", "reject"):
        raise HoldError(f"unknown decision {decision!r}: use accept or reject")
    with engine.begin() as conn:
        _open_job(conn, job_id)
        pending = [h for h in job_holds(conn, job_id) if h.status == "pending"]
        if hold_ids:
            unknown = sorted(set(hold_ids) - {h.id for h in pending})
            if unknown:
                raise HoldError(
                    f"holds {', '.join(map(str, unknown))} are not pending holds of job {job_id}"
                )
        if not pending:
            raise HoldError(f"job {job_id} has no pending hold to {decision}")
        status = "accepted" if decision == "accept" else "rejected"
        decided = list(
            conn.execute(
                text(Q["decide_holds"]),
                {
                    "job_id": job_id,
                    "status": status,
                    "by": reviewer,
                    "note": note,
                    "ids": list(hold_ids) if hold_ids else None,
                },
            ).scalars()
        )
        approved = 0
        if decision == "accept":
            rows = conn.execute(
                text(Q["approve_explained_rows"]),
                {"job_id": job_id, "by": reviewer, "note": note or "accepted the source change"},
            )
            approved = len(rows.all())
        else:
            rejected = [h.describe() for h in pending if h.id in decided]
            conn.execute(
                text(Q["cancel_job"]),
                {
                    "job_id": job_id,
                    "message": f"{reviewer} rejected the job's "
                    + "; ".join(rejected)
                    + (f" ({note})" if note else ""),
                },
            )
    return HoldDecision(job_id=job_id, decision=decision, holds=decided, approved_rows=approved)
