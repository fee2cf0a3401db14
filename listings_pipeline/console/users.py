"""Console accounts: users, roles, permissions, browser sessions and API tokens.

Domain functions take an engine and raise `AccountError` with a message naming the user or
role. `python -m listings_pipeline.console.users --help` is a small CLI over them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import click
from sqlalchemy import Connection, Engine

from listings_pipeline.console import passwords
from listings_pipeline.console.sql import query

PERMISSIONS = (
    "pipeline:read",
    "pipeline:review",
    "pipeline:promote",
    "pipeline:admin",
    "listings:claim",
    "catalogue:read",
)
SESSION_TTL_SECONDS = 12 * 3600  # absolute: a working day, then log in again
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,127}$")


class AccountError(ValueError):
    """A user/role operation that cannot be done; the message says which and why."""


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what permissions. `csrf_token` is None for API-token callers."""

    user_id: int
    username: str
    permissions: frozenset[str]
    csrf_token: str | None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


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
        password_hash = passwords.hash_password(password)
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
    name = normalize_username(username)
    try:
        password_hash = passwords.hash_password(password)
    except passwords.PasswordPolicyError as err:
        raise AccountError(f"user {name!r}: {err}") from err
    with engine.begin() as conn:
        found = conn.execute(
            query("user_set_password"), {"username": name, "password_hash": password_hash}
        ).scalar()
        if found is None:
            raise AccountError(f"user {name!r} does not exist")
        # A new password ends every session opened with the old one.
        conn.execute(query("session_delete_user"), {"user_id": found})


def set_active(engine: Engine, username: str, active: bool) -> None:
    name = normalize_username(username)
    with engine.begin() as conn:
        found = conn.execute(query("user_set_active"), {"username": name, "active": active})
        if found.scalar() is None:
            raise AccountError(f"user {name!r} does not exist")


def grant_role(engine: Engine, username: str, role: str) -> bool:
    """Give `username` the role; return False if it already had it."""
    name = normalize_username(username)
    with engine.begin() as conn:
        row = conn.execute(query("user_grant_role"), {"username": name, "role": role}).one()
    if row.user_id is None:
        raise AccountError(f"user {name!r} does not exist")
    if row.role_id is None:
        raise AccountError(f"role {role!r} does not exist")
    return bool(row.added)


def revoke_role(engine: Engine, username: str, role: str) -> bool:
    """Take the role from `username`; return False if it did not have it."""
    name = normalize_username(username)
    with engine.begin() as conn:
        result = conn.execute(query("user_revoke_role"), {"username": name, "role": role})
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
                    "new_hash": passwords.hash_password(password),
                },
            )
    return row.id


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
    return Principal(row.id, row.username, frozenset(row.permissions), row.csrf_token)


def session_principal(engine: Engine, token: str) -> Principal | None:
    with engine.connect() as conn:
        return _principal(conn, "session_principal", token)


def create_api_token(engine: Engine, username: str, name: str, ttl_days: int | None = None) -> str:
    """A bearer token for the JSON API acting as `username`; shown once, stored hashed."""
    user = normalize_username(username)
    token = "lpt_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        found = conn.execute(
            query("api_token_insert"),
            {"token_hash": token_hash(token), "username": user, "name": name, "ttl_days": ttl_days},
        ).scalar()
    if found is None:
        raise AccountError(f"user {user!r} does not exist")
    return token


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


@users_cli.command("grant")
@click.argument("username")
@click.argument("role")
def _grant(username: str, role: str) -> None:
    """Give USERNAME the ROLE (e.g. super_admin, pipeline_viewer, pipeline_reviewer)."""
    try:
        added = grant_role(_engine(), username, role)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{username}: {role} {'granted' if added else 'already granted'}")


@users_cli.command("revoke")
@click.argument("username")
@click.argument("role")
def _revoke(username: str, role: str) -> None:
    """Take ROLE from USERNAME."""
    try:
        removed = revoke_role(_engine(), username, role)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{username}: {role} {'revoked' if removed else 'was not granted'}")


@users_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def _password(username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (ends its sessions)."""
    try:
        set_password(_engine(), username, _read_password(password_stdin))
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"password of {normalize_username(username)} changed")


@users_cli.command("disable")
@click.argument("username")
def _disable(username: str) -> None:
    """Stop USERNAME from logging in or using its API tokens."""
    try:
        set_active(_engine(), username, False)
    except AccountError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"user {normalize_username(username)} disabled")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--days", type=int, default=None, help="Expire after this many days.")
def _token(username: str, name: str, days: int | None) -> None:
    """Print a new API bearer token for USERNAME (shown once)."""
    try:
        click.echo(create_api_token(_engine(), username, name, days))
    except AccountError as err:
        raise click.ClickException(str(err)) from err


@users_cli.command("list")
def _list() -> None:
    """List users, whether active, and their roles."""
    for username, active, roles in list_users(_engine()):
        click.echo(f"{username}\t{'active' if active else 'disabled'}\t{','.join(roles)}")


if __name__ == "__main__":
    users_cli()
