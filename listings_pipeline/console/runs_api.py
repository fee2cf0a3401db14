"""Runs through the JSON API (issue 20 item 4, seed 001 "queue endpoints"): start a run of a
source config (with an uploaded file for a file source), follow its progress and result, and
list the jobs that wait for review.

A run started here is the console's *Run now*: the same upload checks (`launcher.save_upload`:
the config's file types, 512 MB, into the console's upload store, which is one of the input
roots a config may read) and the same `launcher.start_run`, which hands it to
`orchestration.runner`, the one way the CLI, the console and Dagster's own UI start runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from listings_pipeline.console import config_files, launcher, queries, review, scope
from listings_pipeline.console.api import document_permissions
from listings_pipeline.console.schemas import Job, Model
from listings_pipeline.console.security import ADMIN, READ, engine_of
from listings_pipeline.console.users import Principal
from listings_pipeline.settings import get_settings

router = APIRouter(prefix="/api/v1/pipeline", tags=["runs"])
Reader = Annotated[Principal, Depends(READ)]
Admin = Annotated[Principal, Depends(ADMIN)]
# Multipart framing around the file: a request larger than this cannot hold an allowed upload.
_FRAMING_BYTES = 1 << 20


class RunOut(Model):
    slug: str
    state: str = Field(
        description="running; or, once the run ended: promoted, waiting_for_review, failed."
    )
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    input_name: str | None = Field(description="The uploaded file's name (file sources).")
    dagster_run_id: str | None
    run_succeeded: bool | None
    run_failures: list[str]
    gate: str | None = Field(description="The review gate's own words, once the run ended.")
    job: Job | None = Field(
        description="The config's newest job: its stage, status and record counts are the"
        " run's progress."
    )


class WaitingJob(Model):
    id: int
    slug: str | None
    dmo_id: int
    dmo_name: str | None
    status: str | None
    records_total: int | None
    started_at: datetime | None
    pending: int = Field(description="Stage rows waiting for a person.")
    holds: int = Field(description="Pending holds (source change, mass change, quality).")


class WaitingJobs(Model):
    items: list[WaitingJob]
    limit: int
    offset: int
    next_offset: int | None


def _state(task: launcher.Task) -> str:
    if task.running:
        return "running"
    if task.stopped_at_review:
        return "waiting_for_review"
    return "promoted" if task.success else "failed"


def _run_out(request: Request, task: launcher.Task) -> dict[str, Any]:
    newest = queries.list_jobs(engine_of(request), slug=task.slug, limit=1).items
    return {
        "slug": task.slug,
        "state": _state(task),
        "started_by": task.started_by,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "input_name": task.input_name,
        "dagster_run_id": task.run_id,
        "run_succeeded": task.success,
        "run_failures": task.failures + ([task.error] if task.error else []),
        "gate": task.gate.get("description") if task.gate else None,
        "job": newest[0] if newest else None,
    }


_RUN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The upload was refused (type, size, empty) or is missing."},
    404: {"description": "No such config (or not one of your DMOs')."},
    409: {"description": "The config is invalid, or a run or promotion of it is in progress."},
    413: {"description": "The request is larger than the upload limit."},
}


@router.post(
    "/configs/{slug}/runs",
    status_code=202,
    response_model=RunOut,
    responses=_RUN_ERRORS,
)
async def start_run(request: Request, principal: Admin, slug: str) -> Any:
    """Start a run of the config: import, transform, the review gate, and promotion when
    nothing waits for a person. A file source takes the file as multipart field `input_file`
    (the config's format by extension, at most 512 MB); other sources take no body. Follow it
    with `GET .../runs/latest`."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > launcher.MAX_UPLOAD_BYTES + _FRAMING_BYTES:
        raise HTTPException(413, f"The upload limit is {launcher.upload_limit()}.")
    upload = None
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        field = form.get("input_file")
        upload = field if isinstance(field, UploadFile) and field.filename else None
    return await run_in_threadpool(_start, request, principal, slug, upload)


def _start(request: Request, principal: Principal, slug: str, upload: UploadFile | None) -> Any:
    found = config_files.read_config(get_settings().config_dir, slug)
    if found is None:
        raise HTTPException(404, f"Config {slug!r} does not exist.")
    config = found.config
    if config is None:
        raise HTTPException(409, f"{slug} is not a valid config; fix it before running it.")
    try:
        saved = launcher.run_input(
            config,
            (upload.filename or "", upload.file) if upload else None,
            how_to_send="send one as input_file",
        )
    except launcher.UploadRejected as err:
        raise HTTPException(400, str(err)) from err
    try:
        task = launcher.start_run(
            request.app.state.launcher, engine_of(request), slug, principal.username, saved
        )
    except launcher.Busy as err:
        return JSONResponse({"detail": str(err)}, status_code=409)
    return _run_out(request, task)


@router.get("/configs/{slug}/runs/latest", response_model=RunOut, responses=_RUN_ERRORS)
def latest_run(request: Request, principal: Reader, slug: str) -> dict[str, Any]:
    """The last run of the config started through this console (API or page): running or
    its result, with the config's newest job as its progress."""
    task = request.app.state.launcher.last(slug)
    if task is None or task.kind != "run":
        raise HTTPException(404, f"No run of {slug} was started through this console.")
    return _run_out(request, task)


@router.get("/review/jobs", response_model=WaitingJobs)
def waiting_for_review(
    request: Request,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=review.PAGE_SIZE)] = review.PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Jobs stopped at the review gate (of your DMOs), newest first, with what waits."""
    jobs, has_next = review.waiting_jobs(
        engine_of(request), limit, offset, scope.list_scope(principal)
    )
    return {
        "items": jobs,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if has_next else None,
    }


document_permissions(router)
