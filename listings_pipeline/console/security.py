"""Who may call what: every route declares one `Access` dependency, checked on the server.

* Browser: an opaque session token in an HttpOnly, SameSite=Lax cookie; every unsafe request
  must echo the session's CSRF token (form field `csrf_token`, or header X-CSRF-Token for
  JSON calls made from a page).
* Scripts: `Authorization: Bearer <api token>` on /api/ paths; no cookie, so no CSRF.
* Anonymous: pages redirect to /login, the API answers 401. Missing permission: 403 before
  the route's code runs, so a refused request changes nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from listings_pipeline.console import scope
from listings_pipeline.console.users import Principal, api_token_principal, session_principal

SESSION_COOKIE = "lp_session"
LOGIN_CSRF_COOKIE = "lp_login_csrf"
DEVICE_COOKIE = "lp_device"  # a browser this user logged in from before (login throttling)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/"


# Declared on every route so /openapi.json documents both ways in; the lookup reads them below.
_BEARER = HTTPBearer(
    auto_error=False,
    description="API token from `listings-pipeline users token USER --name N`",
)
_COOKIE = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="Console session; unsafe methods also"
    f" need the {CSRF_HEADER} header (GET /api/v1/me gives the token).",
)


class LoginRequired(Exception):
    """No valid session or token: handled as a redirect to /login (pages) or 401 (API)."""


def is_api(request: Request) -> bool:
    """JSON endpoints: they answer 401/403 in JSON and accept bearer tokens."""
    path = request.url.path
    return path.startswith(API_PREFIX) or path == "/openapi.json"


def engine_of(request: Request) -> Engine:
    factory: Callable[[], Engine] = request.app.state.engine
    return factory()


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _lookup(request: Request) -> Principal | None:
    engine = engine_of(request)
    auth = request.headers.get("authorization", "")
    if is_api(request) and auth[:7].lower() == "bearer ":
        return api_token_principal(engine, auth[7:].strip())
    token = request.cookies.get(SESSION_COOKIE)
    return session_principal(engine, token) if token else None


async def principal_of(request: Request) -> Principal | None:
    """The caller, looked up once per request (None when anonymous)."""
    if not hasattr(request.state, "principal"):
        request.state.principal = await run_in_threadpool(_lookup, request)
    return request.state.principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method in SAFE_METHODS or principal.csrf_token is None:
        return  # safe method, or a bearer token (no ambient credential to forge)
    if is_api(request):
        given = request.headers.get(CSRF_HEADER)
    else:
        form = await request.form()  # cached by Starlette: the route still sees its fields
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(principal.csrf_token, given):
        raise HTTPException(403, "The form was stale or did not come from this site (CSRF).")


class Access:
    """A route's access rule: signed in, plus `permission` when given.

    Used as `Depends(Access("pipeline:read"))`; tests find it on every route to prove the rule.
    """

    def __init__(self, permission: str | None) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"Access({self.permission!r})"

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
        _cookie: Annotated[str | None, Security(_COOKIE)],
    ) -> Principal:
        principal = await principal_of(request)
        if principal is None:
            raise LoginRequired()
        if self.permission is not None and not principal.can(self.permission):
            raise HTTPException(403, f"This needs the permission {self.permission}.")
        await _check_csrf(request, principal)
        if self.permission is not None:
            await run_in_threadpool(
                scope.check_request,
                engine_of(request),
                principal,
                self.permission,
                request.path_params,
                request.query_params,
            )
        return principal


SIGNED_IN = Access(None)
READ = Access("pipeline:read")
REVIEW = Access("pipeline:review")
PROMOTE = Access("pipeline:promote")
ADMIN = Access("pipeline:admin")
ACCOUNTS_ADMIN = Access("accounts:admin")


def routes_of(app: Any) -> list[Any]:
    """Every route of the app, included routers flattened (FastAPI keeps them nested)."""
    from fastapi.routing import iter_route_contexts

    return list(iter_route_contexts(app.routes))


def access_of(route: Any) -> Access | None:
    """The Access rule a FastAPI route declares (None for public routes)."""
    route = getattr(route, "original_route", route)
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Access):
            return dep.call
        stack.extend(dep.dependencies)
    return None
