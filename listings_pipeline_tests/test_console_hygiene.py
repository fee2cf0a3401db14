"""HTTP hygiene of the console, served for real: malformed parameters answer 4xx (never 500),
every response carries the security headers, `db url` hides the password, and cookies are
Secure when the console is configured as served over HTTPS."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from listings_pipeline.console.security import (
    CSRF_HEADER,
    DEVICE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    routes_of,
)
from listings_pipeline_tests.console_server import served_in_thread
from listings_pipeline_tests.test_console import (  # noqa: F401 - fixtures
    PASSWORD,
    db,
    make_user,
    seed,
)

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)

# Sent already percent-encoded, so the server sees exactly these bytes.
HOSTILE_VALUES = (
    "%00",
    "1%00",
    "a%00b",
    "99999999999999999999999999",
    "9223372036854775808",
    "2147483648",
    "-1",
    "-99999999999999999999999999",
    "0",
    "x" * 5000,
    "%ff%fe",
    "%c3%28",
    "%ed%a0%80",
    "%25",
    "1e309",
)


def login_http(base: str, username: str, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return client


def problems_of(response: httpx.Response, what: object) -> list[str]:
    found = []
    if response.status_code >= 500:
        found.append(f"{what}: {response.status_code} {response.text[:120]!r}")
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    if missing:
        found.append(f"{what}: {response.status_code} without {', '.join(missing)}")
    return found


def _valid_path_value(name: str, ids: dict[str, int]) -> str:
    return "demo-csv" if name == "slug" else str(ids.get(name, ids["job_id"]))


def test_fuzz_every_route_parameter_finds_no_500_and_headers_everywhere(
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    from listings_pipeline_tests.conftest import write_config

    write_config(config_dir)
    ids = seed(db)
    make_user(db, "fuzz", "super_admin")
    with served_in_thread(db) as (base, app):
        client = login_http(base, "fuzz")
        csrf = client.get("/api/v1/me").json()["csrf_token"]
        tried = 0
        problems: list[str] = []
        params_seen: set[tuple[str, str]] = set()
        for route in routes_of(app):
            route = getattr(route, "original_route", route)
            dependant = getattr(route, "dependant", None)
            if dependant is None:
                continue
            path_names = [p.name for p in dependant.path_params]
            query_names = [p.name for p in dependant.query_params]
            for method in sorted(route.methods - {"HEAD"}):
                unsafe = method not in ("GET", "OPTIONS")
                for target in [("path", n) for n in path_names] + [
                    ("query", n) for n in query_names
                ]:
                    params_seen.add((route.path, target[1]))
                    for value in HOSTILE_VALUES:
                        path = route.path
                        for name in path_names:
                            fill = value if target == ("path", name) else None
                            path = path.replace(
                                "{" + name + "}", fill or _valid_path_value(name, ids)
                            )
                        url = base + path
                        if target[0] == "query":
                            url += f"?{target[1]}={value}"
                        headers = {CSRF_HEADER: csrf} if unsafe else {}
                        data = {"csrf_token": csrf} if unsafe else None
                        what = (method, route.path, target, value[:40])
                        try:
                            response = client.request(method, url, headers=headers, data=data)
                        except httpx.TransportError as err:  # the server dropped the connection
                            problems.append(f"{what}: {err!r}")
                            continue
                        problems += problems_of(response, what)
                        tried += 1
        # Errors outside any route: unknown paths, wrong methods, static files.
        for method, path in [
            ("GET", "/no/such/page"),
            ("GET", "/api/v1/no/such"),
            ("GET", "/pipeline/jobs/%00"),
            ("PUT", "/login"),
            ("DELETE", "/pipeline/jobs"),
            ("GET", "/static/%00"),
            ("GET", "/static/../../etc/passwd"),
            ("GET", "/pipeline/jobs?page=%00&page=2"),
        ]:
            problems += problems_of(client.request(method, base + path), (method, path))
            problems += problems_of(httpx.request(method, base + path), ("anonymous", path))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    print(f"\nfuzz: {tried} requests over {len(params_seen)} route parameters, no 500")
    assert len(params_seen) >= 60  # every route's parameters, not a sample


def test_server_error_is_a_page_with_the_security_headers(
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    from fastapi import APIRouter

    make_user(db, "boom", "super_admin")
    with served_in_thread(db) as (base, app):
        router = APIRouter()

        @router.get("/api/v1/boom")
        @router.get("/boom")
        def boom() -> None:
            raise RuntimeError("a bug")

        app.include_router(router)
        for path in ("/boom", "/api/v1/boom"):
            response = httpx.get(base + path)
            assert response.status_code == 500
            assert_hygienic_headers_only(response)
            assert "a bug" not in response.text  # no internals shown to the caller


def assert_hygienic_headers_only(response: httpx.Response) -> None:
    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
    assert not missing, missing


def test_db_url_masks_the_password_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from listings_pipeline.cli import main

    monkeypatch.setenv("LISTINGS_DATABASE_URL", "postgresql://app:s3cret-pw@db.internal:5432/lp")
    runner = CliRunner()
    masked = runner.invoke(main, ["db", "url"])
    assert masked.exit_code == 0, masked.output
    assert "s3cret-pw" not in masked.output
    assert "postgresql+psycopg://app:***@db.internal:5432/lp" in masked.output
    shown = runner.invoke(main, ["db", "url", "--show-password"])
    assert shown.output.strip() == "postgresql+psycopg://app:s3cret-pw@db.internal:5432/lp"


@pytest.mark.parametrize(
    ("setting", "secure"),
    [
        ({}, False),
        ({"LISTINGS_CONSOLE_PUBLIC_URL": "https://console.example.org"}, True),
        ({"LISTINGS_CONSOLE_PUBLIC_URL": "http://localhost:8000"}, False),
    ],
)
def test_cookies_are_secure_when_the_console_is_served_over_https(
    db: Engine,  # noqa: F811
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: dict[str, str],
    secure: bool,
) -> None:
    for key, value in setting.items():
        monkeypatch.setenv(key, value)
    make_user(db, "sam", "super_admin")
    with served_in_thread(db) as (base, _app):
        page = httpx.get(f"{base}/login")
        login_cookie = page.headers["set-cookie"]
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        # By hand: an http client keeps a Secure cookie to itself, as a browser would.
        response = httpx.post(
            f"{base}/login",
            data={"username": "sam", "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={token}"},
        )
        set_cookies = response.headers.get_list("set-cookie")
        session_cookie = next(c for c in set_cookies if c.startswith(SESSION_COOKIE))
        device_cookie = next(c for c in set_cookies if c.startswith(DEVICE_COOKIE))
        for cookie in (login_cookie, session_cookie, device_cookie):
            assert ("; secure" in cookie.lower()) is secure, cookie
            assert "httponly" in cookie.lower()
        hsts = response.headers.get("strict-transport-security")
        assert (hsts is not None) is secure, hsts
