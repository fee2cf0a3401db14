"""DMO-scoped roles (issue 20 item 1, seed 001): a role granted for one DMO reaches that DMO's
jobs, configs, files, listings and review queues only; a grant without a DMO reaches all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline.cli import main as cli_main
from listings_pipeline.console import add_user, grant_role
from listings_pipeline.console.security import access_of, routes_of
from listings_pipeline.console.users import PERMISSIONS, create_role, users_cli
from listings_pipeline_tests.conftest import write_config
from listings_pipeline_tests.test_console import (  # noqa: F401 - fixtures
    PASSWORD,
    app,
    config_yaml,
    csrf_of,
    db,
    login,
    make_user,
    seed,
    snapshot,
)

OTHER_DMO = 3  # seed() fills DMOs 1 and 2; the listing "Grand Hotel" has info for both
# What DMO 1's data looks like on any page or in any JSON answer.
DMO1_MARKS = ("demo-csv", "Grand Hotel", "Hilltop Camp", "SRC-GRAND", "raw/demo-csv")

# Routes that name no resource of a DMO, by what they are. A route added without a resource
# path parameter (job_id, file_id, listing_id, slug) must be placed here, so that whoever
# adds it decides how it is scoped: the test fails for a route in none of these.
LISTS = {
    ("GET", "/pipeline"),
    ("GET", "/pipeline/jobs"),
    ("GET", "/pipeline/configs"),
    ("GET", "/pipeline/configs/_new"),  # the empty form
    ("GET", "/pipeline/listings"),
    ("GET", "/pipeline/review"),
    ("GET", "/pipeline/claims"),
    ("GET", "/api/v1/pipeline/jobs"),
    ("GET", "/api/v1/pipeline/files"),
    ("GET", "/api/v1/pipeline/listings"),
    ("GET", "/api/v1/pipeline/configs"),
    ("GET", "/api/v1/pipeline/review/jobs"),
    ("GET", "/api/v1/catalogue/listings"),
    ("GET", "/api/v1/catalogue/changes"),
    ("GET", "/api/v1/catalogue/openapi.json"),
    ("GET", "/openapi.json"),
}
CREATES = {("POST", "/pipeline/configs/_new"), ("POST", "/api/v1/pipeline/configs")}
OWN_ACCOUNT = {
    ("GET", "/"),
    ("POST", "/logout"),
    ("GET", "/account/tokens"),
    ("POST", "/account/tokens"),
    ("POST", "/account/tokens/revoke"),
    ("GET", "/admin/tokens"),
    ("GET", "/api/v1/me"),
}
RESOURCE = re.compile(r"\{(job_id|file_id|listing_id|slug)\}")


def scoped_user(engine: Engine, username: str, dmo_id: int) -> str:
    """A user holding every permission, for one DMO only."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO public.dmos (id, name) VALUES (:d, :n) ON CONFLICT DO NOTHING"),
            {"d": dmo_id, "n": f"DMO {dmo_id}"},
        )
        exists = conn.execute(text("SELECT 1 FROM auth.roles WHERE name = 'everything'")).first()
    if exists is None:
        create_role(engine, "everything", PERMISSIONS)
    add_user(engine, username, PASSWORD)
    grant_role(engine, username, "everything", dmo_id)
    return username


def request_for(method: str, path: str, client: TestClient) -> dict[str, Any]:
    """A complete, valid request for an unsafe route, as someone allowed would send it."""
    csrf = csrf_of(client)
    if method == "GET":
        return {}
    if path.endswith("/review/decisions"):
        return {
            "headers": {"X-CSRF-Token": csrf},
            "json": {"decision": "approve", "all_rows": True},
        }
    if path.endswith("/holds/decisions"):
        return {"headers": {"X-CSRF-Token": csrf}, "json": {"decision": "accept"}}
    if path.endswith("/holds"):
        return {"data": {"csrf_token": csrf, "action": "accept"}}
    if path.startswith("/api/") and path.endswith("/claim"):
        return {"headers": {"X-CSRF-Token": csrf}, **({"json": {}} if method == "PUT" else {})}
    if path.startswith("/api/") and path.endswith("/promotion"):
        return {"headers": {"X-CSRF-Token": csrf}}
    if path.startswith("/api/"):
        body = {"yaml": config_yaml("demo-csv" if method == "PUT" else "intruder")}
        return {"headers": {"X-CSRF-Token": csrf}, **({"json": body} if method != "DELETE" else {})}
    if path.endswith("/review"):
        form = {"action": "approve_kind", "kind": "delete", "expected": "1"}
        return {"data": {"csrf_token": csrf, **form}}
    if path.endswith(("/promote", "/claim", "/unclaim")):
        return {"data": {"csrf_token": csrf}}
    if path == "/account/tokens":
        return {"data": {"csrf_token": csrf, "name": "nightly", "days": "30"}}
    if path == "/account/tokens/revoke":
        return {"data": {"csrf_token": csrf, "token_id": "999999"}}
    if path.endswith("/run"):
        return {
            "data": {"csrf_token": csrf},
            "files": {"input_file": ("feed.csv", b"Name,City\nInn,Halifax\n", "text/csv")},
        }
    # config forms: a DMO 1 config (the slug's own, or a new one)
    form = {"csrf_token": csrf, "yaml_text": config_yaml("demo-csv" if "{slug}" in path else "x")}
    return {"data": form}


def test_every_route_refuses_a_user_of_another_dmo_and_changes_nothing(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    ids = seed(db)
    write_config(config_dir)  # demo-csv, DMO 1
    params = {**ids, "slug": "demo-csv"}
    outsider = login(app, scoped_user(db, "outsider", OTHER_DMO))
    insider = login(app, scoped_user(db, "insider", 1))

    checked: list[tuple[str, str]] = []
    for route in routes_of(app):
        if route.methods is None or access_of(route) is None:  # /static, /login
            continue
        for method in sorted(route.methods - {"HEAD"}):
            key = (method, route.path)
            url = route.path.format(**params)
            # the staging rows API names its job in the query
            query = {"job_id": ids["job_id"]} if "staging" in route.path else {}
            before = snapshot(db, config_dir)
            if key in OWN_ACCOUNT:
                continue  # the caller's own account: no DMO's data
            response = outsider.request(
                method, url, params=query, **request_for(method, route.path, outsider)
            )
            if RESOURCE.search(route.path) or "staging" in route.path:
                assert response.status_code in (403, 404), (key, response.status_code)
            elif key in CREATES:  # a config for DMO 1
                assert response.status_code == 403, (key, response.status_code, response.text)
                assert "DMO 1" in response.text
            else:
                assert key in LISTS, f"{method} {route.path}: not scoped by this test's tables"
                assert response.status_code in (200, 303), (key, response.status_code)
                leaked = [mark for mark in DMO1_MARKS if mark in response.text]
                assert not leaked, (key, leaked)
            assert snapshot(db, config_dir) == before, (key, "a refused call changed data")
            assert app.state.launcher.last("demo-csv") is None, (key, "started a run")
            checked.append(key)
    assert len(checked) >= 45, checked

    # Positive control: a user of DMO 1 with the same role reads all of it.
    for method, path in checked:
        if method != "GET":
            continue
        query = {"job_id": ids["job_id"]} if "staging" in path else {}
        response = insider.get(path.format(**params), params=query)
        if path.endswith("/runs/latest"):  # nothing was run through this console
            assert response.status_code == 404 and "No run of demo-csv" in response.text
            continue
        assert response.status_code < 400, (path, response.status_code, response.text)
    for path in (
        "/pipeline/jobs",
        "/pipeline/configs",
        "/pipeline/review",
        "/api/v1/pipeline/jobs",
        "/api/v1/pipeline/review/jobs",
    ):
        assert "demo-csv" in insider.get(path).text, path
    assert "Grand Hotel" in insider.get("/pipeline/listings").text


def test_a_grant_without_dmo_still_reaches_every_dmo(app: Any, db: Engine) -> None:  # noqa: F811
    ids = seed(db)
    viewer = login(app, make_user(db, "vera", "pipeline_viewer"))  # granted before scopes existed
    assert viewer.get(f"/pipeline/jobs/{ids['job_id']}").status_code == 200
    assert "demo-csv" in viewer.get("/pipeline/jobs").text
    me = viewer.get("/api/v1/me").json()
    assert "pipeline:read" in me["permissions"] and me["dmos"]["pipeline:read"] is None
    grant_role(db, "vera", "pipeline_reviewer", 2)
    assert viewer.get("/api/v1/me").json()["dmos"]["pipeline:review"] == [2]


def test_scoped_reviewer_decides_own_dmo_only_and_lists_show_own_jobs(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
) -> None:
    ids = seed(db)
    with db.begin() as conn:
        other_job = conn.execute(
            text(
                "INSERT INTO pipeline.jobs (dmo_id, slug, current_stage, status)"
                " VALUES (2, 'coast-feed', 'review', 'review') RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id,"
                " listing_name, listing_action, change_kind, review_status)"
                " VALUES (:j, 1, 2, 'C-1', 'Dune Shack', 'insert', 'insert', 'pending')"
            ),
            {"j": other_job},
        )
    add_user(db, "cora", PASSWORD)
    grant_role(db, "cora", "pipeline_reviewer", 2)
    cora = login(app, "cora")
    review_list = cora.get("/pipeline/review").text
    assert "coast-feed" in review_list and "demo-csv" not in review_list
    jobs = cora.get("/api/v1/pipeline/jobs").json()["items"]
    assert [j["id"] for j in jobs] == [other_job]

    csrf = csrf_of(cora)
    decision = {"decision": "approve", "all_rows": True}
    mine = cora.post(
        f"/api/v1/pipeline/jobs/{other_job}/review/decisions",
        json=decision,
        headers={"X-CSRF-Token": csrf},
    )
    assert mine.status_code == 200, mine.text
    theirs = cora.post(
        f"/api/v1/pipeline/jobs/{ids['job_id']}/review/decisions",
        json=decision,
        headers={"X-CSRF-Token": csrf},
    )
    assert theirs.status_code == 404
    with db.connect() as conn:
        statuses = dict(
            conn.execute(
                text(
                    "SELECT job_id, array_agg(DISTINCT review_status) FROM stage.listings_flat"
                    " GROUP BY job_id"
                )
            ).all()
        )
    assert statuses[other_job] == ["approved"]
    assert "pending" in statuses[ids["job_id"]]  # DMO 1's job untouched


def test_users_cli_grants_and_revokes_per_dmo(db: Engine) -> None:  # noqa: F811
    seed(db)
    runner = CliRunner()
    make_user(db, "dana")
    granted = runner.invoke(users_cli, ["grant", "dana", "pipeline_reviewer", "--dmo", "2"])
    assert granted.exit_code == 0, granted.output
    assert "dana: pipeline_reviewer granted for DMO 2" in granted.output
    again = runner.invoke(users_cli, ["grant", "dana", "pipeline_reviewer", "--dmo", "2"])
    assert "already granted for DMO 2" in again.output
    everywhere = runner.invoke(users_cli, ["grant", "dana", "pipeline_viewer"])
    assert "pipeline_viewer granted for every DMO" in everywhere.output
    unknown = runner.invoke(users_cli, ["grant", "dana", "pipeline_viewer", "--dmo", "99"])
    assert unknown.exit_code == 1 and "DMO 99 does not exist" in unknown.output
    listed = runner.invoke(users_cli, ["list"]).output
    assert "dana\tactive\tpipeline_reviewer@2,pipeline_viewer" in listed
    # revoking the global grant leaves the DMO one, and the other way round
    not_global = runner.invoke(users_cli, ["revoke", "dana", "pipeline_reviewer"])
    assert "pipeline_reviewer for every DMO was not granted" in not_global.output
    revoked = runner.invoke(users_cli, ["revoke", "dana", "pipeline_reviewer", "--dmo", "2"])
    assert revoked.exit_code == 0 and "pipeline_reviewer for DMO 2 revoked" in revoked.output
    assert "dana\tactive\tpipeline_viewer" in runner.invoke(users_cli, ["list"]).output


def test_cli_review_promote_and_claim_check_the_named_users_dmo(
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    ids = seed(db)
    write_config(config_dir)  # demo-csv, DMO 1
    add_user(db, "cora", PASSWORD)
    grant_role(db, "cora", "pipeline_reviewer", 2)
    runner = CliRunner()
    before = snapshot_rows(db)
    refused = runner.invoke(
        cli_main, ["review", "approve", str(ids["job_id"]), "--all", "--reviewer", "cora"]
    )
    assert refused.exit_code == 1
    assert "cora may not review job" in refused.output and "pipeline:review for DMO 1" in (
        refused.output
    )
    holds = runner.invoke(
        cli_main, ["review", "accept-change", str(ids["job_id"]), "--reviewer", "cora"]
    )
    assert holds.exit_code == 1 and "cora may not decide the holds" in holds.output
    promote = runner.invoke(cli_main, ["promote", "demo-csv", "--as", "cora"])
    assert promote.exit_code == 1 and "cora may not promote demo-csv" in promote.output
    assert snapshot_rows(db) == before
    # the listing has info for DMOs 1 and 2: cora (DMO 2) may claim it
    claimed = runner.invoke(cli_main, ["listings", "claim", str(ids["listing_id"]), "--by", "cora"])
    assert claimed.exit_code == 0, claimed.output
    grant_role(db, "cora", "pipeline_reviewer", 1)
    allowed = runner.invoke(
        cli_main, ["review", "approve", str(ids["job_id"]), "--all", "--reviewer", "cora"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "approved 2 rows" in allowed.output


def snapshot_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id, review_status, reviewed_by FROM stage.listings_flat ORDER BY id")
        ).all()
