"""Reviewers' decisions on stage rows: approve or reject all rows, rows by id or rows by kind,
optionally overriding the action (turn a change into `skip`) or forcing an update over
manual edits. Used by the CLI, the Dagster approval job and the console."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, text

from listings_pipeline.db import load_queries

Q = load_queries(__file__, "decisions.sql")
KINDS = ("insert", "update", "skip", "delete", "duplicate", "error", "uncertain_match")


class ReviewError(Exception):
    """A decision that cannot be taken; nothing was changed."""


@dataclass(frozen=True)
class DecisionResult:
    job_id: int
    decision: str
    decided: list[int]
    selected: int

    @property
    def already_decided(self) -> int:
        return self.selected - len(self.decided)


def decide(
    engine: Engine,
    job_id: int,
    decision: Literal["approve", "reject"],
    *,
    reviewer: str,
    row_ids: Sequence[int] | None = None,
    kind: str | None = None,
    all_rows: bool = False,
    note: str | None = None,
    override: Literal["skip", "force_overwrite"] | None = None,
) -> DecisionResult:
    if decision not in ("approve", "reject"):
        raise ReviewError(f"unknown decision {decision!r}: use approve or reject")
    chosen = sum([bool(row_ids), kind is not None, all_rows])
    if chosen != 1:
        raise ReviewError("choose exactly one of: all rows, row ids, or a kind of change")
    if kind is not None and kind not in KINDS:
        raise ReviewError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if override not in (None, "skip", "force_overwrite"):
        raise ReviewError(f"unknown override {override!r}: use skip or force_overwrite")
    params: dict[str, Any] = {
        "job_id": job_id,
        "row_ids": list(row_ids or []),
        "kind": kind,
        "all_rows": all_rows,
    }
    with engine.begin() as conn:
        job = conn.execute(text(Q["job_state"]), {"job_id": job_id}).first()
        if job is None:
            raise ReviewError(f"job {job_id} does not exist")
        if job.status in ("completed", "superseded", "failed"):
            raise ReviewError(f"job {job_id} is {job.status}; its rows can no longer be decided")
        if row_ids:
            foreign = list(conn.execute(text(Q["foreign_rows"]), params).scalars())
            if foreign:
                raise ReviewError(f"rows {foreign} do not belong to job {job_id}")
        selected = conn.execute(text(Q["selected"]), params).scalar_one()
        if selected == 0:
            raise ReviewError(f"no rows of job {job_id} match the selection")
        decided = list(
            conn.execute(
                text(Q["decide"]),
                {
                    **params,
                    "approve": decision == "approve",
                    "reviewer": reviewer,
                    "note": note,
                    "force": override == "force_overwrite",
                    "skip": override == "skip",
                },
            ).scalars()
        )
    return DecisionResult(job_id=job_id, decision=decision, decided=decided, selected=selected)


def review_summary(conn: Connection, job_id: int) -> dict[str, dict[str, int]]:
    """Row counts by kind of change and review status: {kind: {status: n}}."""
    summary: dict[str, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(text(Q["summary"]), {"job_id": job_id}):
        summary[row.kind or "unknown"][row.status] = row.n
    return dict(summary)


def review_rows(
    conn: Connection,
    job_id: int,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    result = conn.execute(
        text(Q["rows"]),
        {"job_id": job_id, "status": status, "kind": kind, "limit": limit, "offset": offset},
    )
    return [dict(r) for r in result.mappings()]
