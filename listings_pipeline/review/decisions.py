"""Reviewers' decisions on stage rows: approve or reject all rows, rows by id or rows by kind.

Overrides: `skip` turns the change into nothing; `force_overwrite` lets the source overwrite
fields a person edited in production (and lifts claim policies); `accept_match` takes the
suggested listing of an uncertain match as the match, `reject_match` makes the row a new
listing — both decide the row's actions again with the transform's own statements, and both
are kept as labelled pairs the matcher learns from (pipeline.match_labels). Used by the
CLI, the Dagster approval job and the console. A decision that cannot be taken changes nothing
and says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Engine, text

from listings_pipeline.db import load_queries
from listings_pipeline.locks import source_lock
from listings_pipeline.transform.stage import recompute_actions

Q = load_queries(__file__, "decisions.sql")
KINDS = ("insert", "update", "skip", "delete", "duplicate", "error", "uncertain_match")
Override = Literal["skip", "force_overwrite", "accept_match", "reject_match"]
OVERRIDES: tuple[str, ...] = get_args(Override)
MATCH_OVERRIDES = ("accept_match", "reject_match")


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


def _ids_text(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:10]))
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _check_job(conn: Connection, job_id: int) -> None:
    job = conn.execute(text(Q["job_state"]), {"job_id": job_id}).first()
    if job is None:
        raise ReviewError(f"job {job_id} does not exist")
    if job.status == "completed" or job.promote_status == "completed":
        raise ReviewError(f"job {job_id} was already promoted; its rows can no longer be decided")
    if job.status == "superseded":
        raise ReviewError(
            f"job {job_id} is superseded by a newer import of {job.slug!r};"
            " decide on the rows of that job instead"
        )
    if job.status in ("failed", "cancelled"):
        raise ReviewError(f"job {job_id} is {job.status}; its rows can no longer be decided")


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
    override: Override | None = None,
) -> DecisionResult:
    if decision not in ("approve", "reject"):
        raise ReviewError(f"unknown decision {decision!r}: use approve or reject")
    chosen = sum([bool(row_ids), kind is not None, all_rows])
    if chosen != 1:
        raise ReviewError("choose exactly one of: all rows, row ids, or a kind of change")
    if kind is not None and kind not in KINDS:
        raise ReviewError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if override is not None and override not in OVERRIDES:
        raise ReviewError(f"unknown override {override!r}: use one of {', '.join(OVERRIDES)}")
    if override in MATCH_OVERRIDES and decision != "approve":
        raise ReviewError(f"{override} settles a suggested match and approves the row; use approve")
    approve = decision == "approve"
    params: dict[str, Any] = {
        "job_id": job_id,
        "row_ids": list(row_ids or []),
        "kind": kind,
        "all_rows": all_rows,
        "approve": approve,
    }
    with engine.connect() as conn:
        job = conn.execute(text(Q["job_state"]), {"job_id": job_id}).first()
    if job is None:
        raise ReviewError(f"job {job_id} does not exist")
    # Under the source's lock: no run of the source stages or promotes meanwhile (a decision
    # taken during its own job's promotion would be half applied); re-deciding a match reads
    # the DMO's catalogue, so it holds that too (shared, as a transform does).
    with (
        source_lock(engine, job.slug, stage="review", job_id=job_id) as lock,
        lock.catalogue(job.dmo_id, exclusive=False)
        if override in MATCH_OVERRIDES
        else nullcontext(),
        engine.begin() as conn,
    ):
        _check_job(conn, job_id)
        if row_ids:
            foreign = list(conn.execute(text(Q["foreign_rows"]), params).scalars())
            if foreign:
                raise ReviewError(f"rows {_ids_text(foreign)} do not belong to job {job_id}")
        rows = list(conn.execute(text(Q["selection"]), params))
        if not rows:
            what = "wait for a decision" if all_rows else "match the selection"
            raise ReviewError(f"no rows of job {job_id} {what}")
        ids = [r.id for r in rows if not (r.promoted or r.decided)]
        if not ids:
            promoted = sum(r.promoted for r in rows)
            raise ReviewError(
                f"nothing to {decision} in job {job_id}: of the {len(rows)} selected rows,"
                f" {len(rows) - promoted} were already decided and {promoted} already promoted"
            )
        if override in MATCH_OVERRIDES:
            unsuited = [
                r.id
                for r in rows
                if r.id in ids
                and not (r.uncertain and (r.has_candidate or override == "reject_match"))
            ]
            if unsuited:
                raise ReviewError(
                    f"rows {_ids_text(unsuited)} of job {job_id} are not uncertain matches with"
                    f" a suggested listing; {override} applies to those only"
                )
            accept = override == "accept_match"
            conn.execute(
                text(Q["record_match_labels"]), {"ids": ids, "accept": accept, "reviewer": reviewer}
            )
            conn.execute(text(Q["settle_match"]), {"ids": ids, "accept": accept})
            mapped = conn.execute(text(Q["mapped_targets"]), {"job_id": job_id}).scalars()
            recompute_actions(conn, job_id, ids, list(mapped))
        decided = list(
            conn.execute(
                text(Q["decide"]),
                {
                    "ids": ids,
                    "approve": approve,
                    "reviewer": reviewer,
                    "note": note,
                    "force": override == "force_overwrite",
                    "skip": override == "skip",
                },
            ).scalars()
        )
    return DecisionResult(job_id=job_id, decision=decision, decided=decided, selected=len(rows))


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
