"""Secrets a config may name and where they may go (issue 16): only environment variables the
operator set aside, refused at validation; sent only to the configured origin, never along a
redirect to another; never in error messages or job rows. Real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs.loader import ConfigError, parse_config
from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.net.secrets import mask
from listings_pipeline_tests.local_http import LocalServer, Reply, html_reply, json_reply
from listings_pipeline_tests.test_connectors import FAST_RETRIES, cfg, run

TOKEN, KEY, TENANT = "tok-9f8e7d6c", "key-1a2b3c4d", "tenant-5e6f7a8b"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTINGS_SECRET_ENV_PREFIX", raising=False)
    monkeypatch.delenv("LISTINGS_ALLOWED_SECRET_ENV", raising=False)
    monkeypatch.setenv("LISTINGS_SECRET_TOKEN", TOKEN)
    monkeypatch.setenv("LISTINGS_SECRET_KEY", KEY)
    monkeypatch.setenv("LISTINGS_SECRET_TENANT", TENANT)
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")  # both servers: loopback


@pytest.fixture
def home() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[LocalServer]:
    """Another origin: the same address, another port."""
    with LocalServer() as server:
        yield server


SECRET_OPTIONS = {
    "bearer_token_env": "LISTINGS_SECRET_TOKEN",
    "headers_from_env": {"X-Tenant": "LISTINGS_SECRET_TENANT"},
    "params_from_env": {"api_key": "LISTINGS_SECRET_KEY"},
}


def config_text(**api: Any) -> str:
    body = {
        "slug": "partner-api",
        "dmo_id": 1,
        "dmo_name": "DMO",
        "name": "Partner API",
        "source_type": "api",
        "import": {"api": {"url": "https://partner.example/v1", **api}},
        "transform": {"map_fields": {"listings.name": "name"}},
    }
    return yaml.safe_dump(body)


# --- which variables a config may name ----------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "key", "name"),
    [
        ({"headers_from_env": {"X-Leak": "AWS_SECRET_ACCESS_KEY"}}, "headers_from_env", "AWS_"),
        ({"bearer_token_env": "LISTINGS_DATABASE_URL"}, "bearer_token_env", "LISTINGS_DATABASE"),
        ({"params_from_env": {"k": "HOME"}}, "params_from_env", "HOME"),
    ],
)
def test_a_config_naming_an_unallowed_variable_is_refused_at_validation(
    secrets: None, options: dict, key: str, name: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(config_text(**options), Path("partner-api.yaml"))
    (problem_key, message), *_ = err.value.problems
    assert problem_key == f"import.api.{key}"
    assert name in message and "LISTINGS_SECRET_" in message
    assert "LISTINGS_ALLOWED_SECRET_ENV" in message


def test_the_operator_chooses_the_prefix_and_the_list(
    secrets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path("partner-api.yaml")
    parse_config(config_text(bearer_token_env="LISTINGS_SECRET_TOKEN"), path)
    monkeypatch.setenv("LISTINGS_ALLOWED_SECRET_ENV", "PARTNER_TOKEN, OTHER")
    parse_config(config_text(bearer_token_env="PARTNER_TOKEN"), path)
    monkeypatch.setenv("LISTINGS_SECRET_ENV_PREFIX", "DMO_")
    parse_config(config_text(bearer_token_env="DMO_TOKEN"), path)
    with pytest.raises(ConfigError, match="LISTINGS_SECRET_TOKEN may not be used"):
        parse_config(config_text(bearer_token_env="LISTINGS_SECRET_TOKEN"), path)
    monkeypatch.setenv("LISTINGS_SECRET_ENV_PREFIX", "")  # no prefix: the list only
    with pytest.raises(ConfigError, match="DMO_TOKEN may not be used"):
        parse_config(config_text(bearer_token_env="DMO_TOKEN"), path)
    parse_config(config_text(bearer_token_env="OTHER"), path)


def test_the_rule_holds_at_run_time_too(
    secrets: None, home: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTINGS_ALLOWED_SECRET_ENV", "PARTNER_TOKEN")
    monkeypatch.setenv("PARTNER_TOKEN", TOKEN)
    config = cfg("api", api={"url": f"{home.url}/x", "bearer_token_env": "PARTNER_TOKEN"})
    monkeypatch.delenv("LISTINGS_ALLOWED_SECRET_ENV")  # the operator withdrew it since
    with pytest.raises(ImportFailed, match="PARTNER_TOKEN may not be used"):
        run(config)
    assert home.seen == []


# --- where secrets go -------------------------------------------------------------------------
def test_secrets_are_not_forwarded_on_a_redirect_to_another_origin(
    secrets: None, home: LocalServer, elsewhere: LocalServer
) -> None:
    home.routes["/v1"] = lambda req: Reply(302, "", {"Location": f"{elsewhere.url}/cdn?page=1"})
    elsewhere.routes["/cdn"] = lambda req: json_reply([{"id": 1, "name": "Harbour Inn"}])

    records, _ = run(cfg("api", api={"url": f"{home.url}/v1", **SECRET_OPTIONS}))

    assert [r.data["id"] for r in records] == [1]
    (at_home,) = home.seen
    assert at_home.headers["Authorization"] == f"Bearer {TOKEN}"
    assert at_home.headers["X-Tenant"] == TENANT and at_home.query["api_key"] == KEY
    (away,) = elsewhere.seen
    assert "Authorization" not in away.headers and "X-Tenant" not in away.headers
    assert away.query == {"page": "1"}
    assert not any(s in str(away.headers) for s in (TOKEN, KEY, TENANT))


def test_same_origin_redirects_keep_the_secrets(secrets: None, home: LocalServer) -> None:
    home.routes["/v1"] = lambda req: Reply(301, "", {"Location": "/v2"})
    home.routes["/v2"] = lambda req: json_reply([{"id": 2}])
    records, _ = run(cfg("api", api={"url": f"{home.url}/v1", **SECRET_OPTIONS}))
    assert [r.data["id"] for r in records] == [2]
    assert [s.headers["X-Tenant"] for s in home.seen] == [TENANT, TENANT]
    assert home.seen[1].query["api_key"] == KEY


def test_a_redirect_carrying_a_secret_to_another_origin_is_refused(
    secrets: None, home: LocalServer, elsewhere: LocalServer
) -> None:
    home.routes["/v1"] = lambda req: Reply(
        302, "", {"Location": f"{elsewhere.url}/collect?k={req.query['api_key']}"}
    )
    with pytest.raises(ImportFailed, match="carries a configured secret off its host") as err:
        run(cfg("api", api={"url": f"{home.url}/v1", **SECRET_OPTIONS}))
    assert elsewhere.seen == []
    assert KEY not in str(err.value)


def test_wordpress_secrets_stay_with_the_site(
    secrets: None, home: LocalServer, elsewhere: LocalServer
) -> None:
    home.routes["/wp-json/wp/v2/posts"] = lambda req: Reply(
        307, "", {"Location": f"{elsewhere.url}/wp-json/wp/v2/posts?page={req.query['page']}"}
    )
    elsewhere.routes["/wp-json/wp/v2/posts"] = lambda req: json_reply([])
    run(cfg("wordpress", wordpress={"base_url": home.url, **SECRET_OPTIONS}))
    assert home.seen[0].headers["X-Tenant"] == TENANT
    assert elsewhere.seen and all("X-Tenant" not in s.headers for s in elsewhere.seen)
    assert all("Authorization" not in s.headers for s in elsewhere.seen)


# --- never in messages or job rows --------------------------------------------------------------
def test_error_messages_and_job_rows_mask_secrets_and_omit_bodies(
    secrets: None,
    home: LocalServer,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A server that echoes what it was sent: in its status line, then in an HTML body.
    answers = iter(
        [
            Reply(503, "", reason=f"Unavailable for {TOKEN}"),
            Reply(503, "", reason=f"Unavailable for {TOKEN}"),
            Reply(503, "", reason=f"Unavailable for {TOKEN}"),
        ]
    )
    home.routes["/v1"] = lambda req: next(answers)
    caplog.set_level(logging.DEBUG)
    config = cfg(
        "api",
        api={"url": f"{home.url}/v1", **SECRET_OPTIONS, **FAST_RETRIES},
        source_id={"field": "id", "hash_of": ["listings.name"]},
    )

    job_id = pipeline.start_job(engine, config, input_path=None)
    with pytest.raises(ImportFailed) as err:
        pipeline.import_stage(engine, job_id, config, None)

    assert "HTTP 503 Unavailable for ***" in str(err.value)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT error_message FROM pipeline.jobs WHERE id = :j"
                " UNION ALL SELECT message FROM pipeline.job_stages WHERE job_id = :j"
            ),
            {"j": job_id},
        ).scalars()
        stored = [r for r in rows if r]
    assert stored and all("***" in r for r in stored)
    for secret in (TOKEN, KEY, TENANT):
        assert secret not in str(err.value)
        assert all(secret not in r for r in stored)
        assert secret not in caplog.text

    page = f"<html><body>Hello {TENANT}, your key is {KEY}</body></html>"
    home.routes["/v1"] = lambda req: html_reply(page)
    with pytest.raises(ImportFailed) as err:
        run(cfg("api", api={"url": f"{home.url}/v1", **SECRET_OPTIONS}))
    assert "expected JSON, got 'text/html; charset=utf-8'" in str(err.value)
    assert "Hello" not in str(err.value) and KEY not in str(err.value)


def test_mask_replaces_every_remembered_secret(secrets: None, home: LocalServer) -> None:
    home.routes["/v1"] = lambda req: json_reply([])
    run(cfg("api", api={"url": f"{home.url}/v1", **SECRET_OPTIONS}))  # reads (remembers) them
    assert mask(f"a {TOKEN} b {KEY}{TENANT}") == "a *** b ******"
    assert mask("nothing secret") == "nothing secret"
