"""The pipeline console, in process (FastAPI TestClient) against the real database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline.configs import load_config
from listings_pipeline.console import add_user, create_app, grant_role
from listings_pipeline.console.security import SESSION_COOKIE, access_of, routes_of
from listings_pipeline.console.users import (
    PERMISSIONS,
    AccountError,
    create_api_token,
    create_role,
    users_cli,
)
from listings_pipeline_tests.conftest import count, write_config
from listings_pipeline_tests.helpers import clear_accounts

PASSWORD = "correct horse battery"
BUILTIN_ROLES = ("super_admin", "pipeline_viewer", "pipeline_reviewer", "catalogue_reader")


@pytest.fixture
def db(engine: Engine) -> Engine:
    """`engine` empties public/pipeline/stage; accounts live in auth and are emptied here."""
    clear_accounts(engine)
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM auth.roles WHERE NOT (name = ANY(:keep))"),
            {"keep": list(BUILTIN_ROLES)},
        )
    return engine


@pytest.fixture
def app(db: Engine, config_dir: Path) -> Any:
    return create_app(engine_factory=lambda: db)


def make_user(engine: Engine, username: str, *roles: str) -> str:
    add_user(engine, username, PASSWORD)
    for role in roles:
        grant_role(engine, username, role)
    return username


def login(app: Any, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": hidden(page.text, "csrf_token"),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    return client


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def csrf_of(client: TestClient) -> str:
    return client.get("/api/v1/me").json()["csrf_token"]


def seed(engine: Engine) -> dict[str, int]:
    """A small pipeline history: two DMOs, two listings, one job with stages/files/errors/rows."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO public.dmos (id, name) VALUES (1, 'Visit Demo'), (2, 'Coast')")
        )
        loc = (
            conn.execute(
                text(
                    "INSERT INTO public.locations (address1, city, state, country, lat, lng) VALUES"
                    " ('1 Main St', 'Springfield', 'IL', 'US', 39.78, -89.65),"
                    " ('9 Beach Rd', 'Shelbyville', 'IL', 'US', NULL, NULL) RETURNING id"
                )
            )
            .scalars()
            .all()
        )
        listings = (
            conn.execute(
                text(
                    "INSERT INTO public.listings (name, location_id) VALUES"
                    " ('Grand Hotel', :a), ('Seaside Cafe', :b) RETURNING id"
                ),
                {"a": loc[0], "b": loc[1]},
            )
            .scalars()
            .all()
        )
        infos = (
            conn.execute(
                text(
                    "INSERT INTO public.listing_info (listing_id, dmo_id, description) VALUES"
                    " (:l, 1, 'Rooms with a view'), (:l, 2, 'Seafront suites') RETURNING id"
                ),
                {"l": listings[0]},
            )
            .scalars()
            .all()
        )
        conn.execute(
            text(
                "INSERT INTO pipeline.bridge_source_target"
                " (dmo_id, source_id, target_id, target_type, match_method) VALUES"
                " (1, 'SRC-GRAND', :l, 'listings', 'match_hash'),"
                " (1, 'SRC-GRAND', :i, 'listing_info', 'match_hash'),"
                " (2, 'coast-77', :i2, 'listing_info', 'bridge')"
            ),
            {"l": listings[0], "i": infos[0], "i2": infos[1]},
        )
        job = conn.execute(
            text(
                "INSERT INTO pipeline.jobs (dmo_id, slug, current_stage, status, records_total,"
                " records_new, records_failed, started_at, finished_at) VALUES"
                " (1, 'demo-csv', 'review', 'review', 5, 2, 1,"
                "  now() - interval '95 seconds', now()) RETURNING id"
            )
        ).scalar_one()
        stages = (
            conn.execute(
                text(
                    "INSERT INTO pipeline.job_stages (dmo_id, job_id, name, order_index, status)"
                    " VALUES (1, :j, 'import', 1, 'completed'),"
                    " (1, :j, 'transform', 2, 'completed')"
                    " RETURNING id"
                ),
                {"j": job},
            )
            .scalars()
            .all()
        )
        file_id = conn.execute(
            text(
                "INSERT INTO pipeline.files (dmo_id, job_id, stage_name, file_path, import_id,"
                " file_seq, data_domain, format, file_size, record_count, file_hash) VALUES"
                " (1, :j, 'import', 'raw/demo-csv/import-1_0001.csv', 'import-1', 1,"
                "  'listings', 'csv', 2048, 5, 'abc123') RETURNING id"
            ),
            {"j": job},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO pipeline.job_errors (dmo_id, job_id, job_stages_id, file_id,"
                " record_id, field_name, original_record, error_type, error_message) VALUES"
                " (1, :j, :s, :f, 'rec-5', 'listings.name',"
                '  CAST(\'{"Name": "", "City": "Nowhere"}\' AS JSONB), \'validation\','
                "  'record 5: listings.name is required')"
            ),
            {"j": job, "s": stages[1], "f": file_id},
        )
        conn.execute(
            text(
                "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id,"
                " listing_name, loc_city, listing_action, listing_info_action, change_kind,"
                " review_status, listing_internal_id) VALUES"
                " (:j, 1, 1, 'SRC-GRAND', 'Grand Hotel', 'Springfield', 'update', 'update',"
                "  'update', 'auto_approved', :l),"
                " (:j, 2, 1, 'SRC-NEW1', 'Harbour Inn', 'Springfield', 'insert', 'insert',"
                "  'insert', 'auto_approved', NULL),"
                " (:j, 3, 1, 'SRC-NEW2', 'Hilltop Camp', 'Springfield', 'insert', 'insert',"
                "  'insert', 'pending', NULL),"
                " (:j, 4, 1, 'SRC-OLD', 'Old Mill', 'Springfield', 'delete', 'delete',"
                "  'delete', 'pending', NULL)"
            ),
            {"j": job, "l": listings[0]},
        )
    return {"job_id": job, "listing_id": listings[0], "file_id": file_id}


def config_yaml(slug: str, **overrides: Any) -> str:
    config: dict[str, Any] = {
        "slug": slug,
        "dmo_id": 1,
        "dmo_name": "Visit Demo",
        "name": f"Source {slug}",
        "source_type": "csv",
        "transform": {"map_fields": {"listings.name": "Name", "locations.city": "City"}},
    }
    config.update(overrides)
    return yaml.safe_dump(config, sort_keys=False)


# --- sign in / out ---------------------------------------------------------------------------


def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(app: Any, db: Engine) -> None:
    make_user(db, "ana", "pipeline_viewer")
    client = TestClient(app, follow_redirects=False)
    assert client.get("/pipeline/jobs").headers["location"] == "/login?next=%2Fpipeline%2Fjobs"
    page = client.get("/login?next=/pipeline/jobs")
    response = client.post(
        "/login",
        data={
            "username": "ANA",  # usernames are case-insensitive
            "password": PASSWORD,
            "csrf_token": hidden(page.text, "csrf_token"),
            "next": hidden(page.text, "next"),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/pipeline/jobs"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = client.cookies[SESSION_COOKIE]
    with db.connect() as conn:  # the database holds only a hash of the token
        stored = conn.execute(text("SELECT token_hash FROM auth.sessions")).scalars().all()
    assert len(stored) == 1 and token not in stored[0]

    jobs = client.get("/pipeline/jobs")
    assert jobs.status_code == 200
    assert 'aria-label="Main"' in jobs.text and ">Pipeline</h2>" in jobs.text

    logout = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert logout.status_code == 303 and logout.headers["location"] == "/login"
    assert count(db, "auth.sessions") == 0
    client.cookies.set(SESSION_COOKIE, token)  # a stolen copy of the old cookie is worthless
    assert client.get("/pipeline/jobs").status_code == 303


def test_wrong_password_unknown_user_and_disabled_user_cannot_log_in(app: Any, db: Engine) -> None:
    make_user(db, "ben", "super_admin")
    make_user(db, "gone", "super_admin")
    with db.begin() as conn:
        conn.execute(text("UPDATE auth.users SET active = false WHERE username = 'gone'"))
    for username, password in [
        ("ben", "wrong password!"),
        ("nobody", PASSWORD),
        ("gone", PASSWORD),
    ]:
        client = TestClient(app, follow_redirects=False)
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": hidden(page.text, "csrf_token"),
            },
        )
        assert response.status_code == 200
        assert "Invalid username or password." in response.text
        assert SESSION_COOKIE not in client.cookies
    assert count(db, "auth.sessions") == 0


def test_password_is_stored_as_argon2id_and_policy_is_enforced(db: Engine) -> None:
    make_user(db, "cleo")
    with db.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM auth.users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(AccountError, match="at least 12 characters"):
        add_user(db, "dan", "short")
    with pytest.raises(AccountError, match="already exists"):
        add_user(db, "CLEO", PASSWORD)
    with pytest.raises(AccountError, match="role 'wizard' does not exist"):
        grant_role(db, "cleo", "wizard")


def test_login_form_without_its_csrf_token_is_refused(app: Any, db: Engine) -> None:
    make_user(db, "eve", "super_admin")
    client = TestClient(app, follow_redirects=False)
    client.get("/login")
    response = client.post("/login", data={"username": "eve", "password": PASSWORD})
    assert response.status_code == 403
    assert count(db, "auth.sessions") == 0


def test_form_post_without_csrf_token_is_refused_and_changes_nothing(
    app: Any, db: Engine, config_dir: Path
) -> None:
    make_user(db, "fay", "super_admin")
    client = login(app, "fay")
    existing = write_config(config_dir)
    before = existing.read_text()

    missing = client.post("/pipeline/configs/_new", data={"yaml_text": config_yaml("fresh")})
    wrong = client.post(
        "/pipeline/configs/demo-csv/edit",
        data={"yaml_text": config_yaml("demo-csv"), "csrf_token": "forged"},
    )
    delete = client.post("/pipeline/configs/demo-csv/delete", data={})
    logout = client.post("/logout")
    for response in (missing, wrong, delete, logout):
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert sorted(p.name for p in config_dir.iterdir()) == ["demo-csv.yaml"]
    assert existing.read_text() == before
    assert count(db, "auth.sessions") == 1  # still logged in

    # The JSON API wants the token in a header when called with the session cookie.
    api = client.post("/api/v1/pipeline/configs", json={"yaml": config_yaml("fresh")})
    assert api.status_code == 403
    assert not (config_dir / "fresh.yaml").exists()


# --- configs ---------------------------------------------------------------------------------


def test_invalid_config_shows_errors_beside_the_field_and_writes_nothing(
    app: Any, db: Engine, config_dir: Path
) -> None:
    make_user(db, "gus", "super_admin")
    client = login(app, "gus")
    form = client.get("/pipeline/configs/_new")
    csrf = hidden(form.text, "csrf_token")

    broken = "slug: fresh\nname: [unclosed\n"
    response = client.post("/pipeline/configs/_new", data={"yaml_text": broken, "csrf_token": csrf})
    assert response.status_code == 422
    assert "not valid YAML" in response.text and "line 3" in response.text

    invalid = config_yaml("fresh", schedule="every day").replace(
        "source_type: csv", "source_type: fax"
    )
    response = client.post(
        "/pipeline/configs/_new", data={"yaml_text": invalid, "csrf_token": csrf}
    )
    assert response.status_code == 422
    panel = response.text[response.text.index('id="problems"') :]
    assert "<code>source_type</code>" in panel and "line 5" in panel
    assert "<code>schedule</code>" in panel and "must have 5 fields" in panel
    assert "source_type: fax" in response.text  # the text typed is kept for fixing
    assert list(config_dir.iterdir()) == []


def test_config_create_edit_delete_write_real_files(app: Any, db: Engine, config_dir: Path) -> None:
    make_user(db, "hal", "super_admin")
    client = login(app, "hal")
    csrf = csrf_of(client)

    text_in = "# Springfield partner feed\n" + config_yaml("springfield-csv")
    created = client.post(
        "/pipeline/configs/_new",
        data={"yaml_text": text_in.replace("\n", "\r\n"), "csrf_token": csrf},
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/pipeline/configs/springfield-csv?saved=1"
    path = config_dir / "springfield-csv.yaml"
    assert path.read_text() == text_in  # comment kept, LF line endings
    assert load_config(path).name == "Source springfield-csv"
    assert [p.name for p in config_dir.iterdir() if p.suffix == ".tmp"] == []

    again = client.post("/pipeline/configs/_new", data={"yaml_text": text_in, "csrf_token": csrf})
    assert again.status_code == 409 and "already exists" in again.text

    page = client.get("/pipeline/configs/springfield-csv/edit")
    base = hidden(page.text, "base_sha256")
    renamed = client.post(
        "/pipeline/configs/springfield-csv/edit",
        data={"yaml_text": config_yaml("other"), "base_sha256": base, "csrf_token": csrf},
    )
    assert renamed.status_code == 422 and "must match the file name" in renamed.text
    edited = client.post(
        "/pipeline/configs/springfield-csv/edit",
        data={
            "yaml_text": config_yaml("springfield-csv", schedule="0 3 * * *"),
            "base_sha256": base,
            "csrf_token": csrf,
        },
    )
    assert edited.status_code == 303
    assert load_config(path).schedule == "0 3 * * *"
    stale = client.post(
        "/pipeline/configs/springfield-csv/edit",
        data={"yaml_text": config_yaml("springfield-csv"), "base_sha256": base, "csrf_token": csrf},
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    assert load_config(path).schedule == "0 3 * * *"

    listing = client.get("/pipeline/configs")
    assert "springfield-csv" in listing.text and "0 3 * * *" in listing.text

    confirm = client.get("/pipeline/configs/springfield-csv/delete")
    deleted = client.post(
        "/pipeline/configs/springfield-csv/delete",
        data={"base_sha256": hidden(confirm.text, "base_sha256"), "csrf_token": csrf},
    )
    assert deleted.status_code == 303 and not path.exists()


def test_invalid_config_file_is_listed_with_its_problem(
    app: Any, db: Engine, config_dir: Path
) -> None:
    make_user(db, "ida", "pipeline_viewer")
    (config_dir / "broken.yaml").write_text(
        config_yaml("broken").replace("dmo_name: Visit Demo\n", "")
    )
    client = login(app, "ida")
    page = client.get("/pipeline/configs")
    assert "broken" in page.text and "dmo_name: required key is missing" in page.text
    assert "New config" not in page.text  # viewers are not offered what they may not do
    detail = client.get("/pipeline/configs/broken")
    assert detail.status_code == 200 and "Edit" not in detail.text


# --- jobs and listings -----------------------------------------------------------------------


def test_jobs_list_filters_and_pages(app: Any, db: Engine) -> None:
    ids = seed(db)
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pipeline.jobs (dmo_id, slug, current_stage, status)"
                " SELECT 2, 'coast-api', 'promote', 'completed' FROM generate_series(1, 60)"
            )
        )
    make_user(db, "jo", "pipeline_viewer")
    client = login(app, "jo")

    first = client.get("/pipeline/jobs")
    assert first.status_code == 200
    assert first.text.count('href="/pipeline/jobs/') == 50 and 'rel="next"' in first.text
    second = client.get("/pipeline/jobs?page=2")
    assert second.text.count('href="/pipeline/jobs/') == 11 and 'rel="next"' not in second.text
    assert f'href="/pipeline/jobs/{ids["job_id"]}"' in second.text  # oldest job last

    review = client.get("/pipeline/jobs?status=review&slug=&dmo_id=")
    assert review.text.count('href="/pipeline/jobs/') == 1 and "demo-csv" in review.text
    coast = client.get("/pipeline/jobs?slug=coast-api&dmo_id=2&page=2")
    assert coast.text.count('href="/pipeline/jobs/') == 10
    assert client.get("/pipeline/jobs?dmo_id=two").status_code == 400

    api = client.get(
        "/api/v1/pipeline/jobs", params={"status": "completed", "limit": 25, "offset": 50}
    )
    body = api.json()
    assert len(body["items"]) == 10 and body["next_offset"] is None
    assert {j["slug"] for j in body["items"]} == {"coast-api"}


def test_job_page_shows_stages_files_errors_and_action_counts(app: Any, db: Engine) -> None:
    ids = seed(db)
    make_user(db, "kim", "pipeline_viewer")
    client = login(app, "kim")
    page = client.get(f"/pipeline/jobs/{ids['job_id']}")
    assert page.status_code == 200
    html = page.text
    assert "import" in html and "transform" in html  # stages
    assert "1m 35s" in html  # duration of the job
    assert "raw/demo-csv/import-1_0001.csv" in html and "2.0 KB" in html  # file
    assert "record 5: listings.name is required" in html  # error message
    assert "&#34;City&#34;: &#34;Nowhere&#34;" in html  # original record, escaped
    row = re.search(r"<tr><td>listing</td>(.*?)</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    # actions in order: pending insert update skip delete error
    assert cells == ["0", "2", "1", "0", "1", "0"]

    detail = client.get(f"/api/v1/pipeline/jobs/{ids['job_id']}").json()
    assert detail["action_counts"]["listing"] == {"delete": 1, "insert": 2, "update": 1}
    assert detail["action_counts"]["review_status"] == {"auto_approved": 2, "pending": 2}
    assert detail["error_counts"] == {"validation": 1}
    assert [s["name"] for s in detail["stages"]] == ["import", "transform"]
    errors = client.get(f"/api/v1/pipeline/jobs/{ids['job_id']}/errors").json()["items"]
    assert errors[0]["original_record"] == {"Name": "", "City": "Nowhere"}
    files = client.get("/api/v1/pipeline/files", params={"job_id": ids["job_id"]}).json()
    assert [f["id"] for f in files["items"]] == [ids["file_id"]]
    assert client.get(f"/api/v1/pipeline/files/{ids['file_id']}").json()["record_count"] == 5


def test_staged_rows_filter_and_page(app: Any, db: Engine) -> None:
    ids = seed(db)
    make_user(db, "lee", "pipeline_viewer")
    client = login(app, "lee")
    rows = client.get(f"/pipeline/jobs/{ids['job_id']}/rows?listing_action=insert")
    assert "Harbour Inn" in rows.text and "Hilltop Camp" in rows.text
    assert "Old Mill" not in rows.text

    url = "/api/v1/pipeline/staging/listings"
    page1 = client.get(url, params={"job_id": ids["job_id"], "limit": 3}).json()
    assert [r["rec_num"] for r in page1["items"]] == [1, 2, 3] and page1["next_offset"] == 3
    page2 = client.get(url, params={"job_id": ids["job_id"], "limit": 3, "offset": 3}).json()
    assert [r["source_id"] for r in page2["items"]] == ["SRC-OLD"] and page2["next_offset"] is None
    pending = client.get(url, params={"job_id": ids["job_id"], "review_status": "pending"}).json()
    assert [r["listing_action"] for r in pending["items"]] == ["insert", "delete"]
    literal = client.get(url, params={"job_id": ids["job_id"], "name": "%"}).json()
    assert literal["items"] == []  # % is a character to find, not a wildcard


def test_listing_search_and_page(app: Any, db: Engine) -> None:
    ids = seed(db)
    make_user(db, "mo", "pipeline_viewer")
    client = login(app, "mo")
    fuzzy = client.get("/pipeline/listings?q=Grand+Hotell")
    assert "Grand Hotel" in fuzzy.text and "Seaside Cafe" not in fuzzy.text
    part = client.get("/api/v1/pipeline/listings", params={"q": "side"}).json()
    assert [item["name"] for item in part["items"]] == ["Seaside Cafe"]
    city = client.get("/api/v1/pipeline/listings", params={"city": "springfield"}).json()
    assert [item["name"] for item in city["items"]] == ["Grand Hotel"]
    assert city["items"][0]["dmo_count"] == 2

    page = client.get(f"/pipeline/listings/{ids['listing_id']}")
    assert page.status_code == 200
    for expected in (
        "1 Main St",
        "Springfield",
        "Visit Demo",
        "Coast",
        "Rooms with a view",
        "Seafront suites",
        "SRC-GRAND",
        "coast-77",
        "match_hash",
    ):
        assert expected in page.text, expected
    assert f"/pipeline/jobs/{ids['job_id']}/rows?source_id=SRC-GRAND" in page.text
    detail = client.get(f"/api/v1/pipeline/listings/{ids['listing_id']}").json()
    assert detail["location"]["city"] == "Springfield"
    assert [i["dmo_name"] for i in detail["listing_info"]] == ["Visit Demo", "Coast"]
    assert {(s["source_id"], s["target_type"]) for s in detail["sources"]} == {
        ("SRC-GRAND", "listings"),
        ("SRC-GRAND", "listing_info"),
        ("coast-77", "listing_info"),
    }


def test_unknown_ids_are_404(app: Any, db: Engine, config_dir: Path) -> None:
    make_user(db, "ned", "super_admin")
    client = login(app, "ned")
    for url in (
        "/pipeline/jobs/999",
        "/pipeline/jobs/999/rows",
        "/pipeline/listings/999",
        "/pipeline/configs/nope",
        "/pipeline/configs/nope/edit",
        "/pipeline/configs/Bad%20Slug",
        "/pipeline/no-such-page",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Not found" in response.text and ">Pipeline</h2>" in response.text
    for url in (
        "/api/v1/pipeline/jobs/999",
        "/api/v1/pipeline/jobs/999/errors",
        "/api/v1/pipeline/files/999",
        "/api/v1/pipeline/listings/999",
        "/api/v1/pipeline/configs/nope",
    ):
        response = client.get(url)
        assert response.status_code == 404 and "does not exist" in response.json()["detail"], url
    staging = client.get("/api/v1/pipeline/staging/listings", params={"job_id": 999})
    assert staging.status_code == 404
    edit = client.post(
        "/pipeline/configs/nope/edit",
        data={"yaml_text": config_yaml("nope"), "csrf_token": csrf_of(client)},
    )
    assert edit.status_code == 404 and list(config_dir.iterdir()) == []


# --- JSON API --------------------------------------------------------------------------------


def test_api_configs_crud_with_bearer_token(app: Any, db: Engine, config_dir: Path) -> None:
    make_user(db, "ops", "super_admin")
    token = create_api_token(db, "ops", "deploy script")
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    url = "/api/v1/pipeline/configs"

    bad = client.post(url, json={"config": {"slug": "api-feed", "dmo_id": 0}})
    assert bad.status_code == 422
    keys = {p["key"] for p in bad.json()["detail"]}
    assert {"dmo_id", "dmo_name", "name", "source_type", "transform"} <= keys
    assert list(config_dir.iterdir()) == []

    config = yaml.safe_load(config_yaml("api-feed"))
    created = client.post(url, json={"config": config})
    assert created.status_code == 201
    body = created.json()
    assert body["valid"] and body["config"]["import"]["format"] == "csv"
    assert load_config(config_dir / "api-feed.yaml").slug == "api-feed"

    listed = client.get(url).json()
    assert [(c["slug"], c["valid"]) for c in listed["items"]] == [("api-feed", True)]
    put = client.put(
        f"{url}/api-feed",
        json={"yaml": config_yaml("api-feed", active=False), "base_sha256": body["sha256"]},
    )
    assert put.status_code == 200 and put.json()["active"] is False
    stale = client.put(
        f"{url}/api-feed", json={"yaml": config_yaml("api-feed"), "base_sha256": body["sha256"]}
    )
    assert stale.status_code == 409
    assert (
        client.delete(f"{url}/api-feed", params={"base_sha256": body["sha256"]}).status_code == 409
    )
    assert client.delete(f"{url}/api-feed").status_code == 204
    assert list(config_dir.iterdir()) == [config_dir / ".console.lock"]


def test_api_with_session_cookie_needs_the_csrf_header(
    app: Any, db: Engine, config_dir: Path
) -> None:
    make_user(db, "pam", "super_admin")
    client = login(app, "pam")
    url = "/api/v1/pipeline/configs"
    refused = client.post(url, json={"yaml": config_yaml("cookie-feed")})
    assert refused.status_code == 403 and not (config_dir / "cookie-feed.yaml").exists()
    ok = client.post(
        url, json={"yaml": config_yaml("cookie-feed")}, headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert ok.status_code == 201 and (config_dir / "cookie-feed.yaml").exists()


def test_openapi_describes_the_api_for_readers_only(app: Any, db: Engine) -> None:
    make_user(db, "quinn", "pipeline_viewer")
    anonymous = TestClient(app)
    assert anonymous.get("/openapi.json").status_code == 401
    schema = login(app, "quinn").get("/openapi.json").json()
    assert "/api/v1/pipeline/jobs" in schema["paths"]
    assert "/api/v1/pipeline/staging/listings" in schema["paths"]
    post = schema["paths"]["/api/v1/pipeline/configs"]["post"]
    assert "Requires: `pipeline:admin`" in post["description"]


def test_sidebar_pipeline_menu_only_with_pipeline_read(app: Any, db: Engine) -> None:
    make_user(db, "rae")
    client = login(app, "rae")
    home = client.get("/")
    assert home.status_code == 200 and "no pipeline permission" in home.text
    assert ">Pipeline</h2>" not in home.text and "/pipeline/jobs" not in home.text
    grant_role(db, "rae", "pipeline_viewer")
    assert client.get("/").headers["location"] == "/pipeline/jobs"
    assert ">Pipeline</h2>" in client.get("/pipeline/jobs").text


# --- every route, every rule -----------------------------------------------------------------


def snapshot(engine: Engine, config_dir: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Every row of every table (as a digest per table) and every config file."""
    with engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
                    " WHERE schemaname IN ('public', 'pipeline', 'stage', 'auth') ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        digest = " UNION ALL ".join(
            f"SELECT '{table}', count(*),"
            f" md5(coalesce(string_agg(t::TEXT, '|' ORDER BY t::TEXT), '')) FROM {table} t"
            for table in tables
        )
        rows = {r[0]: tuple(r[1:]) for r in conn.execute(text(digest))}
    files = {p.name: p.read_bytes() for p in sorted(config_dir.iterdir())}
    return rows, files


def test_every_route_refuses_callers_without_its_permission_and_changes_nothing(
    app: Any, db: Engine, config_dir: Path
) -> None:
    ids = seed(db)
    write_config(config_dir)  # demo-csv
    params = {**ids, "slug": "demo-csv"}
    query = {"job_id": ids["job_id"]}  # required by the staging rows endpoint, ignored elsewhere

    # One user per permission holding every permission except that one, and a user with none.
    lacking: dict[str, TestClient] = {}
    for permission in PERMISSIONS:
        create_role(db, f"all-but-{permission}", [p for p in PERMISSIONS if p != permission])
        lacking[permission] = login(
            app, make_user(db, f"no-{permission.replace(':', '-')}", f"all-but-{permission}")
        )
    admin = login(app, make_user(db, "root", "super_admin"))

    # What a would-be attacker sends to each unsafe route: a complete, valid request.
    # `valid=False` only for the positive control of Run now, so that it starts no run.
    def unsafe_request(
        method: str, path: str, client: TestClient, valid: bool = True
    ) -> dict[str, Any]:
        csrf = csrf_of(client)
        if path.endswith("/review/decisions"):
            return {
                "headers": {"X-CSRF-Token": csrf},
                "json": {"decision": "approve", "kind": "delete"},
            }
        if path.endswith("/holds/decisions"):
            return {"headers": {"X-CSRF-Token": csrf}, "json": {"decision": "accept"}}
        if path.endswith("/holds"):
            return {"data": {"csrf_token": csrf, "action": "accept"}}
        if path.startswith("/api/") and path.endswith("/promotion"):
            return {"headers": {"X-CSRF-Token": csrf}}
        if path.startswith("/api/"):
            body = {"yaml": config_yaml("demo-csv" if method == "PUT" else "intruder")}
            return {
                "headers": {"X-CSRF-Token": csrf},
                **({"json": body} if method != "DELETE" else {}),
            }
        if path.endswith("/review"):
            form = {"action": "approve_kind", "kind": "delete", "expected": "1"}
            return {"data": {"csrf_token": csrf, **form}}
        if path.endswith("/promote"):
            return {"data": {"csrf_token": csrf}}
        if path == "/account/tokens":
            return {"data": {"csrf_token": csrf, "name": "nightly export", "days": "30"}}
        if path == "/account/tokens/revoke":
            return {"data": {"csrf_token": csrf, "token_id": "999999"}}
        if path.endswith("/run"):
            name = "feed.csv" if valid else "feed.pdf"
            return {
                "data": {"csrf_token": csrf},
                "files": {"input_file": (name, b"Name,City\nInn,Halifax\n", "text/csv")},
            }
        form = {
            "csrf_token": csrf,
            "yaml_text": config_yaml("demo-csv" if "{slug}" in path else "intruder"),
        }
        return {"data": form}

    # Routes whose permitted request is refused by the domain, not by access control.
    refused_anyway = {
        ("POST", "/pipeline/jobs/{job_id}/promote"): (409, "Review gate"),
        ("POST", "/api/v1/pipeline/jobs/{job_id}/promotion"): (409, "Review gate"),
        ("POST", "/pipeline/configs/{slug}/run"): (400, "must end with .csv"),
        ("POST", "/pipeline/jobs/{job_id}/holds"): (409, "has no pending hold"),
        ("POST", "/api/v1/pipeline/jobs/{job_id}/holds/decisions"): (409, "has no pending hold"),
        ("POST", "/account/tokens/revoke"): (404, "No such API token"),
        ("POST", "/api/v1/pipeline/configs/{slug}/runs"): (400, "send one as input_file"),
        ("GET", "/api/v1/pipeline/configs/{slug}/runs/latest"): (404, "No run of demo-csv"),
    }

    public = {("GET", "/login"), ("POST", "/login")}
    checked = []
    for route in routes_of(app):
        if route.methods is None:  # the /static mount: CSS only
            assert route.path == "/static"
            continue
        rule = access_of(route)
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in public:
                assert rule is None
                continue
            assert rule is not None, f"{method} {route.path} declares no Access rule"
            url = route.path.format(**params)
            is_api = route.path.startswith("/api/") or route.path == "/openapi.json"
            before = snapshot(db, config_dir)

            anonymous = TestClient(app, follow_redirects=False)
            kwargs = unsafe_request(method, route.path, admin) if method != "GET" else {}
            response = anonymous.request(method, url, params=query, **kwargs)
            if is_api:
                assert response.status_code == 401, (method, url, response.status_code)
            else:
                assert response.status_code == 303, (method, url, response.status_code)
                assert response.headers["location"].startswith("/login"), (method, url)
            assert snapshot(db, config_dir) == before, (method, url, "anonymous changed data")
            assert app.state.launcher.last("demo-csv") is None, (method, url, "started a run")

            if rule.permission is not None:
                client = lacking[rule.permission]
                kwargs = unsafe_request(method, route.path, client) if method != "GET" else {}
                response = client.request(method, url, params=query, **kwargs)
                assert response.status_code == 403, (method, url, response.status_code)
                assert rule.permission in response.text
                assert snapshot(db, config_dir) == before, (
                    method,
                    url,
                    "refused call changed data",
                )
                assert app.state.launcher.last("demo-csv") is None, (method, url, "started")
            checked.append((method, route.path, rule.permission))

    assert len(checked) >= 40
    # Positive control: the same requests from someone holding the permission get through.
    for method, path, _ in checked:
        if path == "/logout":
            continue
        write_config(config_dir)  # what the previous request deleted or edited
        (config_dir / "intruder.yaml").unlink(missing_ok=True)
        kwargs = unsafe_request(method, path, admin, valid=False) if method != "GET" else {}
        response = admin.request(method, path.format(**params), params=query, **kwargs)
        if (method, path) in refused_anyway:
            status, reason = refused_anyway[(method, path)]
            assert response.status_code == status and reason in response.text, (method, path)
            continue
        assert response.status_code < 400, (method, path, response.status_code, response.text)


# --- accounts CLI ----------------------------------------------------------------------------


def test_users_cli_adds_grants_and_issues_tokens(app: Any, db: Engine) -> None:
    runner = CliRunner()
    added = runner.invoke(
        users_cli,
        ["add", "Olga", "--password-stdin", "--role", "pipeline_viewer"],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "user olga added" in added.output
    granted = runner.invoke(users_cli, ["grant", "olga", "pipeline_reviewer"])
    assert granted.exit_code == 0 and "granted" in granted.output
    missing = runner.invoke(users_cli, ["grant", "olga", "wizard"])
    assert missing.exit_code == 1 and "role 'wizard' does not exist" in missing.output
    listed = runner.invoke(users_cli, ["list"])
    assert "olga\tactive\tpipeline_reviewer,pipeline_viewer" in listed.output
    token = runner.invoke(users_cli, ["token", "olga", "--name", "cron"]).output.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    me = TestClient(app).get("/api/v1/me", headers=bearer).json()
    assert me["username"] == "olga" and "pipeline:review" in me["permissions"]
    assert me["csrf_token"] is None
    client = login(app, "olga")
    assert client.get("/pipeline/jobs").status_code == 200
    disabled = runner.invoke(users_cli, ["disable", "olga"])
    assert disabled.exit_code == 0, disabled.output
    assert client.get("/pipeline/jobs").status_code == 303  # its session no longer works
    assert TestClient(app).get("/api/v1/me", headers=bearer).status_code == 401
