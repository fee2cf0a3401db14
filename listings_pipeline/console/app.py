"""The console application: FastAPI app factory, templates, error pages and `serve`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from listings_pipeline.console import launcher, security
from listings_pipeline.console.rendering import render
from listings_pipeline.db import get_engine

HERE = Path(__file__).parent

# Strict: the pages need no inline script or style, and nothing from other origins.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class _LazyEngine:
    """The engine, created on first use (get_engine may start the embedded server)."""

    def __init__(self, factory: Callable[[], Engine]) -> None:
        self._factory = factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._factory()
        return self._engine


def _error(request: Request, status_code: int, message: str) -> Response:
    if security.is_api(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    principal = getattr(request.state, "principal", None)
    return render(
        request, "error.html", principal, status_code, status=status_code, message=message
    )


_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields beside the file
_MESSAGES = {404: "Not found.", 405: "Method not allowed."}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code in _MESSAGES and exc.detail in ("Not Found", "Method Not Allowed"):
        message = _MESSAGES[exc.status_code]
    else:
        message = str(exc.detail)
    if not hasattr(request.state, "principal"):
        await security.principal_of(request)  # for the sidebar of pages the router 404s
    response = _error(request, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _login_required(request: Request, exc: security.LoginRequired) -> Response:
    if security.is_api(request):
        return JSONResponse(
            {"detail": "Authentication required."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="listings-pipeline"'},
        )
    target = "/login"
    if request.method in security.SAFE_METHODS:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?" + urlencode({"next": path})
    return RedirectResponse(target, status_code=303)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    if security.is_api(request):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
    )
    return _error(request, 400, f"Invalid request: {problems}")


def create_app(engine_factory: Callable[[], Engine] = get_engine) -> FastAPI:
    """The console. `engine_factory` is called once, on the first request that needs it."""
    from listings_pipeline.console import api, catalogue_api, claims, pages, review_pages

    app = FastAPI(
        title="Listings pipeline console",
        version="1",
        description=(
            "Configs, jobs, files, errors, staged rows and production listings of the listings"
            " pipeline. Authenticate with `Authorization: Bearer <token>` (create one with"
            " `listings-pipeline users token USER --name WHAT`) or with the"
            " console session cookie plus the `X-CSRF-Token` header on unsafe requests."
        ),
        # The schema is served by a route that checks pipeline:read; Swagger UI and ReDoc
        # load scripts from a CDN, which the console's CSP forbids.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = _LazyEngine(engine_factory)
    app.state.launcher = launcher.Launcher()
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(security.LoginRequired, _login_required)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.middleware("http")
    async def _upload_limit(request: Request, call_next: Callable[..., Any]) -> Response:
        # Refuse an oversized upload before its body is read and spooled to disk.
        if request.method == "POST" and request.url.path.endswith("/run"):
            length = request.headers.get("content-length", "")
            if not length.isdigit():
                return _error(request, 411, "An upload must say its size (Content-Length).")
            if int(length) > launcher.MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
                return _error(request, 413, f"Uploads are limited to {launcher.upload_limit()}.")
        return await call_next(request)

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(review_pages.router)
    app.include_router(claims.router)
    app.include_router(api.router)
    app.include_router(claims.api_router)
    app.include_router(catalogue_api.router)
    app.include_router(api.schema_router)
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the console with uvicorn (behind a TLS proxy for anything but localhost)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, proxy_headers=True)
