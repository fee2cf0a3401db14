"""DMO scope (seed 001 "DMO-scoped permissions"): a role is granted for one DMO or for all.

Every route names its resource by a path parameter (job_id, file_id, listing_id, slug); the
`Access` dependency asks here which DMOs that resource belongs to before the route runs, and a
caller whose permission does not reach one of them gets 404, as if the resource did not exist
(so ids of other DMOs' jobs cannot be probed). A DMO named in a query (`dmo_id`) or in a body
(a config's dmo_id) is checked the same way; lists are filtered with `Principal.dmos()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import yaml
from fastapi import HTTPException
from sqlalchemy import Engine

from listings_pipeline.console.sql import queries
from listings_pipeline.console.users import Principal
from listings_pipeline.settings import get_settings

if TYPE_CHECKING:
    from listings_pipeline.console.config_files import ConfigFile

# Path parameters that name a resource, and the query that finds its DMOs.
_RESOURCE_PARAMS = {"job_id": "job", "file_id": "file", "listing_id": "listing"}
NOT_YOURS = "Not found."


def config_file_dmo(found: ConfigFile) -> int | None:
    """The DMO a config file is for; an invalid file still usually says so."""
    if found.config is not None:
        return found.config.dmo_id
    try:
        data = yaml.safe_load(found.text)
    except yaml.YAMLError:
        return None
    dmo = data.get("dmo_id") if isinstance(data, dict) else None
    return dmo if isinstance(dmo, int) and not isinstance(dmo, bool) else None


def visible_configs(
    principal: Principal, found: list[ConfigFile], permission: str = "pipeline:read"
) -> list[ConfigFile]:
    """The config files of the caller's DMOs (all of them for a grant on every DMO)."""
    scope = principal.dmos(permission)
    if scope is None:
        return found
    return [c for c in found if config_file_dmo(c) in scope]


def _config_dmos(engine: Engine, slug: str) -> set[int]:
    from listings_pipeline.console import config_files

    found = config_files.read_config(get_settings().config_dir, slug)
    if found is not None:
        dmo = config_file_dmo(found)
        return set() if dmo is None else {dmo}
    with engine.connect() as conn:
        return set(conn.execute(queries("resource_dmos")["config"], {"slug": slug}).scalars())


def resource_dmos(engine: Engine, params: Mapping[str, Any]) -> set[int] | None:
    """The DMOs of the resource the path parameters name; None when they name none."""
    for name, statement in _RESOURCE_PARAMS.items():
        if name in params:
            try:
                ident = int(params[name])
            except (TypeError, ValueError):
                return None  # the route's own validation answers 422
            with engine.connect() as conn:
                rows = conn.execute(queries("resource_dmos")[statement], {"id": ident})
                return set(rows.scalars())
    if "slug" in params:
        return _config_dmos(engine, str(params["slug"]))
    return None


def check_request(
    engine: Engine,
    principal: Principal,
    permission: str,
    path_params: Mapping[str, Any],
    query_params: Mapping[str, str],
) -> None:
    """Raise 404 unless `permission` reaches the DMO of the resource and of `dmo_id`."""
    scope = principal.dmos(permission)
    if scope is None:
        return  # a grant on every DMO
    named = query_params.get("dmo_id")
    if named is not None and named.strip().isdigit() and int(named) not in scope:
        raise HTTPException(404, NOT_YOURS)
    resource = dict(path_params)
    job = query_params.get("job_id")  # the staging rows API names its job in the query
    if job is not None and "job_id" not in resource and job.strip().isdigit():
        resource["job_id"] = job
    dmos = resource_dmos(engine, resource)
    # An empty set (no such resource, or one no DMO can be named for) is refused too.
    if dmos is not None and scope.isdisjoint(dmos):
        raise HTTPException(404, NOT_YOURS)


class OutOfScope(PermissionError):
    """A console user named on the command line may not act on this DMO's data."""


def cli_check(
    engine: Engine, username: str, permission: str, what: str, params: Mapping[str, Any]
) -> None:
    """The CLI's scope check: when `username` (--reviewer, --by, --as) names a console user, it
    must hold `permission` for the DMO of the resource `params` name (as a route's path
    parameters). A name that is no console user is the operator's own label: the CLI runs
    with the database's credentials, so it cannot be held to less than they allow."""
    from listings_pipeline.console.sql import query
    from listings_pipeline.console.users import normalize_username, principal_from_grants

    try:
        name = normalize_username(username)
    except ValueError:
        return
    with engine.connect() as conn:
        row = conn.execute(query("user_grants"), {"username": name}).first()
    if row is None:
        return
    user = principal_from_grants(row.id, row.username, row.grants if row.active else [], None)
    dmos = resource_dmos(engine, params) or set()
    if not user.can_for(permission, dmos):
        raise OutOfScope(
            f"{name} may not {what}: it needs {permission} for DMO"
            f" {', '.join(map(str, sorted(dmos))) or '(unknown)'}"
        )


def dmo_allowed(principal: Principal, permission: str) -> Callable[[int], bool]:
    """A check for a DMO named in a body, e.g. a config's dmo_id."""
    return lambda dmo_id: principal.can_for(permission, (dmo_id,))


def one_dmo(principal: Principal, permission: str, dmo_id: int | None) -> int | None:
    """The DMO a single-DMO view (the published catalogue) shows: `dmo_id` as asked, or, for a
    caller scoped to one DMO, that one; a caller scoped to several must name one (403)."""
    scope = principal.dmos(permission)
    if scope is None or dmo_id is not None:
        return dmo_id  # a named DMO outside the scope was refused by check_request
    if len(scope) == 1:
        return next(iter(scope))
    raise HTTPException(403, "Your access is per DMO: name one with dmo_id.")


def list_scope(principal: Principal, permission: str = "pipeline:read") -> list[int] | None:
    """The DMO ids a list may show, as a query parameter (None: every DMO)."""
    scope = principal.dmos(permission)
    return None if scope is None else sorted(scope)
