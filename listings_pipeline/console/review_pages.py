"""Pages of the review gate and of what follows it: review tabs and decisions, Promote, and
"Run now" of a config (seed 000 steps 4-5).

Viewing needs pipeline:read; deciding pipeline:review; promoting pipeline:promote; starting a
run pipeline:admin. Each route declares its `Access` dependency.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from listings_pipeline.console import config_files, launcher, queries, review, scope
from listings_pipeline.console.pages import (
    job_activity,
    job_or_404,
    launcher_of,
    render_config,
    render_job,
)
from listings_pipeline.console.rendering import render
from listings_pipeline.console.security import ADMIN, PROMOTE, READ, REVIEW, engine_of
from listings_pipeline.console.users import Principal
from listings_pipeline.review.holds import Hold, HoldError, decide_holds, job_holds
from listings_pipeline.settings import get_settings

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(READ)]
Reviewer = Annotated[Principal, Depends(REVIEW)]
Promoter = Annotated[Principal, Depends(PROMOTE)]
Admin = Annotated[Principal, Depends(ADMIN)]

MAX_ROWS_PER_DECISION = 1000
_ACTIONS = {
    "approve": ("approve", "rows"),
    "reject": ("reject", "rows"),
    "approve_kind": ("approve", "kind"),
    "reject_kind": ("reject", "kind"),
}
_OVERRIDES = {
    "": None,
    "skip": "skip",
    "force_overwrite": "force_overwrite",
    "accept_match": "accept_match",
    "reject_match": "reject_match",
}


def _int(name: str, value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise HTTPException(400, f"{name} must be a whole number, not {value!r}")
    return int(value)


def _ids(name: str, values: list[str]) -> list[int]:
    ids = [i for i in (_int(name, v) for v in values) if i is not None]
    if len(ids) > MAX_ROWS_PER_DECISION:
        raise HTTPException(400, f"At most {MAX_ROWS_PER_DECISION} rows can be decided at once.")
    return ids


def _filters(status: str | None, q: str | None) -> review.Filters:
    try:
        return review.Filters(status=(status or "").strip() or None, q=(q or "").strip() or None)
    except ValueError as err:
        raise HTTPException(400, str(err)) from err


def _tab(name: str | None, counts: dict[str, review.TabCount]) -> review.Tab:
    if name:
        if name not in review.TABS_BY_NAME:
            raise HTTPException(400, f"tab must be one of {', '.join(review.TABS_BY_NAME)}")
        return review.TABS_BY_NAME[name]
    # First the tab where people are needed, else the first with rows.
    for wanted in ("pending", "total"):
        for tab in review.TABS:
            if getattr(counts[tab.name], wanted):
                return tab
    return review.TABS[0]


# --- the list of jobs waiting for review -----------------------------------------------------


@router.get("/pipeline/review")
def review_list_page(request: Request, principal: Reader, page: int = 1) -> Response:
    if page < 1:
        raise HTTPException(400, "page must be 1 or more")
    size = review.PAGE_SIZE
    jobs, has_next = review.waiting_jobs(
        engine_of(request), size, (page - 1) * size, scope.list_scope(principal)
    )
    return render(request, "review_list.html", principal, jobs=jobs, page=page, has_next=has_next)


# --- the review page of a job ----------------------------------------------------------------


@router.get("/pipeline/jobs/{job_id}/review")
def review_page(
    request: Request,
    principal: Reader,
    job_id: int,
    tab: str | None = None,
    status: str | None = None,
    q: str | None = None,
    after: str | None = None,
    before: str | None = None,
    done: str | None = None,
    n: str | None = None,
    stale: str | None = None,
    stale_ids: str | None = None,
    held: str | None = None,
    rows: str | None = None,
) -> Response:
    job = job_or_404(request, job_id)
    hold_notice = (
        {"decision": held, "holds": _int("n", n) or 0, "rows": _int("rows", rows) or 0}
        if held in ("accept", "reject")
        else None
    )
    return _render_review(
        request,
        principal,
        job,
        tab=tab,
        filters=_filters(status, q),
        after=_int("after", after),
        before=_int("before", before),
        notice=_notice(request, job_id, done, n, stale, stale_ids),
        hold_notice=hold_notice,
    )


def _notice(
    request: Request,
    job_id: int,
    done: str | None,
    n: str | None,
    stale: str | None,
    stale_ids: str | None,
) -> dict[str, Any] | None:
    if done not in ("approve", "reject"):
        return None
    ids = _ids("stale_ids", (stale_ids or "").split(","))[: review.PAGE_SIZE]
    return {
        "decision": done,
        "decided": _int("n", n) or 0,
        "stale": _int("stale", stale) or 0,
        "stale_rows": review.row_states(engine_of(request), job_id, ids),
    }


def _render_review(
    request: Request,
    principal: Principal,
    job: dict[str, Any],
    *,
    tab: str | None,
    filters: review.Filters,
    after: int | None = None,
    before: int | None = None,
    notice: dict[str, Any] | None = None,
    hold_notice: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    engine = engine_of(request)
    counts = review.tab_counts(engine, job["id"])
    current = _tab(tab, counts)
    page = review.review_page(
        engine,
        job["id"],
        current,
        filters,
        after=after,
        before=before,
        merge_policy=review.merge_policy(job["slug"]),
    )
    return render(
        request,
        "review.html",
        principal,
        status_code,
        job=job,
        tabs=review.TABS,
        tab=current,
        counts=counts,
        filters=filters,
        after=after,
        rows=page,
        notice=notice,
        error=error,
        holds=_holds(engine, job["id"]),
        hold_notice=hold_notice,
        statuses=review.REVIEW_STATUSES,
        open_job=job["status"] not in review.CLOSED_STATUSES,
        activity=job_activity(request, job),
        unreadable=sum(e["n"] for e in queries.job_error_types(engine, job["id"]))
        if current.name == "errors"
        else 0,
    )


@router.post("/pipeline/jobs/{job_id}/review")
async def review_decide(request: Request, principal: Reviewer, job_id: int) -> Response:
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    tab, status, q, after = field("tab") or None, field("status"), field("q"), field("after")
    winner = _int("winner", field("winner"))  # "Promote this record instead" (Duplicates)
    action = "approve" if winner is not None else field("action")
    if action not in _ACTIONS:
        raise HTTPException(400, "action must be approve, reject, approve_kind or reject_kind")
    if field("override") not in _OVERRIDES:
        raise HTTPException(
            400, "override must be empty, skip, force_overwrite, accept_match or reject_match"
        )
    decision, scope = _ACTIONS[action]
    row_ids = _ids("row_id", [v for v in form.getlist("row_id") if isinstance(v, str)])
    seen = {
        int(key[5:]): value
        for key, value in form.items()
        if key.startswith("seen_") and key[5:].isdigit() and isinstance(value, str)
    }
    kind = field("kind") or None
    expected = _int("expected", field("expected"))
    filters = _filters(status, q)

    def run() -> Response:
        job = job_or_404(request, job_id)
        if scope == "rows" and not row_ids and winner is None:
            return _render_review(
                request,
                principal,
                job,
                tab=tab,
                filters=filters,
                after=_int("after", after),
                error="Select at least one row, or decide all rows of this kind.",
                status_code=400,
            )
        try:
            outcome = review.apply_decision(
                engine_of(request),
                job,
                decision,  # type: ignore[arg-type]
                reviewer=principal.username,
                row_ids=row_ids if scope == "rows" and winner is None else None,
                kind=kind if scope == "kind" else None,
                seen=seen,
                expected=expected if scope == "kind" else None,
                override=_OVERRIDES[field("override")],  # type: ignore[arg-type]
                note=field("note")[:2000] or None,
                winner=winner,
            )
        except review.ReviewError as err:
            return _render_review(
                request,
                principal,
                job,
                tab=tab,
                filters=filters,
                after=_int("after", after),
                error=str(err),
                status_code=409,
            )
        back = {
            k: v for k, v in {"tab": tab, "status": status, "q": q, "after": after}.items() if v
        }
        back.update(done=decision, n=len(outcome.decided), stale=outcome.stale_count)
        if outcome.stale:
            back["stale_ids"] = ",".join(str(r["id"]) for r in outcome.stale)
        return RedirectResponse(
            f"/pipeline/jobs/{job_id}/review?{urlencode(back)}", status_code=303
        )

    return await run_in_threadpool(run)


# --- holds (source changes, mass changes) ------------------------------------------------------


def _holds(engine: Engine, job_id: int) -> list[Hold]:
    with engine.connect() as conn:
        return job_holds(conn, job_id)


@router.post("/pipeline/jobs/{job_id}/holds")
async def decide_job_holds(request: Request, principal: Reviewer, job_id: int) -> Response:
    """Accept or reject the job's pending holds (all, or the one named by hold_id)."""
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    decision = field("action")
    if decision not in ("accept", "reject"):
        raise HTTPException(400, "action must be accept or reject")
    hold_id = _int("hold_id", field("hold_id"))
    note = field("note")[:2000] or None

    def run() -> Response:
        job = job_or_404(request, job_id)
        try:
            result = decide_holds(
                engine_of(request),
                job_id,
                decision,  # type: ignore[arg-type]
                reviewer=principal.username,
                note=note,
                hold_ids=[hold_id] if hold_id is not None else None,
            )
        except HoldError as err:
            return _render_review(
                request,
                principal,
                job,
                tab=None,
                filters=_filters(None, None),
                error=str(err),
                status_code=409,
            )
        back = {"held": decision, "n": len(result.holds), "rows": result.approved_rows}
        return RedirectResponse(
            f"/pipeline/jobs/{job_id}/review?{urlencode(back)}#holds", status_code=303
        )

    return await run_in_threadpool(run)


# --- promote ---------------------------------------------------------------------------------


@router.post("/pipeline/jobs/{job_id}/promote")
def promote(request: Request, principal: Promoter, job_id: int) -> Response:
    job = job_or_404(request, job_id)
    engine = engine_of(request)
    refusal = launcher.promotion_refusal(engine, job, launcher_of(request))
    if refusal is None:
        try:
            launcher.start_promotion(launcher_of(request), job, principal.username)
        except launcher.Busy as err:
            refusal = str(err)
    if refusal is not None:
        return render_job(request, principal, job, refusal=refusal, status_code=409)
    return RedirectResponse(f"/pipeline/jobs/{job_id}#promotion", status_code=303)


# --- run now ---------------------------------------------------------------------------------


@router.post("/pipeline/configs/{slug}/run")
async def run_now(request: Request, principal: Admin, slug: str) -> Response:
    """Run the config now: a file source with the uploaded file (multipart field input_file;
    a browser sends an empty part when no file was chosen)."""
    form = await request.form()
    field = form.get("input_file")
    upload = field if isinstance(field, UploadFile) and field.filename else None
    return await run_in_threadpool(_run_now, request, principal, slug, upload)


def _run_now(
    request: Request, principal: Principal, slug: str, upload: UploadFile | None
) -> Response:
    found = config_files.read_config(get_settings().config_dir, slug)
    if found is None:
        raise HTTPException(404, f"Config {slug!r} does not exist.")

    def refuse(message: str, status_code: int = 400) -> Response:
        return render_config(request, principal, found, run_error=message, status_code=status_code)

    config = found.config
    if config is None:
        return refuse(f"{slug} is not a valid config; fix it before running it.", 409)
    try:
        saved = launcher.run_input(
            config,
            (upload.filename or "", upload.file) if upload else None,
            how_to_send="choose a file to upload",
        )
    except launcher.UploadRejected as err:
        return refuse(str(err))
    try:
        launcher.start_run(
            launcher_of(request), engine_of(request), slug, principal.username, saved
        )
    except launcher.Busy as err:
        return refuse(str(err), 409)
    return RedirectResponse(f"/pipeline/configs/{slug}#run", status_code=303)
