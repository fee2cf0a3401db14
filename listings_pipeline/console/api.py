"""JSON API under /api/v1 (seed 001 "API Endpoints"), same data and permissions as the pages.

Lists take `limit` (1-200) and `offset` and return `next_offset` (null on the last page).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from listings_pipeline import pipeline
from listings_pipeline.console import config_files, launcher, queries, review, scope
from listings_pipeline.console.pages import job_quality
from listings_pipeline.console.schemas import (
    ConfigIn,
    ConfigOut,
    ConfigProblem,
    ConfigSummary,
    DecisionIn,
    DecisionOut,
    FileInfo,
    HoldDecisionIn,
    HoldDecisionOut,
    Job,
    JobDetail,
    JobError,
    ListingDetail,
    ListingSummary,
    Me,
    PageOut,
    Promotion,
    ReviewRowsOut,
    ReviewSummary,
    StageRow,
)
from listings_pipeline.console.security import (
    ADMIN,
    PROMOTE,
    READ,
    REVIEW,
    SIGNED_IN,
    access_of,
    engine_of,
)
from listings_pipeline.console.users import Principal
from listings_pipeline.review.holds import Hold, HoldError, decide_holds, job_holds
from listings_pipeline.settings import get_settings

router = APIRouter(prefix="/api/v1")

Reader = Annotated[Principal, Depends(READ)]
Admin = Annotated[Principal, Depends(ADMIN)]
Reviewer = Annotated[Principal, Depends(REVIEW)]
Promoter = Annotated[Principal, Depends(PROMOTE)]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0)]


def _page(page: queries.Page) -> dict[str, Any]:
    return {
        "items": page.items,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


def _not_found(what: str) -> HTTPException:
    return HTTPException(404, f"{what} does not exist.")


@router.get("/me", response_model=Me, tags=["session"])
def me(principal: Annotated[Principal, Depends(SIGNED_IN)]) -> dict[str, Any]:
    """The caller, its permissions, and the CSRF token of its session (null for API tokens)."""
    return {
        "username": principal.username,
        "permissions": sorted(principal.permissions),
        "dmos": {p: scope.list_scope(principal, p) for p in sorted(principal.permissions)},
        "csrf_token": principal.csrf_token,
    }


# --- jobs, files, errors, staged rows -------------------------------------------------------


@router.get("/pipeline/jobs", response_model=PageOut[Job], tags=["jobs"])
def list_jobs(
    request: Request,
    principal: Reader,
    slug: str | None = None,
    status: str | None = None,
    dmo_id: int | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Pipeline jobs, newest first."""
    return _page(
        queries.list_jobs(
            engine_of(request),
            slug=slug,
            status=status,
            dmo_id=dmo_id,
            dmo_ids=scope.list_scope(principal),
            limit=limit,
            offset=offset,
        )
    )


@router.get("/pipeline/jobs/{job_id}", response_model=JobDetail, tags=["jobs"])
def get_job(request: Request, principal: Reader, job_id: int) -> dict[str, Any]:
    """A job with its stages, stage-row counts per action, error counts per type and the
    distribution of its records' quality scores."""
    engine = engine_of(request)
    job = queries.get_job(engine, job_id)
    if job is None:
        raise _not_found(f"Job {job_id}")
    return {
        **job,
        "stages": queries.job_stages(engine, job_id),
        "action_counts": queries.job_action_counts(engine, job_id),
        "error_counts": {r["error_type"]: r["n"] for r in queries.job_error_types(engine, job_id)},
        "quality": job_quality(engine, job_id).as_dict(),
    }


def _require_job(request: Request, job_id: int) -> None:
    if queries.get_job(engine_of(request), job_id) is None:
        raise _not_found(f"Job {job_id}")


@router.get("/pipeline/jobs/{job_id}/errors", response_model=PageOut[JobError], tags=["jobs"])
def list_job_errors(
    request: Request,
    principal: Reader,
    job_id: int,
    error_type: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Records the job could not use, with the original record and the reason."""
    _require_job(request, job_id)
    return _page(
        queries.job_errors(
            engine_of(request), job_id, error_type=error_type, limit=limit, offset=offset
        )
    )


@router.get("/pipeline/files", response_model=PageOut[FileInfo], tags=["files"])
def list_files(
    request: Request,
    principal: Reader,
    job_id: int | None = None,
    dmo_id: int | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Raw and intermediate files the pipeline wrote, newest job first."""
    return _page(
        queries.list_files(
            engine_of(request),
            job_id=job_id,
            dmo_id=dmo_id,
            dmo_ids=scope.list_scope(principal),
            limit=limit,
            offset=offset,
        )
    )


@router.get("/pipeline/files/{file_id}", response_model=FileInfo, tags=["files"])
def get_file(request: Request, principal: Reader, file_id: int) -> dict[str, Any]:
    found = queries.get_file(engine_of(request), file_id)
    if found is None:
        raise _not_found(f"File {file_id}")
    return found


@router.get("/pipeline/staging/listings", response_model=PageOut[StageRow], tags=["staging"])
def list_stage_rows(
    request: Request,
    principal: Reader,
    job_id: int,
    listing_action: str | None = None,
    review_status: str | None = None,
    source_id: str | None = None,
    name: Annotated[str | None, Query(description="Part of the listing name.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stage rows of one job in import order, filtered."""
    _require_job(request, job_id)
    return _page(
        queries.stage_rows(
            engine_of(request),
            job_id,
            listing_action=listing_action,
            review_status=review_status,
            source_id=source_id,
            name=name,
            limit=limit,
            offset=offset,
        )
    )


# --- review and promotion --------------------------------------------------------------------


def _job(request: Request, job_id: int) -> dict[str, Any]:
    job = queries.get_job(engine_of(request), job_id)
    if job is None:
        raise _not_found(f"Job {job_id}")
    return job


def _promotion(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    status = launcher.promotion_status(engine_of(request), job, request.app.state.launcher)
    task = status.pop("task")
    if task is not None and task.kind == "promote":
        status.update(
            started_by=task.started_by,
            started_at=task.started_at,
            finished_at=task.finished_at,
            dagster_run_id=task.run_id,
            run_succeeded=task.success,
            run_failures=task.failures + ([task.error] if task.error else []),
        )
    return status


@router.get("/pipeline/jobs/{job_id}/review", response_model=ReviewSummary, tags=["review"])
def get_review(request: Request, principal: Reader, job_id: int) -> dict[str, Any]:
    """Rows of a job per review tab, what waits for a person, the review gate and promotion."""
    engine = engine_of(request)
    job = _job(request, job_id)
    counts = review.tab_counts(engine, job_id)
    gate = pipeline.gate(engine, job_id)
    return {
        "job_id": job_id,
        "status": job["status"],
        "tabs": {
            t.name: {"label": t.label, "kind": t.kind, **vars(counts[t.name])} for t in review.TABS
        },
        "waiting": gate.waiting,
        "holds": [h.as_dict() for h in job_holds_of(engine, job_id)],
        "gate": gate.describe(),
        "gate_passed": gate.passed,
        "promotion": _promotion(request, job),
    }


def job_holds_of(engine: Engine, job_id: int) -> list[Hold]:
    with engine.connect() as conn:
        return job_holds(conn, job_id)


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value  # JSON numbers, not strings


def _row_out(row: review.ReviewRow) -> dict[str, Any]:
    return {
        **row.data,
        "production_listing_id": row.production_listing_id,
        "decidable": row.decidable,
        "fields": [
            {
                "entity": s.entity,
                "action": s.action,
                "field": f.name,
                "before": _number(f.before),
                "after": _number(f.after),
                "changed": f.changed,
                "kept": f.kept,
            }
            for s in row.sections
            for f in s.fields
        ],
    }


@router.get("/pipeline/jobs/{job_id}/review/rows", response_model=ReviewRowsOut, tags=["review"])
def list_review_rows(
    request: Request,
    principal: Reader,
    job_id: int,
    tab: Literal["new", "updates", "matches", "duplicates", "deletions", "errors"] = "new",
    status: Literal["pending", "auto_approved", "approved", "rejected"] | None = None,
    q: Annotated[str | None, Query(description="Part of the name, or a source id.")] = None,
    after: Annotated[int | None, Query(description="next_after of the previous page.")] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """One page of a review tab in row id order, each row with its field-level diff against
    production (for a suggested match: against the suggested listing)."""
    job = _job(request, job_id)
    page = review.review_page(
        engine_of(request),
        job_id,
        review.TABS_BY_NAME[tab],
        review.Filters(status=status, q=q or None),
        after=after,
        limit=limit,
        merge_policy=review.merge_policy(job["slug"]),
    )
    return {
        "items": [_row_out(r) for r in page.rows],
        "limit": limit,
        "next_after": page.last_id if page.has_next else None,
    }


@router.post(
    "/pipeline/jobs/{job_id}/review/decisions",
    response_model=DecisionOut,
    responses={409: {"description": "The job takes no decisions, or nothing matched."}},
    tags=["review"],
)
def post_decision(request: Request, principal: Reviewer, job_id: int, body: DecisionIn) -> Any:
    """Approve or reject rows by id, all rows of a kind, or all rows waiting for a person, as
    the calling user; or approve a duplicate group with the `winner` to promote. Only rows
    nobody decided yet change; the others are reported."""
    job = _job(request, job_id)
    try:
        outcome = review.apply_decision(
            engine_of(request),
            job,
            body.decision,
            reviewer=principal.username,
            row_ids=body.row_ids,
            kind=body.kind,
            all_rows=body.all_rows,
            seen=body.seen,
            expected=body.expected,
            override=body.override,
            note=body.note,
            winner=body.winner,
        )
    except review.ReviewError as err:
        return JSONResponse({"detail": str(err)}, status_code=409)
    return {
        "job_id": job_id,
        "decision": outcome.decision,
        "decided": outcome.decided,
        "already_decided": outcome.stale_count,
        "already_decided_rows": outcome.stale,
    }


@router.post(
    "/pipeline/jobs/{job_id}/holds/decisions",
    response_model=HoldDecisionOut,
    responses={409: {"description": "The job takes no decision on holds; `detail` says why."}},
    tags=["review"],
)
def post_hold_decision(
    request: Request, principal: Reviewer, job_id: int, body: HoldDecisionIn
) -> Any:
    """Accept or reject the job's source-change / mass-change holds (all pending ones, or
    `hold_ids`), as the calling user. Accepting approves the rows that wait only because they
    clear the accepted fields; rejecting cancels the job."""
    _job(request, job_id)
    try:
        result = decide_holds(
            engine_of(request),
            job_id,
            body.decision,
            reviewer=principal.username,
            note=body.note,
            hold_ids=body.hold_ids,
        )
    except HoldError as err:
        return JSONResponse({"detail": str(err)}, status_code=409)
    return {
        "job_id": job_id,
        "decision": body.decision,
        "holds": result.holds,
        "approved_rows": result.approved_rows,
        "job_status": _job(request, job_id)["status"],
    }


@router.get("/pipeline/jobs/{job_id}/promotion", response_model=Promotion, tags=["review"])
def get_promotion(request: Request, principal: Reader, job_id: int) -> dict[str, Any]:
    """Where the promotion of a job stands, with progress."""
    return _promotion(request, _job(request, job_id))


@router.post(
    "/pipeline/jobs/{job_id}/promotion",
    response_model=Promotion,
    status_code=202,
    responses={409: {"description": "Not promotable now; `detail` says why (the gate's words)."}},
    tags=["review"],
)
def post_promotion(request: Request, principal: Promoter, job_id: int) -> Any:
    """Start promoting the job in the background (a Dagster run of promote_listings for its
    partition); poll GET .../promotion for progress."""
    job = _job(request, job_id)
    runs = request.app.state.launcher
    refusal = launcher.promotion_refusal(engine_of(request), job, runs)
    if refusal is None:
        try:
            launcher.start_promotion(runs, job, principal.username)
        except launcher.Busy as err:
            refusal = str(err)
    if refusal is not None:
        return JSONResponse({"detail": refusal}, status_code=409)
    return _promotion(request, job)


# --- production listings ---------------------------------------------------------------------


@router.get("/pipeline/listings", response_model=PageOut[ListingSummary], tags=["listings"])
def search_listings(
    request: Request,
    principal: Reader,
    q: Annotated[str | None, Query(description="Name: substring or similar words.")] = None,
    city: str | None = None,
    status: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Production listings, best name matches first."""
    return _page(
        queries.search_listings(
            engine_of(request),
            q=q,
            city=city,
            status=status,
            dmo_ids=scope.list_scope(principal),
            limit=limit,
            offset=offset,
        )
    )


_LOCATION_KEYS = ("address1", "address2", "region", "city", "state", "zip", "country", "lat", "lng")


@router.get("/pipeline/listings/{listing_id}", response_model=ListingDetail, tags=["listings"])
def get_listing(request: Request, principal: Reader, listing_id: int) -> dict[str, Any]:
    """A production listing with its location, listing_info per DMO and source ids."""
    engine = engine_of(request)
    listing = queries.get_listing(engine, listing_id)
    if listing is None:
        raise _not_found(f"Listing {listing_id}")
    location = (
        {k: listing[k] for k in ("location_id", *_LOCATION_KEYS)}
        if listing["location_id"]
        else None
    )
    return {
        **listing,
        "location": location,
        "attributes": queries.listing_attributes(engine, listing_id),
        "listing_info": queries.listing_infos(engine, listing_id),
        "sources": queries.listing_sources(engine, listing_id),
    }


# --- configs ---------------------------------------------------------------------------------


def _summary(found: config_files.ConfigFile) -> dict[str, Any]:
    config = found.config
    return {
        "slug": found.slug,
        "valid": found.valid,
        "name": config.name if config else None,
        "dmo_id": config.dmo_id if config else None,
        "source_type": config.source_type if config else None,
        "schedule": config.schedule if config else None,
        "active": config.active if config else None,
        "problems": [vars(p) for p in found.problems],
    }


def _detail(found: config_files.ConfigFile) -> dict[str, Any]:
    return {
        **_summary(found),
        "yaml": found.text,
        "sha256": found.sha256,
        "config": found.config.to_json() if found.config else None,
    }


def _text(body: ConfigIn) -> str:
    if body.yaml is not None:
        return body.yaml
    return yaml.safe_dump(body.config, sort_keys=False, allow_unicode=True)


def _invalid(problems: list[config_files.Problem], status_code: int = 422) -> JSONResponse:
    detail = [ConfigProblem(**vars(p)).model_dump() for p in problems]
    return JSONResponse({"detail": detail}, status_code=status_code)


_CONFIG_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Slug taken, or the file changed since base_sha256."},
    422: {"description": "Invalid config: one problem per key, with its line."},
}


@router.get("/pipeline/configs", response_model=PageOut[ConfigSummary], tags=["configs"])
def list_configs(principal: Reader, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """The config files in LISTINGS_CONFIG_DIR by slug, valid or not."""
    found = scope.visible_configs(principal, config_files.list_configs(get_settings().config_dir))
    shown = found[offset : offset + limit]
    return {
        "items": [_summary(c) for c in shown],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < len(found) else None,
    }


@router.get("/pipeline/configs/{slug}", response_model=ConfigOut, tags=["configs"])
def get_config(principal: Reader, slug: str) -> dict[str, Any]:
    found = config_files.read_config(get_settings().config_dir, slug)
    if found is None:
        raise _not_found(f"Config {slug!r}")
    return _detail(found)


@router.post(
    "/pipeline/configs",
    response_model=ConfigOut,
    status_code=201,
    responses=_CONFIG_ERRORS,
    tags=["configs"],
)
def create_config(principal: Admin, body: ConfigIn) -> Any:
    """Create a config; its file is named after its slug. Nothing is written when invalid."""
    try:
        created = config_files.create_config(
            get_settings().config_dir, _text(body), scope.dmo_allowed(principal, "pipeline:admin")
        )
    except config_files.ConfigNotYours as err:
        raise HTTPException(403, str(err)) from err
    except config_files.ConfigInvalid as err:
        return _invalid(err.problems)
    except config_files.ConfigExists as err:
        return _invalid([config_files.Problem("slug", str(err))], 409)
    return _detail(created)


@router.put(
    "/pipeline/configs/{slug}", response_model=ConfigOut, responses=_CONFIG_ERRORS, tags=["configs"]
)
def update_config(principal: Admin, slug: str, body: ConfigIn) -> Any:
    """Replace a config (the slug cannot change). Nothing is written when invalid."""
    config_dir = get_settings().config_dir
    if config_files.read_config(config_dir, slug) is None:
        raise _not_found(f"Config {slug!r}")
    try:
        updated = config_files.update_config(
            config_dir,
            slug,
            _text(body),
            body.base_sha256,
            scope.dmo_allowed(principal, "pipeline:admin"),
        )
    except config_files.ConfigNotYours as err:
        raise HTTPException(403, str(err)) from err
    except config_files.ConfigInvalid as err:
        return _invalid(err.problems)
    except config_files.ConfigChanged as err:
        return _invalid([config_files.Problem("", str(err))], 409)
    return _detail(updated)


@router.delete(
    "/pipeline/configs/{slug}", status_code=204, responses=_CONFIG_ERRORS, tags=["configs"]
)
def delete_config(principal: Admin, slug: str, base_sha256: str | None = None) -> Response:
    """Delete a config file (its jobs and stage rows stay)."""
    config_dir = get_settings().config_dir
    if config_files.read_config(config_dir, slug) is None:
        raise _not_found(f"Config {slug!r}")
    try:
        config_files.delete_config(config_dir, slug, base_sha256)
    except config_files.ConfigChanged as err:
        return _invalid([config_files.Problem("", str(err))], 409)
    return Response(status_code=204)


schema_router = APIRouter()


@schema_router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, principal: Reader) -> dict[str, Any]:
    return request.app.openapi()


def document_permissions(router: APIRouter) -> None:
    """Say in each operation's OpenAPI description which permission it needs."""
    for route in router.routes:
        access = access_of(route)
        if isinstance(route, APIRoute) and access is not None:
            need = f"`{access.permission}`" if access.permission else "a signed-in user"
            route.description = f"{route.description}\n\nRequires: {need}.".strip()


document_permissions(router)
