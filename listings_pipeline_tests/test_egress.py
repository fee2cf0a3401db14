"""The egress guard (issue 16): every outbound request of the product — API, WordPress and
website sources, the geocoder, image downloads — refuses the pipeline's own network unless the
operator allow-lists it, on every connection, redirect hop and DNS answer; the crawler stays on
its hosts. Real HTTP on 127.0.0.1 only; refused requests must never reach the listener."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from listings_pipeline.images.fetch import Downloader
from listings_pipeline.images.problems import ImageProblem
from listings_pipeline.images.settings import ImageSettings
from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.net import BlockedAddress, EgressPolicy
from listings_pipeline.net.addresses import refusal
from listings_pipeline.transform.geocode import Geocoder, GeocoderConfigError
from listings_pipeline_tests.local_http import LocalServer, Reply, html_reply, json_reply
from listings_pipeline_tests.test_connectors import FAST_RETRIES, cfg, run
from listings_pipeline_tests.test_geocode import FakeNominatim

ALLOW = "LISTINGS_EGRESS_ALLOW"

# (address, what the refusal says) — each a way into the pipeline's own network.
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "unique local"),
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("169.254.170.2", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("192.0.0.8", "IETF protocol assignment"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("2001:db8::1", "documentation"),
    ("fec0::1", "site-local"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    # IPv4 written as IPv6: judged by the IPv4 address inside.
    ("::ffff:127.0.0.1", "IPv4-mapped address embedding 127.0.0.1 (loopback"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:10.1.2.3", "embedding 10.1.2.3 (private"),
    ("64:ff9b::7f00:1", "NAT64 address embedding 127.0.0.1 (loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 address embedding 169.254.169.254 (cloud metadata"),
    ("64:ff9b::a00:1", "NAT64 address embedding 10.0.0.1 (private"),
    ("64:ff9b::6440:1", "NAT64 address embedding 100.64.0.1 (carrier-grade NAT"),
    ("64:ff9b:1::7f00:1", "local-use NAT64"),
    ("2002:7f00:1::", "6to4 address embedding 127.0.0.1 (loopback"),
    ("2002:a9fe:a9fe::1", "6to4 address embedding 169.254.169.254 (cloud metadata"),
    ("2002:c0a8:101::1", "6to4 address embedding 192.168.1.1 (private"),
    ("::127.0.0.1", "IPv4-compatible"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
          "2002:808:808::1"]  # fmt: skip


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.delenv(ALLOW, raising=False)  # the product's default: loopback refused
    with LocalServer() as srv:
        yield srv


def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "127.0.0.1/32")


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_private_and_embedded_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(BlockedAddress) as err:
        EgressPolicy().check("listings.example", address)
    assert reason in str(err.value)
    assert "LISTINGS_EGRESS_ALLOW" in str(err.value)  # says how the operator allows it


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    EgressPolicy().check("listings.example", address)
    assert refusal(ipaddress.ip_address(address)) is None


def test_allow_list_opens_only_what_it_names() -> None:
    policy = EgressPolicy.from_env({ALLOW: "127.0.0.1/32, 10.0.0.0/8"})
    policy.check("h", "127.0.0.1")
    policy.check("h", "::ffff:127.0.0.1")  # the same host written as IPv6
    policy.check("h", "10.20.30.40")
    for address in ("127.0.0.2", "192.168.0.1", "::1", "64:ff9b::7f00:1"):
        with pytest.raises(BlockedAddress):
            policy.check("h", address)
    # Metadata stays closed inside a wider allowed network; only its own entry opens it.
    for wide in ("169.254.0.0/16", "0.0.0.0/0"):
        with pytest.raises(BlockedAddress, match="cloud metadata"):
            EgressPolicy.from_env({ALLOW: wide}).check("h", "169.254.169.254")
    EgressPolicy.from_env({ALLOW: "169.254.169.254/32"}).check("h", "169.254.169.254")
    with pytest.raises(ValueError, match="LISTINGS_EGRESS_ALLOW: '10.0.0.0/33'"):
        EgressPolicy.from_env({ALLOW: "10.0.0.0/33"})


# --- the sources -------------------------------------------------------------------------------
def test_secret_header_config_to_a_loopback_listener_is_refused(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTINGS_SECRET_LEAK", "s3cr3t-value-1")
    server.routes["/x"] = lambda req: json_reply([{"id": 1}])
    config = cfg(
        "api",
        api={"url": f"{server.url}/x", "headers_from_env": {"X-Leak": "LISTINGS_SECRET_LEAK"}},
    )
    with pytest.raises(ImportFailed) as err:
        run(config)
    assert "127.0.0.1: loopback address, refused" in str(err.value)
    assert server.seen == []  # refused before connecting: the secret never left
    assert "s3cr3t-value-1" not in str(err.value)


@pytest.mark.parametrize("kind", ["api", "wordpress", "website"])
def test_every_network_source_is_guarded(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    options: dict[str, Any] = {
        "api": {"api": {"url": f"{server.url}/x"}},
        "wordpress": {"wordpress": {"base_url": server.url}},
        "website": {
            "website": {
                "start_urls": [f"{server.url}/places"],
                "link_selector": "a",
                "fields": {"name": "h1"},
                "contact_url": "https://dmo.example/contact",
            }
        },
    }[kind]
    with pytest.raises(ImportFailed, match="loopback address, refused"):
        run(cfg(kind, **options))
    assert server.seen == []


def test_names_are_judged_by_their_dns_answers(server: LocalServer) -> None:
    # `localhost` is a name, not an address: what it resolves to is what is refused.
    url = server.url.replace("127.0.0.1", "localhost")
    with pytest.raises(ImportFailed, match=r"localhost resolves to (127\.0\.0\.1|::1)"):
        run(cfg("api", api={"url": f"{url}/x"}))
    assert server.seen == []


def test_the_connection_goes_to_the_vetted_address(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once, by the guard, and the socket connects to
    that vetted address (the HTTP library never resolves it a second time)."""
    allow_loopback(monkeypatch)
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "feed.partner.test":  # a name only this resolver knows
            lookups.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    server.routes["/x"] = lambda req: json_reply([{"id": 1}])
    port = server.url.rsplit(":", 1)[1]
    records, _ = run(cfg("api", api={"url": f"http://feed.partner.test:{port}/x"}))
    assert [r.data for r in records] == [{"id": 1}]
    assert lookups == ["feed.partner.test"]  # once; the connection used its answer
    assert server.seen[0].headers["Host"] == f"feed.partner.test:{port}"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254: cloud metadata"),
        ("http://127.0.0.2:{port}/x", "127.0.0.2: loopback address, refused"),
        ("http://[::ffff:10.0.0.1]/", "embedding 10.0.0.1 (private"),
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
    ],
)
def test_each_redirect_hop_is_checked(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    allow_loopback(monkeypatch)
    port = server.url.rsplit(":", 1)[1]
    server.routes["/x"] = lambda req: Reply(302, "", {"Location": target.format(port=port)})
    with pytest.raises(ImportFailed, match=message.replace("(", r"\(")):
        run(cfg("api", api={"url": f"{server.url}/x", **FAST_RETRIES}))
    assert [s.path for s in server.seen] == ["/x"]  # refused at the hop, and not retried


def test_config_urls_must_be_http() -> None:
    for bad in ("file:///etc/passwd", "gopher://x/1", "/etc/passwd", "http://"):
        with pytest.raises(ValidationError, match="not an absolute http"):
            cfg("api", api={"url": bad})
    with pytest.raises(ValidationError, match="start_urls"):
        cfg(
            "website",
            website={
                "start_urls": ["file:///etc/passwd"],
                "link_selector": "a",
                "fields": {"name": "h1"},
                "contact_url": "https://dmo.example/contact",
            },
        )


# --- the website crawler stays on its hosts -----------------------------------------------------
def _crawl_config(start: str, **overrides: Any) -> Any:
    return cfg(
        "website",
        website={
            "start_urls": [start],
            "link_selector": "a.place",
            "next_selector": "a[rel=next]",
            "fields": {"name": "h1"},
            "contact_url": "https://dmo.example/contact",
            "rate_limit_per_second": 20,
            "headers_from_env": {"X-Site-Key": "LISTINGS_SECRET_SITE_KEY"},
            **FAST_RETRIES,
            **overrides,
        },
    )


def test_crawler_does_not_follow_links_to_other_hosts(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback(monkeypatch)
    monkeypatch.setenv("LISTINGS_SECRET_SITE_KEY", "site-key-123")
    with LocalServer() as other:
        other.routes["/stolen"] = lambda req: html_reply("<h1>Console login</h1>")
        port = server.url.rsplit(":", 1)[1]
        server.routes["/places"] = lambda req: html_reply(
            '<a class="place" href="/place/1">ours</a>'
            f'<a class="place" href="http://localhost:{port}/place/2">another name</a>'
            f'<a class="place" href="{other.url}/stolen">another port</a>'
        )
        server.routes["/place/1"] = lambda req: html_reply("<h1>Harbour Inn</h1>")
        server.routes["/place/2"] = lambda req: html_reply("<h1>Fetched by another name</h1>")

        records, problems = run(_crawl_config(f"{server.url}/places"))

        assert [r.data["name"] for r in records] == ["Harbour Inn"]
        assert sorted(p.locator for p in problems) == sorted(
            [f"http://localhost:{port}/place/2", f"{other.url}/stolen"]
        )
        assert all("not one of the crawl's hosts" in p.message for p in problems)
        assert other.seen == []
        assert all(s.headers["Host"] == f"127.0.0.1:{port}" for s in server.seen)
        assert {s.headers["X-Site-Key"] for s in server.seen} == {"site-key-123"}

        # Listed in allowed_hosts, the other host is crawled — without the site's secret.
        other_site = other.url.removeprefix("http://")
        other.routes["/robots.txt"] = lambda req: Reply(404)
        records, problems = run(_crawl_config(f"{server.url}/places", allowed_hosts=[other_site]))
        assert sorted(r.data["name"] for r in records) == ["Console login", "Harbour Inn"]
        assert [p.locator for p in problems] == [f"http://localhost:{port}/place/2"]
        assert other.seen and all("X-Site-Key" not in s.headers for s in other.seen)


def test_crawler_fails_rather_than_leave_by_a_next_link_or_redirect(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_loopback(monkeypatch)
    monkeypatch.setenv("LISTINGS_SECRET_SITE_KEY", "site-key-123")
    with LocalServer() as other:
        server.routes["/places"] = lambda req: html_reply(
            '<a class="place" href="/moved">1</a>'
            f'<a rel="next" href="{other.url}/places?page=2">next</a>'
        )
        server.routes["/moved"] = lambda req: Reply(301, "", {"Location": f"{other.url}/p"})
        with pytest.raises(ImportFailed, match="next list page .* is not one of the crawl's"):
            run(_crawl_config(f"{server.url}/places"))
        server.routes["/places"] = lambda req: html_reply('<a class="place" href="/moved">1</a>')
        records, problems = run(_crawl_config(f"{server.url}/places"))
        assert records == []
        assert "redirect from" in problems[0].message
        assert "is not one of the crawl's hosts" in problems[0].message
        assert other.seen == []


# --- the geocoder and the images -------------------------------------------------------------
def test_geocoder_requests_are_guarded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)
    fake = FakeNominatim()
    try:
        threading.Thread(target=fake.server.serve_forever, daemon=True).start()
        geocoder = Geocoder(fake.settings())
        rows = [{"loc_address1": "12 Water St", "loc_city": "Halifax", "loc_country": "CA"}]
        with engine.begin() as conn, pytest.raises(GeocoderConfigError) as err:
            geocoder.geocode_missing(conn, rows)
        assert "LISTINGS_GEOCODER_URL: 127.0.0.1: loopback address, refused" in str(err.value)
        assert fake.queries == []
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def test_image_downloader_checks_the_address_before_its_rate_limiter(tmp_path: Path) -> None:
    settings = ImageSettings(local_dir=tmp_path, per_host_rps=0.5, max_retries=0)
    with Downloader(settings) as downloader:
        for _ in range(3):
            with pytest.raises(ImageProblem) as err:
                downloader.fetch("http://127.0.0.2:9/a.jpg")
            assert err.value.reason == "blocked_address"
        # No slot was reserved for the refused host: the refusals did not wait 2 s each.
        assert downloader._limiter._next == {}


def test_images_old_allow_private_setting_still_keeps_metadata_closed(tmp_path: Path) -> None:
    settings = ImageSettings(local_dir=tmp_path, allow_private_networks=True, max_retries=0)
    policy = settings.egress_policy()
    policy.check("h", "10.1.2.3")  # as before: private networks allowed
    with pytest.raises(BlockedAddress, match="cloud metadata"):
        policy.check("h", "169.254.169.254")
