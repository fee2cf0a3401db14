"""Console accounts against password guessing and stolen credentials: login throttling per
account and address (in PostgreSQL), bounded Argon2 memory under parallel logins, the password
policy, API tokens that expire and can be revoked, and credentials ended with the password."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline.console import add_user, grant_role, passwords
from listings_pipeline.console.security import DEVICE_COOKIE, SESSION_COOKIE
from listings_pipeline.console.users import (
    AccountError,
    LoginThrottled,
    create_api_token,
    list_api_tokens,
    login,
    revoke_api_token,
    set_active,
    set_password,
    users_cli,
)
from listings_pipeline.db import database_url
from listings_pipeline_tests.console_server import (
    rss_bytes,
    served_in_subprocess,
    served_in_thread,
)
from listings_pipeline_tests.test_console import (  # noqa: F401 - fixtures
    PASSWORD,
    app,
    db,
    make_user,
)
from listings_pipeline_tests.test_console import login as login_client

WRONG = "not the password at all"
INVALID = "Invalid username or password."


def lock_seconds(engine: Engine, scope: str) -> list[float]:
    """The lock lengths now set for `scope`, in seconds (from the last failure)."""
    with engine.connect() as conn:
        return [
            round(v)
            for v in conn.execute(
                text(
                    "SELECT extract(epoch FROM locked_until - last_failure_at)"
                    " FROM auth.login_throttle WHERE scope = :scope AND locked_until IS NOT NULL"
                ),
                {"scope": scope},
            ).scalars()
        ]


def let_locks_pass(engine: Engine) -> None:
    """Time passes: every lock ends now (the failures stay counted)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE auth.login_throttle SET locked_until = now() - interval '1 second',"
                " last_failure_at = last_failure_at - interval '1 second'"
                " WHERE locked_until IS NOT NULL"
            )
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- throttling ----------------------------------------------------------------------------


def test_delays_double_per_failure_up_to_the_lockout_and_a_success_starts_afresh(
    db: Engine,  # noqa: F811
) -> None:
    make_user(db, "ada")
    address = "203.0.113.7"
    locks: list[int | None] = []
    for _ in range(16):
        assert login(db, "ada", WRONG, address) is None
        found = lock_seconds(db, "account")
        locks.append(found[0] if found else None)
        # While locked, even the right password is refused without being checked.
        if found:
            with pytest.raises(LoginThrottled) as refused:
                login(db, "ada", PASSWORD, address)
            assert 1 <= refused.value.retry_after <= found[0]
            let_locks_pass(db)
    assert locks == [None] * 5 + [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    assert login(db, "ada", PASSWORD, address) is not None
    with db.connect() as conn:
        left = conn.execute(text("SELECT scope FROM auth.login_throttle ORDER BY 1")).scalars()
        assert list(left) == ["address"]  # the account starts afresh; the address does not
    assert login(db, "ada", WRONG, address) is None  # one mistake is not a lockout


def test_unknown_usernames_lock_like_real_ones(db: Engine) -> None:  # noqa: F811
    make_user(db, "bea")
    for name in ("bea", "nobody-here"):
        for _ in range(5):
            assert login(db, name, WRONG, "198.51.100.1") is None
        assert login(db, name, WRONG, "198.51.100.1") is None  # the 6th is checked, then locks
        with pytest.raises(LoginThrottled):
            login(db, name, WRONG, "198.51.100.1")
    with db.connect() as conn:
        keys = conn.execute(
            text("SELECT key FROM auth.login_throttle WHERE scope = 'account'")
        ).scalars()
        assert all(len(k) == 64 and "bea" not in k for k in keys)  # hashes, not names


def test_one_address_guessing_many_accounts_is_throttled(db: Engine) -> None:  # noqa: F811
    for i in range(20):
        assert login(db, f"victim{i}", WRONG, "2001:db8:1:2::10") is None
    assert login(db, "victim20", WRONG, "2001:db8:1:2::11") is None  # same /64: one subscriber
    with pytest.raises(LoginThrottled):
        login(db, "victim21", WRONG, "2001:db8:1:2:ffff::1")
    # Another address, and the user it was not guessing at, are not affected.
    make_user(db, "cal")
    assert login(db, "cal", PASSWORD, "192.0.2.44") is not None


def test_a_browser_used_before_gets_in_while_others_keep_the_account_locked(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
) -> None:
    make_user(db, "ola", "pipeline_viewer")
    browser = login_client(app, "ola")
    device = browser.cookies.get(DEVICE_COOKIE)
    assert device, "a successful login marks the browser as known"
    browser.post("/logout", data={"csrf_token": browser.get("/api/v1/me").json()["csrf_token"]})

    # Someone who knows the username fails on purpose, from elsewhere, waiting out each delay,
    # until the account is locked for 32 s.
    for _ in range(10):
        assert login(db, "ola", WRONG, "198.51.100.66") is None
        let_locks_pass(db)
    assert login(db, "ola", WRONG, "198.51.100.66") is None
    assert lock_seconds(db, "account") == [32]
    stranger = TestClient(app, follow_redirects=False)
    form = stranger.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = stranger.post(
        "/login", data={"username": "ola", "password": PASSWORD, "csrf_token": form}
    )
    assert refused.status_code == 429

    # Ola's own browser is counted on its own: she gets in, and gets a fresh device cookie.
    again = browser.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = browser.post(
        "/login", data={"username": "ola", "password": PASSWORD, "csrf_token": again}
    )
    assert response.status_code == 303
    assert browser.cookies.get(DEVICE_COOKIE) not in (None, device)
    with pytest.raises(LoginThrottled):  # the attacker's lock still holds
        login(db, "ola", PASSWORD, "198.51.100.66")
    # The old device cookie was replaced, and a device cookie helps only its own user.
    with pytest.raises(LoginThrottled):
        login(db, "ola", PASSWORD, "192.0.2.8", device)
    make_user(db, "pat")
    pat_device = login_client(app, "pat").cookies.get(DEVICE_COOKIE)
    with pytest.raises(LoginThrottled):
        login(db, "ola", PASSWORD, "192.0.2.8", pat_device)
    # Guessing through a known browser is throttled too, under the device's own count.
    ola_device = browser.cookies.get(DEVICE_COOKIE)
    for _ in range(6):
        assert login(db, "ola", WRONG, "192.0.2.9", ola_device) is None
    with pytest.raises(LoginThrottled):
        login(db, "ola", PASSWORD, "192.0.2.9", ola_device)


def test_forty_wrong_logins_over_http_are_throttled_then_the_lockout_ends(
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    make_user(db, "dora", "super_admin")
    token = ""
    with served_in_thread(db) as (base, _app):
        client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)

        def attempt(password: str, username: str = "dora") -> tuple[httpx.Response, float]:
            nonlocal token
            if not token:  # a successful login ends the login form's CSRF cookie
                token = client.get("/login").text.split('name="csrf_token" value="')[1]
                token = token.split('"')[0]
            started = time.perf_counter()
            response = client.post(
                "/login", data={"username": username, "password": password, "csrf_token": token}
            )
            return response, time.perf_counter() - started

        results = [attempt(WRONG) for _ in range(40)]
        statuses = [r.status_code for r, _ in results]
        assert statuses[:5] == [200] * 5
        assert all(INVALID in r.text for r, _ in results[:5])
        refused = [(r, t) for r, t in results if r.status_code == 429]
        checked = [(r, t) for r, t in results if r.status_code == 200]
        assert len(refused) >= 30 and len(refused) + len(checked) == 40
        for response, _ in refused:
            assert int(response.headers["retry-after"]) >= 1
            assert "Too many failed logins" in response.text
            assert "content-security-policy" in response.headers
        assert SESSION_COOKIE not in client.cookies

        # Wait for the next check, fail it (a longer lock starts), then the right password.
        while (response := attempt(WRONG)[0]).status_code == 429:
            time.sleep(int(response.headers["retry-after"]))
        locked, _ = attempt(PASSWORD)
        assert locked.status_code == 429, "the right password is refused while locked"
        wait = int(locked.headers["retry-after"])
        time.sleep(wait)
        accepted, _ = attempt(PASSWORD)
        assert accepted.status_code == 303, accepted.text
        assert client.get("/pipeline/jobs").status_code == 200

        client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        token = ""
        unknown = [attempt(WRONG, "nobody") for _ in range(3)]
        assert all(r.status_code == 200 and INVALID in r.text for r, _ in unknown)
    print(
        f"\n40 wrong logins: {len(checked)} checked (median"
        f" {statistics.median(t for _, t in checked) * 1000:.0f} ms),"
        f" {len(refused)} refused 429 (median {statistics.median(t for _, t in refused) * 1000:.1f}"
        f" ms), Retry-After seen {sorted({int(r.headers['retry-after']) for r, _ in refused})};"
        f" lock before the right password {wait} s; unknown user median"
        f" {statistics.median(t for _, t in unknown) * 1000:.0f} ms"
    )


# --- bounded hashing -----------------------------------------------------------------------


def test_twenty_parallel_logins_keep_the_console_memory_flat(
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    make_user(db, "crowd0", "pipeline_viewer")
    with db.begin() as conn:  # 19 more with the same password: one hash, not twenty, to set up
        conn.execute(
            text(
                "INSERT INTO auth.users (username, password_hash)"
                " SELECT 'crowd' || i, password_hash FROM auth.users, generate_series(1, 19) i"
                " WHERE username = 'crowd0'"
            )
        )
    users = [f"crowd{i}" for i in range(20)]
    for user in users[1:]:
        grant_role(db, user, "pipeline_viewer")
    # Memory is measured here, not speed: on a loaded box a hash may take a second, so the
    # logins may wait for their slot longer than the default 30 s.
    wait = {"LISTINGS_PASSWORD_HASH_WAIT_SECONDS": "300"}
    with served_in_subprocess(database_url(), config_dir, **wait) as (base, process):

        def login_form() -> tuple[httpx.Client, str]:
            client = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
            page = client.get("/login")
            return client, page.text.split('name="csrf_token" value="')[1].split('"')[0]

        # One login first: the baseline includes what any first login loads.
        warm, token = login_form()
        warm_up = {"username": "crowd0", "password": PASSWORD, "csrf_token": token}
        assert warm.post("/login", data=warm_up).status_code == 303
        clients = [login_form() for _ in users]
        time.sleep(0.5)
        baseline = rss_bytes(process.pid)
        peak = baseline
        sampling = True

        def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, rss_bytes(process.pid))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        barrier = threading.Barrier(len(users))
        statuses: list[int] = []

        def log_in(index: int) -> None:
            client, csrf = clients[index]
            barrier.wait()
            response = client.post(
                "/login",
                data={"username": users[index], "password": PASSWORD, "csrf_token": csrf},
            )
            statuses.append(response.status_code)

        started = time.perf_counter()
        threads = [threading.Thread(target=log_in, args=(i,)) for i in range(len(users))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        sampling = False
        sampler.join()
    growth_mb = (peak - baseline) / 2**20
    print(
        f"\n20 parallel logins: RSS {baseline / 2**20:.0f} MB -> peak {peak / 2**20:.0f} MB"
        f" (growth {growth_mb:.0f} MB), all done in {elapsed:.2f} s"
    )
    assert statuses == [303] * 20
    assert growth_mb < 100


def test_a_login_that_cannot_get_a_hashing_slot_in_time_is_told_to_retry(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user(db, "quin", "pipeline_viewer")
    monkeypatch.setenv("LISTINGS_PASSWORD_HASH_WAIT_SECONDS", "1")
    client = TestClient(app, follow_redirects=False)
    form = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"username": "quin", "password": PASSWORD, "csrf_token": form}
    with passwords._slot():  # every slot (the default: one) busy with another login's hash
        started = time.perf_counter()
        busy = client.post("/login", data=data)
        waited = time.perf_counter() - started
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    assert "Too many logins at once" in busy.text
    assert waited >= 1
    assert client.post("/login", data=data).status_code == 303  # the slot is free again


# --- password policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 12 characters"),
        ("aaaaaaaaaaaa", "Repeats"),
        ("abcabcabcabc", "Repeats"),
        ("password1234", "common and breached"),
        ("1qaz2wsx3edc", "common and breached"),  # a keyboard walk from leaked password sets
        ("qwertyuiop12", "common and breached"),
        ("iloveyou1234", "too easy to guess"),
        ("123456789012", "too easy to guess"),
        ("evaevaeva1234", "too easy to guess"),  # built from the username
        ("listingspipeline", "too easy to guess"),  # from the service's name
    ],
)
def test_weak_passwords_are_refused_with_the_reason(
    db: Engine,  # noqa: F811
    password: str,
    reason: str,
) -> None:
    with pytest.raises(AccountError, match=reason):
        add_user(db, "eva", password)
    make_user(db, "eve")
    with pytest.raises(AccountError, match=reason):
        set_password(db, "eve", password)


def test_good_passwords_are_accepted_and_the_cli_explains_a_refusal(
    db: Engine,  # noqa: F811
) -> None:
    for name, password in [
        ("fin", "correct horse battery"),
        ("gus", "Vq7#mT2!pLx9wR"),
        ("hal", "tram-lilac-harbour-nine"),
    ]:
        add_user(db, name, password)
        assert login(db, name, password, "192.0.2.1") is not None
    refused = CliRunner().invoke(
        users_cli, ["add", "ivy", "--password-stdin"], input="aaaaaaaaaaaa\n"
    )
    assert refused.exit_code == 1
    assert "user 'ivy': password is too easy to guess: Repeats" in refused.output


# --- API tokens ----------------------------------------------------------------------------


def test_password_change_and_disable_end_every_session_and_token(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
) -> None:
    runner = CliRunner()
    make_user(db, "jan", "pipeline_viewer")
    token = create_api_token(db, "jan", "cron")
    browser = login_client(app, "jan")
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert browser.get("/pipeline/jobs").status_code == 200

    changed = runner.invoke(
        users_cli, ["password", "jan", "--password-stdin"], input="a new long passphrase\n"
    )
    assert changed.exit_code == 0, changed.output
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert browser.get("/pipeline/jobs").status_code == 303  # back to the login page
    assert [t.status for t in list_api_tokens(db, "jan")] == ["revoked"]

    fresh = create_api_token(db, "jan", "cron again")
    browser = login_client(app, "jan", "a new long passphrase")
    assert api.get("/api/v1/me", headers=bearer(fresh)).status_code == 200
    assert runner.invoke(users_cli, ["disable", "jan"]).exit_code == 0
    assert api.get("/api/v1/me", headers=bearer(fresh)).status_code == 401
    assert browser.get("/pipeline/jobs").status_code == 303
    # Enabling the user again does not bring old credentials back.
    set_active(db, "jan", True)
    assert api.get("/api/v1/me", headers=bearer(fresh)).status_code == 401


def test_tokens_expire_and_are_listed_and_revoked_from_the_cli(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
) -> None:
    runner = CliRunner()
    make_user(db, "kim", "pipeline_viewer")
    make_user(db, "lou", "pipeline_viewer")
    default = runner.invoke(users_cli, ["token", "kim", "--name", "nightly"]).output.strip()
    weekly = runner.invoke(
        users_cli, ["token", "create", "kim", "--name", "weekly", "--days", "7"]
    ).output.strip()
    other = create_api_token(db, "lou", "lou's script")
    with db.connect() as conn:
        days = dict(
            conn.execute(
                text(
                    "SELECT name, round(extract(epoch FROM expires_at - created_at) / 86400)"
                    " FROM auth.api_tokens"
                )
            ).all()
        )
    assert days == {"nightly": 90, "weekly": 7, "lou's script": 90}
    assert (
        runner.invoke(users_cli, ["token", "create", "kim", "--name", "x", "--days", "0"]).exit_code
        == 2
    )

    listed = runner.invoke(users_cli, ["token", "list", "kim"]).output.splitlines()
    assert [line.split("\t")[1:4] for line in listed] == [
        ["kim", "weekly", "active"],
        ["kim", "nightly", "active"],
    ]
    everyone = runner.invoke(users_cli, ["token", "list"]).output
    assert "lou's script" in everyone

    api = TestClient(app)
    weekly_id = listed[0].split("\t")[0]
    revoked = runner.invoke(users_cli, ["token", "revoke", weekly_id])
    assert revoked.exit_code == 0 and f"token {weekly_id} (kim, weekly) revoked" in revoked.output
    assert api.get("/api/v1/me", headers=bearer(weekly)).status_code == 401
    assert api.get("/api/v1/me", headers=bearer(default)).status_code == 200
    assert runner.invoke(users_cli, ["token", "revoke", "999999"]).exit_code == 1

    with db.begin() as conn:  # time passes: lou's token reaches its expiry
        conn.execute(
            text(
                "UPDATE auth.api_tokens SET expires_at = now() - interval '1 second'"
                " WHERE name = 'lou''s script'"
            )
        )
    assert api.get("/api/v1/me", headers=bearer(other)).status_code == 401
    assert [t.status for t in list_api_tokens(db, "lou")] == ["expired"]
    with pytest.raises(AccountError, match="no API token"):
        revoke_api_token(db, list_api_tokens(db, "lou")[0].id, owner="kim")


def test_console_token_pages_own_tokens_and_admins_see_all(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
) -> None:
    make_user(db, "mia", "pipeline_viewer")
    make_user(db, "ned", "super_admin")
    theirs = create_api_token(db, "ned", "ned's deploy")
    mia = login_client(app, "mia")
    csrf = mia.get("/api/v1/me").json()["csrf_token"]

    page = mia.get("/account/tokens")
    assert page.status_code == 200 and "No API tokens." in page.text
    assert 'href="/account/tokens"' in page.text  # in the sidebar for every user
    assert "/admin/tokens" not in page.text
    created = mia.post(
        "/account/tokens", data={"csrf_token": csrf, "name": "report export", "days": "30"}
    )
    assert created.status_code == 200
    token = created.text.split('<code class="secret">')[1].split("</code>")[0]
    assert token.startswith("lpt_")
    assert TestClient(app).get("/api/v1/me", headers=bearer(token)).json()["username"] == "mia"
    listing = mia.get("/account/tokens").text
    assert "report export" in listing and token not in listing  # the secret is shown once
    assert "ned&#39;s deploy" not in listing and "ned's deploy" not in listing

    bad = mia.post("/account/tokens", data={"csrf_token": csrf, "name": "x", "days": "99999"})
    assert bad.status_code == 400 and "1 to 3650 days" in bad.text
    assert mia.get("/admin/tokens").status_code == 403

    ned_id = next(t.id for t in list_api_tokens(db, "ned"))
    stranger = mia.post("/account/tokens/revoke", data={"csrf_token": csrf, "token_id": ned_id})
    assert stranger.status_code == 404  # not hers: as if it did not exist
    assert TestClient(app).get("/api/v1/me", headers=bearer(theirs)).status_code == 200

    mine = next(t.id for t in list_api_tokens(db, "mia"))
    revoked = mia.post("/account/tokens/revoke", data={"csrf_token": csrf, "token_id": mine})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/account/tokens"
    assert TestClient(app).get("/api/v1/me", headers=bearer(token)).status_code == 401

    ned = login_client(app, "ned")
    all_page = ned.get("/admin/tokens")
    assert all_page.status_code == 200
    assert "report export" in all_page.text and "mia" in all_page.text
    ned_csrf = ned.get("/api/v1/me").json()["csrf_token"]
    grant_role(db, "mia", "pipeline_reviewer")
    other = create_api_token(db, "mia", "another")
    other_id = next(t.id for t in list_api_tokens(db, "mia") if t.name == "another")
    by_admin = ned.post(
        "/account/tokens/revoke",
        data={"csrf_token": ned_csrf, "token_id": other_id, "back": "/admin/tokens"},
    )
    assert by_admin.status_code == 303 and by_admin.headers["location"] == "/admin/tokens"
    assert TestClient(app).get("/api/v1/me", headers=bearer(other)).status_code == 401
