"""Geocoding against a local server that speaks Nominatim's /search JSON API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, text

from listings_pipeline.configs.model import TransformSettings
from listings_pipeline.transform.geocode import (
    Geocoder,
    GeocoderConfigError,
    GeocoderSettings,
    address_key,
    geocode_stage,
    normalize_address,
)
from listings_pipeline_tests.conftest import count

PLACES = {"12 water st": ("44.6488123", "-63.5752456", "12 Water Street, Halifax")}


class FakeNominatim:
    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        self.failing = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlsplit(self.path)
                params = parse_qs(url.query)
                fake.queries.append(params)
                if fake.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                assert url.path == "/search" and params["format"] == ["json"]
                query = params["q"][0].lower()
                body = [
                    {"lat": lat, "lon": lon, "display_name": name, "place_id": 1}
                    for street, (lat, lon, name) in PLACES.items()
                    if street in query
                ]
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def settings(self, min_delay: float = 0.0) -> GeocoderSettings:
        return GeocoderSettings(
            service="nominatim",
            url=self.url,
            user_agent="listings-test",
            min_delay_seconds=min_delay,
        )


@pytest.fixture
def nominatim(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNominatim]:
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")  # the fake serves on loopback
    fake = FakeNominatim()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def row(address1: str | None, city: str | None = "Halifax") -> dict[str, object]:
    return {"loc_address1": address1, "loc_city": city, "loc_state": "NS", "loc_country": "CA"}


ROWS = [
    row("12 Water St."),
    row("12 Water Street"),  # the same address written out: one request for both
    row("99 Nowhere Lane"),  # not found: remembered too
    row(None),  # no street: never sent
]


def test_second_run_sends_nothing(engine: Engine, nominatim: FakeNominatim) -> None:
    geocoder = Geocoder(nominatim.settings())
    with engine.begin() as conn:
        results = geocoder.geocode_missing(conn, ROWS)
    assert len(nominatim.queries) == 2
    assert nominatim.queries[0]["q"] == ["12 Water St., Halifax, NS, Canada"]
    assert nominatim.queries[0]["countrycodes"] == ["ca"]
    water, nowhere = address_key(ROWS[0]), address_key(ROWS[2])
    assert water == address_key(ROWS[1])
    assert results == {water: (Decimal("44.64881230"), Decimal("-63.57524560")), nowhere: None}
    assert geocoder.stats.as_dict() == {
        "addresses": 2, "cache_hits": 0, "calls": 2, "found": 1, "not_found": 1,
        "failed": 0, "not_configured": 0, "too_thin": 1,
    }  # fmt: skip
    assert count(engine, "pipeline.geocode_cache") == 2

    # Another job, another source, same addresses: everything comes from the cache.
    again = Geocoder(nominatim.settings())
    with engine.begin() as conn:
        assert again.geocode_missing(conn, ROWS) == results
    assert len(nominatim.queries) == 2
    assert again.stats.calls == 0 and again.stats.cache_hits == 2

    rows = [dict(r) for r in ROWS]
    issues = again.fill_coordinates(rows, results, round_lat_lng=5)
    assert (rows[0]["loc_lat"], rows[0]["loc_lng"]) == (Decimal("44.64881"), Decimal("-63.57525"))
    assert rows[1]["loc_lat"] == Decimal("44.64881")
    assert [str(i[0]) for i in issues[2:]] == [
        "locations.lat: address not found by the geocoder",
        "locations.lat: not geocoded: needs locations.address1 and a city or zip",
    ]
    assert issues[0] == issues[1] == []


def test_no_geocoder_configured_warns_but_uses_the_cache(
    engine: Engine, nominatim: FakeNominatim
) -> None:
    with engine.begin() as conn:
        Geocoder(nominatim.settings()).geocode_missing(conn, ROWS[:1])
    geocoder = Geocoder(GeocoderSettings.from_env({}))
    assert not geocoder.configured
    rows = [row("12 Water Street"), row("1 Other Road")]
    with engine.begin() as conn:
        results = geocoder.geocode_missing(conn, rows)
    issues = geocoder.fill_coordinates(rows, results)
    assert rows[0]["loc_lat"] == Decimal("44.648812")
    assert [str(i) for i in issues[1]] == [
        "locations.lat: not geocoded: no geocoder configured (set LISTINGS_GEOCODER)"
    ]
    assert issues[1][0].severity == "warning"
    assert geocoder.stats.not_configured == 1
    assert len(nominatim.queries) == 1


def test_provider_failure_is_not_cached_and_stops_after_three(
    engine: Engine, nominatim: FakeNominatim
) -> None:
    nominatim.failing = True
    geocoder = Geocoder(nominatim.settings())
    rows = [row(f"{n} Water Street") for n in range(1, 6)]
    with engine.begin() as conn:
        results = geocoder.geocode_missing(conn, rows)
    assert results == {}
    # three addresses tried (each once more by the rate limiter), then the provider is left
    # alone for the rest of the job
    assert len(nominatim.queries) == 6
    assert geocoder.stats.failed == 5 and geocoder.stats.calls == 0
    assert count(engine, "pipeline.geocode_cache") == 0
    issues = geocoder.fill_coordinates(rows, results)
    assert (
        "geocoding failed (GeocoderTimedOut: Non-successful status code 503)"
        in issues[0][0].message
    )
    assert "provider unavailable" in issues[4][0].message

    nominatim.failing = False
    with engine.begin() as conn:
        results = Geocoder(nominatim.settings()).geocode_missing(conn, rows)
    assert len(results) == 5 and count(engine, "pipeline.geocode_cache") == 5


def test_rate_limit_spaces_requests(engine: Engine, nominatim: FakeNominatim) -> None:
    geocoder = Geocoder(nominatim.settings(min_delay=0.2))
    started = time.monotonic()
    with engine.begin() as conn:
        geocoder.geocode_missing(conn, [row(f"{n} Main Street") for n in range(3)])
    assert time.monotonic() - started >= 0.4
    assert geocoder.stats.calls == 3


def test_geocode_stage_fills_rows_once(engine: Engine, nominatim: FakeNominatim) -> None:
    columns = ("rec_num", "source_id", "loc_address1", "loc_lat", "loc_lng", "listing_internal_id")
    values = [
        (1, "a", "12 Water St", None, None, None),
        (2, "b", "99 Nowhere Lane", None, None, None),
        (3, "c", "5 Known Road", 44.1, -63.1, None),
        (4, "d", "7 Water Street", None, None, 9),
    ]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO public.dmos (id, name) VALUES (1, 'Demo')"))
        conn.execute(
            text("INSERT INTO pipeline.jobs (id, dmo_id, current_stage) VALUES (1, 1, 'transform')")
        )
        conn.execute(
            text(
                "INSERT INTO stage.listings_flat (job_id, dmo_id, listing_name, loc_city,"
                " loc_country,"
                " rec_num, source_id, loc_address1, loc_lat, loc_lng, listing_internal_id)"
                " VALUES (1, 1, 'Listing', 'Halifax', 'CA', :rec_num, :source_id, :loc_address1,"
                " :loc_lat, :loc_lng, :listing_internal_id)"
            ),
            [dict(zip(columns, v, strict=True)) for v in values],
        )
    transform = TransformSettings(map_fields={"listings.name": "Name"}, round_lat_lng=6)
    geocoder = Geocoder.for_transform(transform, nominatim.settings())
    assert geocoder is not None
    for _ in range(2):  # a retried job: nothing sent again, no warning repeated
        with engine.connect() as conn:
            stats = geocode_stage(conn, 1, geocoder, transform.round_lat_lng, page_size=1)
    assert len(nominatim.queries) == 2
    assert stats.calls == 2 and stats.cache_hits == 1  # the second run re-asked only 'b'
    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT rec_num, loc_lat, loc_lng, validation_warnings"
                " FROM stage.listings_flat ORDER BY rec_num"
            )
        ).all()
    assert got == [
        (1, Decimal("44.64881200"), Decimal("-63.57524600"), None),
        (2, None, None, "locations.lat: address not found by the geocoder"),
        (3, Decimal("44.10000000"), Decimal("-63.10000000"), None),
        (4, None, None, None),  # matched to production: its coordinates come from there
    ]

    off = TransformSettings(map_fields={"listings.name": "Name"}, geocode={"enabled": False})
    assert Geocoder.for_transform(off) is None


def test_address_normalisation_agrees_with_sql(engine: Engine) -> None:
    samples = [
        "12 Water St.",
        "1234 N. Main Ave, Apt 5",
        "Rte 2 & Hwy 6",
        "  O'Brien   Blvd  ",
        "Rue de l'Église 3",
        "",
    ]
    with engine.connect() as conn:
        in_sql = [
            conn.execute(text("SELECT pipeline.normalize_address(:a)"), {"a": s}).scalar_one()
            for s in samples
        ]
    assert in_sql == [normalize_address(s) for s in samples]
    assert in_sql[0] == "12 water street"


def test_unknown_or_incomplete_provider_config_is_named() -> None:
    with pytest.raises(GeocoderConfigError, match="LISTINGS_GEOCODER='nosuch'"):
        Geocoder(GeocoderSettings(service="nosuch"))._provider()
    with pytest.raises(GeocoderConfigError, match="MIN_DELAY"):
        GeocoderSettings.from_env({"LISTINGS_GEOCODER_MIN_DELAY": "fast"})
    settings = GeocoderSettings.from_env({"LISTINGS_GEOCODER_API_KEY": "secret"})
    assert "secret" not in repr(settings)
