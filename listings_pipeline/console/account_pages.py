"""Account pages: each user's own API tokens (create, see, revoke), and every user's tokens for
holders of accounts:admin. A token's secret is shown once, on the page that created it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from listings_pipeline.console.rendering import render
from listings_pipeline.console.security import ACCOUNTS_ADMIN, SIGNED_IN, engine_of
from listings_pipeline.console.users import (
    MAX_TOKEN_DAYS,
    AccountError,
    Principal,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from listings_pipeline.settings import get_console_settings

router = APIRouter(include_in_schema=False)
OWN = "/account/tokens"
ALL = "/admin/tokens"

SignedIn = Annotated[Principal, Depends(SIGNED_IN)]


def _page(
    request: Request,
    principal: Principal,
    *,
    everyone: bool,
    status_code: int = 200,
    created: str | None = None,
    error: str | None = None,
) -> Response:
    engine = engine_of(request)
    tokens = list_api_tokens(engine, None if everyone else principal.username)
    return render(
        request,
        "account_tokens.html",
        principal,
        status_code,
        tokens=tokens,
        everyone=everyone,
        created=created,
        error=error,
        default_days=get_console_settings().api_token_days,
        max_days=MAX_TOKEN_DAYS,
    )


@router.get(OWN)
def own_tokens(request: Request, principal: SignedIn) -> Response:
    return _page(request, principal, everyone=False)


@router.get(ALL)
def all_tokens(
    request: Request, principal: Annotated[Principal, Depends(ACCOUNTS_ADMIN)]
) -> Response:
    return _page(request, principal, everyone=True)


@router.post(OWN)
def create_token(
    request: Request,
    principal: SignedIn,
    name: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A token acting as the signed-in user, with the user's own permissions."""
    try:
        ttl = int(days) if days.strip() else None
        token = create_api_token(engine_of(request), principal.username, name, ttl)
    except ValueError as err:  # AccountError, or days not a number
        message = str(err) if isinstance(err, AccountError) else "days must be a whole number"
        return _page(request, principal, everyone=False, status_code=400, error=message)
    return _page(request, principal, everyone=False, created=token)


@router.post(f"{OWN}/revoke")
def revoke_token(
    request: Request,
    principal: SignedIn,
    token_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    back: Annotated[str, Form()] = OWN,
) -> Response:
    """Revoke one of your tokens; holders of accounts:admin may revoke anyone's."""
    owner = None if principal.can("accounts:admin") else principal.username
    try:
        revoke_api_token(engine_of(request), token_id, owner)
    except AccountError as err:
        raise HTTPException(404, f"No such API token: {err}.") from err
    return RedirectResponse(ALL if back == ALL and owner is None else OWN, status_code=303)
