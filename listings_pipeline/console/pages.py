"""Server-rendered pages: login/logout, configs, jobs and listings (Pipeline section).

Each route declares its `Access` dependency; nothing below runs for a caller without it.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from listings_pipeline.console import config_files, launcher, passwords, queries, scope
from listings_pipeline.console.rendering import render
from listings_pipeline.console.security import (
    ADMIN,
    DEVICE_COOKIE,
    LOGIN_CSRF_COOKIE,
    READ,
    SESSION_COOKIE,
    SIGNED_IN,
    engine_of,
    principal_of,
    tokens_match,
)
from listings_pipeline.console.users import (
    DEVICE_TTL_DAYS,
    SESSION_TTL_SECONDS,
    LoginThrottled,
    Principal,
    create_session,
    end_session,
    remember_device,
)
from listings_pipeline.console.users import login as throttled_login
from listings_pipeline.review.quality import QualityDistribution, quality_distribution
from listings_pipeline.settings import get_console_settings, get_settings

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Reader = Annotated[Principal, Depends(READ)]
Admin = Annotated[Principal, Depends(ADMIN)]


def _blank_none(value: str | None) -> str | None:
    value = value.strip() if value else None
    return value or None


def _int_or_none(name: str, value: str | None) -> int | None:
    value = _blank_none(value)
    if value is None:
        return None
    if not value.isdigit():
        raise HTTPException(400, f"{name} must be a whole number, not {value!r}")
    return int(value)


def _offset(page: int) -> int:
    if page < 1:
        raise HTTPException(400, "page must be 1 or more")
    return (page - 1) * PAGE_SIZE


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//host" and "/\\host" would leave it (open redirect).
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def cookie_secure(request: Request) -> bool:
    # Behind a TLS proxy the request may reach us as plain http: the setting says what the
    # browser sees (LISTINGS_CONSOLE_PUBLIC_URL=https://...).
    return get_console_settings().https or request.url.scheme == "https"


# --- sign in / out ---------------------------------------------------------------------------


@router.get("/login", name="login_form")
async def login_form(request: Request, next: str = "/") -> Response:
    if await principal_of(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next, error=None)


def _login_page(request: Request, next: str, error: str | None, status_code: int = 200) -> Response:
    # Login CSRF (double submit): the form must carry the value of our own SameSite cookie.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        status_code,
        next=_safe_next(next),
        login_csrf=token,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    return response


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        raise HTTPException(403, "The login form was stale or did not come from this site.")
    engine = engine_of(request)
    address = request.client.host if request.client else None
    device = request.cookies.get(DEVICE_COOKIE)
    try:
        user_id = throttled_login(engine, username, password, address, device)
    except LoginThrottled as err:
        message = (
            "Too many failed logins for this account or from this address."
            f" Try again in {_wait_text(err.retry_after)}."
        )
        response = _login_page(request, next, message, status_code=429)
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    except passwords.HashingBusy:
        response = _login_page(request, next, "Too many logins at once. Try again.", 503)
        response.headers["Retry-After"] = "5"
        return response
    if user_id is None:
        return _login_page(request, next, "Invalid username or password.")
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(engine, old)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        create_session(engine, user_id),
        max_age=SESSION_TTL_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    response.set_cookie(
        DEVICE_COOKIE,
        remember_device(engine, user_id, device),
        max_age=DEVICE_TTL_DAYS * 86400,
        path="/login",  # sent only to the login form
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    return response


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{(seconds + 59) // 60} minutes"


@router.post("/logout")
def logout(request: Request, principal: Annotated[Principal, Depends(SIGNED_IN)]) -> Response:
    end_session(engine_of(request), request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, principal: Annotated[Principal, Depends(SIGNED_IN)]) -> Response:
    if principal.can("pipeline:read"):
        return RedirectResponse("/pipeline/jobs", status_code=303)
    return render(request, "home.html", principal)


@router.get("/pipeline")
def pipeline_home(principal: Reader) -> Response:
    return RedirectResponse("/pipeline/jobs", status_code=303)


# --- jobs ------------------------------------------------------------------------------------


@router.get("/pipeline/jobs")
def jobs_page(
    request: Request,
    principal: Reader,
    slug: str | None = None,
    status: str | None = None,
    dmo_id: str | None = None,
    page: int = 1,
) -> Response:
    filters = {
        "slug": _blank_none(slug),
        "status": _blank_none(status),
        "dmo_id": _int_or_none("dmo_id", dmo_id),
    }
    result = queries.list_jobs(
        engine_of(request),
        **filters,
        dmo_ids=scope.list_scope(principal),
        limit=PAGE_SIZE,
        offset=_offset(page),
    )
    return render(
        request,
        "jobs.html",
        principal,
        jobs=result,
        page=page,
        filters=filters,
        statuses=queries.JOB_STATUSES,
    )


def launcher_of(request: Request) -> launcher.Launcher:
    return request.app.state.launcher


def job_activity(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    """What job and review pages show about promotion: the gate, progress, the console's task."""
    status = launcher.promotion_status(engine_of(request), job, launcher_of(request))
    task = status["task"]
    return {
        **status,
        "promoting": status["state"] == "running",
        "refusal": status["detail"],
        "promotable_status": status["state"] in ("ready", "waiting_for_review"),
        "refresh": status["state"] == "running" or bool(task and task.running),
    }


def job_or_404(request: Request, job_id: int) -> dict[str, Any]:
    job = queries.get_job(engine_of(request), job_id)
    if job is None:
        raise HTTPException(404, f"Job {job_id} does not exist.")
    return job


@router.get("/pipeline/jobs/{job_id}")
def job_page(
    request: Request,
    principal: Reader,
    job_id: int,
    error_type: str | None = None,
    errors_page: int = 1,
) -> Response:
    job = job_or_404(request, job_id)
    return render_job(request, principal, job, error_type=error_type, errors_page=errors_page)


def job_quality(engine: Engine, job_id: int) -> QualityDistribution:
    with engine.connect() as conn:
        return quality_distribution(conn, job_id)


def render_job(
    request: Request,
    principal: Principal,
    job: dict[str, Any],
    *,
    error_type: str | None = None,
    errors_page: int = 1,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    """The job page; `refusal` says why a Promote press was refused."""
    engine = engine_of(request)
    job_id = job["id"]
    error_type = _blank_none(error_type)
    return render(
        request,
        "job.html",
        principal,
        status_code,
        job=job,
        stages=queries.job_stages(engine, job_id),
        files=queries.list_files(engine, job_id=job_id, limit=queries.MAX_LIMIT),
        action_counts=queries.job_action_counts(engine, job_id),
        actions=queries.ACTIONS,
        error_types=queries.job_error_types(engine, job_id),
        error_type=error_type,
        errors=queries.job_errors(
            engine,
            job_id,
            error_type=error_type,
            limit=PAGE_SIZE,
            offset=_offset(errors_page),
        ),
        errors_page=errors_page,
        activity=job_activity(request, job),
        refusal=refusal,
        quality=job_quality(engine, job_id),
    )


@router.get("/pipeline/jobs/{job_id}/rows")
def job_rows_page(
    request: Request,
    principal: Reader,
    job_id: int,
    listing_action: str | None = None,
    review_status: str | None = None,
    source_id: str | None = None,
    name: str | None = None,
    page: int = 1,
) -> Response:
    job = job_or_404(request, job_id)
    filters = {
        "listing_action": _blank_none(listing_action),
        "review_status": _blank_none(review_status),
        "source_id": _blank_none(source_id),
        "name": _blank_none(name),
    }
    rows = queries.stage_rows(
        engine_of(request), job_id, **filters, limit=PAGE_SIZE, offset=_offset(page)
    )
    return render(
        request,
        "job_rows.html",
        principal,
        job=job,
        rows=rows,
        page=page,
        filters=filters,
        actions=queries.ACTIONS,
        review_statuses=queries.REVIEW_STATUSES,
    )


# --- configs ---------------------------------------------------------------------------------

NEW_CONFIG_TEMPLATE = """\
slug: my-source
dmo_id: 1
dmo_name: My DMO
name: My source
source_type: csv
# schedule: "0 3 * * *"
transform:
  map_fields:
    listings.name: Name
    locations.address1: Address1
    locations.city: City
    listing_info.description: Description
"""


def _config_dir() -> Path:
    return get_settings().config_dir


def _config_or_404(slug: str) -> config_files.ConfigFile:
    found = config_files.read_config(_config_dir(), slug)
    if found is None:
        raise HTTPException(404, f"Config {slug!r} does not exist.")
    return found


@router.get("/pipeline/configs")
def configs_page(
    request: Request,
    principal: Reader,
    q: str | None = None,
    source_type: str | None = None,
    page: int = 1,
) -> Response:
    needle = (_blank_none(q) or "").lower()
    source_type = _blank_none(source_type)
    found = [
        c
        for c in scope.visible_configs(principal, config_files.list_configs(_config_dir()))
        if (not needle or needle in c.slug or (c.config and needle in c.config.name.lower()))
        and (source_type is None or (c.config and c.config.source_type == source_type))
    ]
    offset = _offset(page)
    shown = found[offset : offset + PAGE_SIZE]
    last_jobs = queries.last_job_by_slug(engine_of(request), [c.slug for c in shown])
    return render(
        request,
        "configs.html",
        principal,
        configs=shown,
        last_jobs=last_jobs,
        total=len(found),
        page=page,
        has_next=offset + PAGE_SIZE < len(found),
        q=needle,
        source_type=source_type,
        config_dir=_config_dir(),
        source_types=("csv", "json", "jsonl", "xlsx", "api", "wordpress", "website"),
    )


@router.get("/pipeline/configs/_new")
def config_new_page(request: Request, principal: Admin) -> Response:
    return render(
        request, "config_form.html", principal, mode="new", text=NEW_CONFIG_TEMPLATE, problems=[]
    )


@router.post("/pipeline/configs/_new")
def config_create(
    request: Request, principal: Admin, yaml_text: Annotated[str, Form()] = ""
) -> Response:
    try:
        created = config_files.create_config(
            _config_dir(), yaml_text, scope.dmo_allowed(principal, "pipeline:admin")
        )
    except config_files.ConfigNotYours as err:
        raise HTTPException(403, str(err)) from err
    except config_files.ConfigInvalid as err:
        return render(
            request,
            "config_form.html",
            principal,
            422,
            mode="new",
            text=yaml_text,
            problems=err.problems,
        )
    except config_files.ConfigExists as err:
        problem = config_files.Problem("slug", str(err), None)
        return render(
            request,
            "config_form.html",
            principal,
            409,
            mode="new",
            text=yaml_text,
            problems=[problem],
        )
    return RedirectResponse(f"/pipeline/configs/{created.slug}?saved=1", status_code=303)


@router.get("/pipeline/configs/{slug}")
def config_page(
    request: Request,
    principal: Reader,
    slug: str,
    saved: bool = False,
    cancelled: str = "",
    runs: int = 0,
) -> Response:
    found = _config_or_404(slug)
    cancelled_jobs = [int(i) for i in cancelled.split(",") if i.isdigit()][:50]
    return render_config(
        request,
        principal,
        found,
        saved=saved,
        cancelled_jobs=cancelled_jobs,
        cancelled_runs=runs,
    )


def render_config(
    request: Request,
    principal: Principal,
    found: config_files.ConfigFile,
    *,
    saved: bool = False,
    cancelled_jobs: list[int] | None = None,
    cancelled_runs: int = 0,
    run_error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The config page; `run_error` says why a "Run now" was refused."""
    engine = engine_of(request)
    config = found.config
    task = launcher_of(request).last(found.slug)
    return render(
        request,
        "config.html",
        principal,
        status_code,
        cfg=found,
        saved=saved,
        cancelled_jobs=cancelled_jobs or [],
        cancelled_runs=cancelled_runs,
        jobs=queries.list_jobs(engine, slug=found.slug, limit=10),
        active_jobs=queries.active_jobs_for_slug(engine, found.slug),
        task=task,
        run_error=run_error,
        file_source=bool(config and launcher.is_file_source(config)),
        upload_extensions=launcher.UPLOAD_EXTENSIONS[launcher.upload_format(config)]
        if config and launcher.is_file_source(config)
        else (),
        upload_limit=launcher.upload_limit(),
        refresh=bool(task and task.running),
    )


@router.get("/pipeline/configs/{slug}/edit")
def config_edit_page(request: Request, principal: Admin, slug: str) -> Response:
    found = _config_or_404(slug)
    return render(
        request,
        "config_form.html",
        principal,
        mode="edit",
        cfg=found,
        text=found.text,
        base_sha256=found.sha256,
        problems=found.problems,
        active_jobs=queries.active_jobs_for_slug(engine_of(request), slug),
    )


@router.post("/pipeline/configs/{slug}/edit")
def config_update(
    request: Request,
    principal: Admin,
    slug: str,
    yaml_text: Annotated[str, Form()] = "",
    base_sha256: Annotated[str, Form()] = "",
    on_active: Annotated[str, Form()] = "",
    seen_jobs: Annotated[str, Form()] = "",
    seen_runs: Annotated[str, Form()] = "",
) -> Response:
    """Save an edited config. When jobs or Dagster runs of the old version are unfinished,
    first ask (seed 000 "Job Scheduling"): keep them, or cancel them along with the save."""
    found = _config_or_404(slug)
    engine = engine_of(request)

    def form_again(problems: list[config_files.Problem], status_code: int) -> Response:
        return render(
            request,
            "config_form.html",
            principal,
            status_code,
            mode="edit",
            cfg=found,
            text=yaml_text,
            base_sha256=base_sha256,
            problems=problems,
            active_jobs=queries.active_jobs_for_slug(engine, slug),
        )

    if on_active == "back":
        return form_again([], 200)
    if on_active not in ("", "keep", "cancel"):
        raise HTTPException(400, "on_active must be keep or cancel")
    allowed = scope.dmo_allowed(principal, "pipeline:admin")
    try:
        config_files.validate(_config_dir(), config_files.clean_text(yaml_text), slug, allowed)
    except config_files.ConfigNotYours as err:
        raise HTTPException(403, str(err)) from err
    except config_files.ConfigInvalid as err:
        return form_again(err.problems, 422)
    if not on_active and config_files.clean_text(yaml_text) != found.text:
        active_jobs = queries.active_jobs_for_slug(engine, slug)
        runs = launcher.partition_runs(slug)
        if active_jobs or runs:
            return render(
                request,
                "config_confirm.html",
                principal,
                cfg=found,
                text=yaml_text,
                base_sha256=base_sha256,
                active_jobs=active_jobs,
                runs=runs,
            )
    try:
        config_files.update_config(_config_dir(), slug, yaml_text, base_sha256 or None, allowed)
    except config_files.ConfigNotYours as err:
        raise HTTPException(403, str(err)) from err
    except (config_files.ConfigInvalid, config_files.ConfigChanged) as err:
        invalid = isinstance(err, config_files.ConfigInvalid)
        problems = err.problems if invalid else [config_files.Problem("", str(err))]
        return form_again(problems, 422 if invalid else 409)
    target = {"saved": "1"}
    if on_active == "cancel":
        message = f"cancelled by {principal.username}: config {slug} changed"
        job_ids = [int(i) for i in seen_jobs.split(",") if i.strip().isdigit()]
        run_ids = [r for r in seen_runs.split(",") if _RUN_ID.match(r)]
        cancelled = launcher.cancel_jobs(engine, slug, job_ids, message)
        runs_cancelled = launcher.cancel_waiting_runs(slug, run_ids, message)
        target.update(cancelled=",".join(map(str, cancelled)), runs=str(len(runs_cancelled)))
    return RedirectResponse(f"/pipeline/configs/{slug}?{urlencode(target)}", status_code=303)


@router.get("/pipeline/configs/{slug}/delete")
def config_delete_page(request: Request, principal: Admin, slug: str) -> Response:
    found = _config_or_404(slug)
    return render(
        request,
        "config_delete.html",
        principal,
        cfg=found,
        error=None,
        active_jobs=queries.active_jobs_for_slug(engine_of(request), slug),
    )


@router.post("/pipeline/configs/{slug}/delete")
def config_delete(
    request: Request,
    principal: Admin,
    slug: str,
    base_sha256: Annotated[str, Form()] = "",
) -> Response:
    found = _config_or_404(slug)
    try:
        config_files.delete_config(_config_dir(), slug, base_sha256 or None)
    except config_files.ConfigChanged as err:
        return render(
            request,
            "config_delete.html",
            principal,
            409,
            cfg=found,
            error=str(err),
            active_jobs=queries.active_jobs_for_slug(engine_of(request), slug),
        )
    return RedirectResponse("/pipeline/configs", status_code=303)


# --- production listings ---------------------------------------------------------------------


@router.get("/pipeline/listings")
def listings_page(
    request: Request,
    principal: Reader,
    q: str | None = None,
    city: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> Response:
    filters = {"q": _blank_none(q), "city": _blank_none(city), "status": _blank_none(status)}
    result = queries.search_listings(
        engine_of(request),
        **filters,
        dmo_ids=scope.list_scope(principal),
        limit=PAGE_SIZE,
        offset=_offset(page),
    )
    return render(request, "listings.html", principal, listings=result, page=page, filters=filters)


@router.get("/pipeline/listings/{listing_id}")
def listing_page(request: Request, principal: Reader, listing_id: int) -> Response:
    engine = engine_of(request)
    listing = queries.get_listing(engine, listing_id)
    if listing is None:
        raise HTTPException(404, f"Listing {listing_id} does not exist.")
    return render(
        request,
        "listing.html",
        principal,
        listing=listing,
        infos=queries.listing_infos(engine, listing_id),
        sources=queries.listing_sources(engine, listing_id),
        attributes=queries.listing_attributes(engine, listing_id),
        stage_rows=queries.listing_stage_rows(engine, listing_id),
    )
