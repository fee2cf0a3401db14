"""The console application: FastAPI app factory, templates, error pages and `serve`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from listings_pipeline.console import launcher, security
from listings_pipeline.console.rendering import render
from listings_pipeline.db import get_engine
from listings_pipeline.settings import get_console_settings

HERE = Path(__file__).parent
log = logging.getLogger(__name__)

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
_HSTS = ("Strict-Transport-Security", "max-age=31536000")  # only when served over HTTPS


class _SecurityHeaders:
    """Adds the security headers to every response, set outside all of the app's own layers
    (see ConsoleApp) so that errors, 404s, 405s and 500s carry them too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = dict(_SECURITY_HEADERS)
        if get_console_settings().https:
            wanted[_HSTS[0]] = _HSTS[1]
        extra = [(k.lower().encode(), v.encode()) for k, v in wanted.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(k, v) for k, v in extra if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConsoleApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, which answers 500s past all middleware.
        return _SecurityHeaders(super().build_middleware_stack())


def _malformed_url(scope: Scope) -> str | None:
    """Why the path or query cannot be valid input (NUL bytes, not UTF-8), else None.

    PostgreSQL refuses NUL in text, and invalid UTF-8 is never a real name or id: both are
    answered 400 here, once, instead of failing in whichever query meets them first.
    """
    raw_path = scope.get("raw_path") or scope["path"].encode()
    for part, label in ((raw_path, "path"), (scope.get("query_string", b""), "query")):
        decoded = unquote_to_bytes(part.replace(b"+", b" "))
        if b"\x00" in decoded:
            return f"the {label} contains a NUL byte"
        try:
            decoded.decode("utf-8")
        except UnicodeDecodeError:
            return f"the {label} is not valid UTF-8"
    return None


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


async def _data_error(request: Request, exc: DataError) -> Response:
    # SQLSTATE class 22: a value PostgreSQL cannot take (an integer out of range, NUL in a
    # form field): the request's fault, so 400 with the database's reason, never a 500.
    log.warning("%s %s: invalid value: %s", request.method, request.url.path, exc.orig)
    diag = getattr(exc.orig, "diag", None)
    reason = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
    return _error(request, 400, f"Invalid request: {reason}")


async def _server_error(request: Request, exc: Exception) -> Response:
    # Logged with its traceback by the server; the caller sees no internals.
    return _error(request, 500, "Something went wrong on the server. It has been logged.")


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    if security.is_api(request):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
    )
    return _error(request, 400, f"Invalid request: {problems}")


def create_app(engine_factory: Callable[[], Engine] = get_engine) -> FastAPI:
    """The console. `engine_factory` is called once, on the first request that needs it."""
    get_console_settings()  # a malformed LISTINGS_LOGIN_* or similar fails here, not per request
    from listings_pipeline.console import (
        account_pages,
        api,
        catalogue_api,
        claims,
        pages,
        passwords,
        review_pages,
        runs_api,
    )

    passwords.warm_up()  # the first login for an unknown name takes as long as the others

    app = ConsoleApp(
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
    app.add_exception_handler(DataError, _data_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)

    @app.middleware("http")
    async def _url_check(request: Request, call_next: Callable[..., Any]) -> Response:
        problem = _malformed_url(request.scope)
        if problem is not None:
            return _error(request, 400, f"Invalid request: {problem}.")
        return await call_next(request)

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
    app.include_router(account_pages.router)
    app.include_router(api.router)
    app.include_router(claims.api_router)
    app.include_router(runs_api.router)
    app.include_router(catalogue_api.router)
    app.include_router(api.schema_router)
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the console with uvicorn (behind a TLS proxy for anything but localhost)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, proxy_headers=True)
