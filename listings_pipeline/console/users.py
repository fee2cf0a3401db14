"""Console accounts: users, roles, permissions, browser sessions and API tokens.

Domain functions take an engine and raise `AccountError` with a message naming the user or
role. `python -m listings_pipeline.console.users --help` is a small CLI over them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import click
from sqlalchemy import Connection, Engine

from listings_pipeline.console import passwords
from listings_pipeline.console.sql import query
from listings_pipeline.settings import get_console_settings

PERMISSIONS = (
    "pipeline:read",
    "pipeline:review",
    "pipeline:promote",
    "pipeline:admin",
    "listings:claim",
    "catalogue:read",
    "accounts:admin",
)
SESSION_TTL_SECONDS = 12 * 3600  # absolute: a working day, then log in again
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,127}$")


class AccountError(ValueError):
    """A user/role operation that cannot be done; the message says which and why."""


class LoginThrottled(Exception):
    """Too many failed logins for the account or from the address: refused unchecked."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what permissions. `csrf_token` is None for API-token callers."""

    user_id: int
    username: str
    permissions: frozenset[str]
    csrf_token: str | None
    # permission -> the DMO ids it is granted for, None when granted for every DMO
    scopes: Mapping[str, frozenset[int] | None] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def dmos(self, permission: str) -> frozenset[int] | None:
        """The DMOs `permission` is held for: None means every DMO (a global grant)."""
        if permission not in self.permissions:
            return frozenset()
        return self.scopes.get(permission)

    def can_for(self, permission: str, dmo_ids: Iterable[int]) -> bool:
        """Whether `permission` is held for at least one of `dmo_ids`."""
        scope = self.dmos(permission)
        if scope is None:
            return permission in self.permissions
        return not scope.isdisjoint(dmo_ids)


def principal_from_grants(
    user_id: int, username: str, grants: Iterable[str], csrf_token: str | None
) -> Principal:
    """A Principal from 'permission@dmo_id' / 'permission@*' grants (see session_principal.sql)."""
    scopes: dict[str, set[int] | None] = {}
    for grant in grants:
        permission, _, dmo = grant.rpartition("@")
        if dmo == "*":
            scopes[permission] = None
        elif scopes.get(permission, set()) is not None:
            scopes.setdefault(permission, set()).add(int(dmo))  # type: ignore[union-attr]
    return Principal(
        user_id,
        username,
        frozenset(scopes),
        csrf_token,
        {p: None if ids is None else frozenset(ids) for p, ids in scopes.items()},
    )


def normalize_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise AccountError(
            f"username {username!r}: use 1-128 characters of a-z, 0-9, '.', '_', '@', '+', '-',"
            " starting with a letter or digit"
        )
    return name


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(engine: Engine, username: str, password: str) -> int:
    """Create an active user with no roles; return its id."""
    name = normalize_username(username)
    try:
        password_hash = passwords.hash_password(password, name)
    except passwords.PasswordPolicyError as err:
        raise AccountError(f"user {name!r}: {err}") from err
    with engine.begin() as conn:
        user_id = conn.execute(
            query("user_insert"), {"username": name, "password_hash": password_hash}
        ).scalar()
    if user_id is None:
        raise AccountError(f"user {name!r} already exists")
    return user_id


def set_password(engine: Engine, username: str, password: str) -> None:
    """Set a new password; every session and API token of the user ends with the old one."""
    name = normalize_username(username)
    try:
        password_hash = passwords.hash_password(password, name)
    except passwords.PasswordPolicyError as err:
        raise AccountError(f"user {name!r}: {err}") from err
    with engine.begin() as conn:
        found = conn.execute(
            query("user_set_password"), {"username": name, "password_hash": password_hash}
        ).scalar()
        if found is None:
            raise AccountError(f"user {name!r} does not exist")
        _end_credentials(conn, found)


def set_active(engine: Engine, username: str, active: bool) -> None:
    """Enable or disable a user; disabling ends its sessions and revokes its API tokens."""
    name = normalize_username(username)
    with engine.begin() as conn:
        found = conn.execute(
            query("user_set_active"), {"username": name, "active": active}
        ).scalar()
        if found is None:
            raise AccountError(f"user {name!r} does not exist")
        if not active:
            _end_credentials(conn, found)


def _end_credentials(conn: Connection, user_id: int) -> None:
    # A stolen session cookie or token must not outlive the password change or the disabling
    # that was meant to shut its thief out.
    conn.execute(query("session_delete_user"), {"user_id": user_id})
    conn.execute(query("api_token_revoke_user"), {"user_id": user_id})


def grant_role(engine: Engine, username: str, role: str, dmo_id: int | None = None) -> bool:
    """Give `username` the role for one DMO, or every DMO when `dmo_id` is None; return False
    if it already had that grant."""
    name = normalize_username(username)
    params = {"username": name, "role": role, "dmo": dmo_id}
    with engine.begin() as conn:
        row = conn.execute(query("user_grant_role"), params).one()
    if row.user_id is None:
        raise AccountError(f"user {name!r} does not exist")
    if row.role_id is None:
        raise AccountError(f"role {role!r} does not exist")
    if not row.dmo_found:
        raise AccountError(f"DMO {dmo_id} does not exist (a config of it creates it)")
    return bool(row.added)


def revoke_role(engine: Engine, username: str, role: str, dmo_id: int | None = None) -> bool:
    """Take the grant of the role for `dmo_id` (None: the grant for every DMO) from
    `username`; return False if it did not have it."""
    name = normalize_username(username)
    params = {"username": name, "role": role, "dmo": dmo_id}
    with engine.begin() as conn:
        result = conn.execute(query("user_revoke_role"), params)
    return result.rowcount > 0


def create_role(
    engine: Engine, name: str, permissions: Iterable[str], description: str = ""
) -> int:
    """Create a role holding `permissions` (names from auth.permissions); return its id."""
    wanted = sorted(set(permissions))
    with engine.begin() as conn:
        known = set(conn.execute(query("permission_names")).scalars())
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise AccountError(f"role {name!r}: unknown permission(s) {', '.join(unknown)}")
        role_id = conn.execute(
            query("role_insert"), {"name": name, "description": description}
        ).scalar()
        if role_id is None:
            raise AccountError(f"role {name!r} already exists")
        conn.execute(query("role_add_permissions"), {"role_id": role_id, "permissions": wanted})
    return role_id


def list_users(engine: Engine) -> list[tuple[str, bool, list[str]]]:
    with engine.connect() as conn:
        rows = conn.execute(query("user_list")).all()
    return [(r.username, r.active, list(r.roles)) for r in rows]


def authenticate(engine: Engine, username: str, password: str) -> int | None:
    """The id of the active user with this password, else None (same time either way)."""
    try:
        name = normalize_username(username)
    except AccountError:
        name = None
    with engine.connect() as conn:
        row = conn.execute(query("user_credentials"), {"username": name}).first() if name else None
    if not passwords.verify_password(row.password_hash if row else None, password):
        return None
    if row is None or not row.active:
        return None
    if passwords.needs_rehash(row.password_hash):
        with engine.begin() as conn:
            conn.execute(
                query("user_rehash"),
                {
                    "user_id": row.id,
                    "old_hash": row.password_hash,
                    "new_hash": passwords.rehash(password),
                },
            )
    return row.id


def _account_key(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()


def _address_key(address: str | None) -> str:
    """The client's IP; for IPv6 its /64, the block one subscriber gets and can rotate in."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return (address or "unknown")[:64].replace("\x00", "")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


DEVICE_TTL_DAYS = 180


def login(
    engine: Engine,
    username: str,
    password: str,
    address: str | None,
    device: str | None = None,
) -> int | None:
    """`authenticate`, throttled per account and per client address (see sql/073).

    Raises LoginThrottled, before any password is hashed, while either is locked. Returns the
    user id, or None for a wrong username or password (same work and time either way).
    `device` is the browser's device cookie: when an earlier login of this user issued it,
    the attempt is counted under the device instead of the account, so that someone failing
    on purpose cannot lock the owner out of a browser they used before (sql/075).
    """
    settings = get_console_settings()
    account_key = _account_key(username)
    if device:
        name = username.strip().lower()
        with engine.connect() as conn:
            known = conn.execute(
                query("login_device_known"), {"token_hash": token_hash(device), "username": name}
            ).first()
        if known is not None:
            account_key = "device:" + token_hash(device)
    params = {
        "account_key": account_key,
        "address_key": _address_key(address),
        "account_free": settings.login_free_failures_account,
        "address_free": settings.login_free_failures_address,
        "max_lock": settings.login_max_lock_seconds,
    }
    with engine.begin() as conn:
        wait = conn.execute(
            query("login_attempt"), {**params, "forget_after": settings.login_forget_seconds}
        ).scalar_one()
    if wait > 0:
        raise LoginThrottled(wait)
    user_id = authenticate(engine, username, password)
    with engine.begin() as conn:
        if user_id is None:
            conn.execute(query("login_failed"), params)
        else:
            conn.execute(query("login_succeeded"), params)
    return user_id


def remember_device(engine: Engine, user_id: int, old_device: str | None) -> str:
    """A new device cookie value for the browser `user_id` just logged in from."""
    device = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        old_hash = token_hash(old_device) if old_device else None
        conn.execute(query("login_device_delete"), {"token_hash": old_hash})
        conn.execute(
            query("login_device_insert"),
            {"token_hash": token_hash(device), "user_id": user_id, "ttl_days": DEVICE_TTL_DAYS},
        )
    return device


def unlock(engine: Engine, username: str) -> bool:
    """Clear the failed logins of an account (its owner was locked out); False if none."""
    with engine.begin() as conn:
        result = conn.execute(query("login_unlock"), {"account_key": _account_key(username)})
    return result.rowcount > 0


def create_session(engine: Engine, user_id: int) -> str:
    """Open a browser session; return its token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(query("session_purge_expired"))
        conn.execute(
            query("session_insert"),
            {
                "token_hash": token_hash(token),
                "user_id": user_id,
                "csrf_token": secrets.token_urlsafe(32),
                "ttl_seconds": SESSION_TTL_SECONDS,
            },
        )
    return token


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(query("session_delete"), {"token_hash": token_hash(token)})


def _principal(conn: Connection, sql: str, token: str) -> Principal | None:
    row = conn.execute(query(sql), {"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    return principal_from_grants(row.id, row.username, row.grants, row.csrf_token)


def session_principal(engine: Engine, token: str) -> Principal | None:
    with engine.connect() as conn:
        return _principal(conn, "session_principal", token)


MAX_TOKEN_DAYS = 3650


@dataclass(frozen=True)
class ApiToken:
    """An API token as its owner and admins see it (the secret itself is never stored)."""

    id: int
    username: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: str  # active, expired or revoked


def create_api_token(engine: Engine, username: str, name: str, ttl_days: int | None = None) -> str:
    """A bearer token for the JSON API acting as `username`; shown once, stored hashed.

    It expires after `ttl_days` (default LISTINGS_API_TOKEN_DAYS, 90): a forgotten token in
    an old script or a leaked CI log stops working by itself.
    """
    user = normalize_username(username)
    days = get_console_settings().api_token_days if ttl_days is None else ttl_days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AccountError(f"token lifetime must be 1 to {MAX_TOKEN_DAYS} days, not {days}")
    label = name.strip()
    if not label or len(label) > 100 or not label.isprintable():
        raise AccountError("token name: 1-100 printable characters, saying what it is for")
    token = "lpt_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        found = conn.execute(
            query("api_token_insert"),
            {"token_hash": token_hash(token), "username": user, "name": label, "ttl_days": days},
        ).scalar()
    if found is None:
        raise AccountError(f"user {user!r} does not exist")
    return token


def list_api_tokens(engine: Engine, username: str | None = None) -> list[ApiToken]:
    """Tokens of `username`, or of everyone, newest first (revoked and expired ones too)."""
    user = normalize_username(username) if username is not None else None
    with engine.connect() as conn:
        rows = conn.execute(query("api_token_list"), {"username": user}).all()
    return [ApiToken(**row._mapping) for row in rows]


def revoke_api_token(engine: Engine, token_id: int, owner: str | None = None) -> ApiToken:
    """Revoke a token by id (only among `owner`'s tokens when given); return it as it was.

    Raises AccountError when there is no such token (for that owner).
    """
    user = normalize_username(owner) if owner is not None else None
    with engine.begin() as conn:
        row = conn.execute(query("api_token_revoke"), {"id": token_id, "username": user}).first()
    if row is None:
        whose = f" of {user!r}" if user else ""
        raise AccountError(f"no API token {token_id}{whose}")
    return ApiToken(**row._mapping)


def api_token_principal(engine: Engine, token: str) -> Principal | None:
    with engine.connect() as conn:
        return _principal(conn, "api_token_principal", token)


# --- CLI: `listings-pipeline users ...` (also python -m listings_pipeline.console.users)


def _engine() -> Engine:
    from listings_pipeline.db import get_engine
    from listings_pipeline.db.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    return engine


def _read_password(password_stdin: bool) -> str:
    # Never from argv: command lines are visible to every local user in `ps`.
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group(name="users")
def users_cli() -> None:
    """Manage console users and their roles."""


@users_cli.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--role", "roles", multiple=True, help="Grant this role too (repeatable).")
def _add(username: str, password_stdin: bool, roles: tuple[str, ...]) -> None:
    """Create USERNAME (asks for the password)."""
    engine = _engine()
    try:
        add_user(engine, username, _read_password(password_stdin))
        for role in roles:
            grant_role(engine, username, role)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"user {normalize_username(username)} added")


_DMO_OPTION = click.option(
    "--dmo",
    "dmo_id",
    type=click.IntRange(min=1),
    default=None,
    help="Only for this DMO (its id, the configs' dmo_id); without it, for every DMO.",
)


def _scope_text(dmo_id: int | None) -> str:
    return "every DMO" if dmo_id is None else f"DMO {dmo_id}"


@users_cli.command("grant")
@click.argument("username")
@click.argument("role")
@_DMO_OPTION
def _grant(username: str, role: str, dmo_id: int | None) -> None:
    """Give USERNAME the ROLE (e.g. super_admin, pipeline_viewer, pipeline_reviewer)."""
    try:
        added = grant_role(_engine(), username, role, dmo_id)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    state = "granted" if added else "already granted"
    click.echo(f"{username}: {role} {state} for {_scope_text(dmo_id)}")


@users_cli.command("revoke")
@click.argument("username")
@click.argument("role")
@_DMO_OPTION
def _revoke(username: str, role: str, dmo_id: int | None) -> None:
    """Take ROLE from USERNAME (the grant for --dmo, or the one for every DMO)."""
    try:
        removed = revoke_role(_engine(), username, role, dmo_id)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    state = "revoked" if removed else "was not granted"
    click.echo(f"{username}: {role} for {_scope_text(dmo_id)} {state}")


@users_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def _password(username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (ends its sessions and revokes its API tokens)."""
    try:
        set_password(_engine(), username, _read_password(password_stdin))
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"password of {normalize_username(username)} changed")


@users_cli.command("disable")
@click.argument("username")
def _disable(username: str) -> None:
    """Stop USERNAME from logging in; ends its sessions and revokes its API tokens."""
    try:
        set_active(_engine(), username, False)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"user {normalize_username(username)} disabled")


class _TokenGroup(click.Group):
    """`users token USER --name N` (the original form) still creates a token."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["create", *args]
        return super().parse_args(ctx, args)


@users_cli.group("token", cls=_TokenGroup)
def _token() -> None:
    """API tokens: create (`users token USER --name N`), list, revoke."""


@_token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_TOKEN_DAYS),
    default=None,
    help="Expire after this many days [default: LISTINGS_API_TOKEN_DAYS, 90].",
)
def _token_create(username: str, name: str, days: int | None) -> None:
    """Print a new API bearer token for USERNAME (shown once)."""
    try:
        click.echo(create_api_token(_engine(), username, name, days))
    except AccountError as err:
        raise click.ClickException(str(err)) from err


@_token.command("list")
@click.argument("username", required=False)
def _token_list(username: str | None) -> None:
    """List the API tokens of USERNAME, or of every user (id, user, name, status, dates)."""
    try:
        tokens = list_api_tokens(_engine(), username)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    for t in tokens:
        ended = f"\trevoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""
        click.echo(
            f"{t.id}\t{t.username}\t{t.name}\t{t.status}\tcreated {t.created_at:%Y-%m-%d %H:%M}"
            f"\texpires {t.expires_at:%Y-%m-%d %H:%M}{ended}"
        )


@_token.command("revoke")
@click.argument("token_id", type=int)
def _token_revoke(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (from `users token list`): it stops working at once."""
    try:
        token = revoke_api_token(_engine(), token_id)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"token {token.id} ({token.username}, {token.name}) revoked")


@users_cli.command("unlock")
@click.argument("username")
def _unlock(username: str) -> None:
    """Forget USERNAME's failed logins, ending a lockout (its owner may log in again)."""
    cleared = unlock(_engine(), username)
    click.echo(f"{username}: {'unlocked' if cleared else 'was not locked'}")


@users_cli.command("list")
def _list() -> None:
    """List users, whether active, and their roles."""
    for username, active, roles in list_users(_engine()):
        click.echo(f"{username}\t{'active' if active else 'disabled'}\t{','.join(roles)}")


if __name__ == "__main__":
    users_cli()
