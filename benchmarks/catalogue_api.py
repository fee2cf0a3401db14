"""Published-catalogue API latency on a 50,000-listing catalogue, over real HTTP (uvicorn on
127.0.0.1), and the JSON-LD export's throughput.

Run: LISTINGS_HOME=/tmp/lp-bench-cat PYTHONPATH=. python benchmarks/catalogue_api.py \
         [--listings 50000] [--runs 15]
Fills an empty database (or reuses one it filled before) with listings that have a location,
contact, one or two DMOs' listing_info (~2 KB description), two images, seven opening hours,
two attributes and their history, then prints the median and p90 time of each request.
Figures are for the machine it runs on.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from sqlalchemy import Connection, Engine, text

from listings_pipeline.catalogue import published
from listings_pipeline.console import add_user, create_app, grant_role
from listings_pipeline.console.users import create_api_token
from listings_pipeline.db import get_engine
from listings_pipeline.db.migrate import upgrade

FILL = """
SET LOCAL listings.promoting = 'on';
INSERT INTO public.dmos (id, name) VALUES (1, 'Bench DMO'), (2, 'Coast DMO');
INSERT INTO public.locations (id, address1, city, state, zip, country, lat, lng)
SELECT i, i || ' Water Street', 'City ' || (i % 300), 'NS', 'B3H ' || (i % 10) || 'A1', 'CA',
       43.5 + (i % 1000) * 0.003, -66.0 + (i / 1000) * 0.08
FROM generate_series(1, :n) i;
INSERT INTO public.listings (id, name, location_id, imported_from)
SELECT i, (ARRAY['Harbour', 'Old Mill', 'Blue Heron', 'Lighthouse', 'Hilltop'])[1 + i % 5] || ' '
          || (ARRAY['Inn', 'Cafe', 'Museum', 'Park', 'Tours', 'Gallery'])[1 + i % 6] || ' ' || i,
       i, 'bench'
FROM generate_series(1, :n) i;
INSERT INTO public.contact_info (id, email, local_phone, website_url, socials)
SELECT i, 'info' || i || '@example.com', '+1902555' || lpad((i % 10000)::TEXT, 4, '0'),
       'https://example.com/' || i, jsonb_build_object('facebook', 'https://facebook.com/p' || i)
FROM generate_series(1, :n) i;
INSERT INTO public.listing_info (id, listing_id, dmo_id, contact_info_id, description)
SELECT i, i, 1, i, 'Listing ' || i || '. ' || repeat('A quiet place by the sea. ', 80)
FROM generate_series(1, :n) i;
INSERT INTO public.listing_info (id, listing_id, dmo_id, description)
SELECT :n + i, i, 2, 'Coast view of ' || i FROM generate_series(1, :n) i WHERE i % 5 = 0;
INSERT INTO public.listing_images (listing_info_id, image, sort_order)
SELECT i, 'https://img.example.com/' || i || '/' || k || '.jpg', k
FROM generate_series(1, :n) i, generate_series(1, 2) k;
INSERT INTO public.opening_hours (listing_info_id, day_id, open_time, close_time)
SELECT i, d, '09:00', '17:00' FROM generate_series(1, :n) i, generate_series(1, 7) d;
INSERT INTO public.attributes (name) VALUES ('Tours'), ('Food'), ('Parking'), ('Museum'),
    ('Ocean View');
INSERT INTO public.bridge_attributes_listings (listing_id, attribute_id)
SELECT i, a FROM generate_series(1, :n) i, generate_series(1, 5) a WHERE (i + a) % 5 < 2;
INSERT INTO pipeline.listing_history (target_table, target_id, listing_id, version, change_type,
                                      changes, reviewer, changed_at)
SELECT t, i, i, 1, 'create', '{"name": {"old": null, "new": "x"}}', 'auto',
       now() - interval '30 days' + i * interval '1 second'
FROM generate_series(1, :n) i,
     unnest(ARRAY['listings', 'locations', 'listing_info', 'contact_info']) t;
INSERT INTO pipeline.listing_history (target_table, target_id, listing_id, version, change_type,
                                      changes, reviewer, changed_at)
SELECT 'listings', i, i, 2, 'update', '{"name": {"old": "x", "new": "y"}}', 'auto',
       now() - interval '1 hour'
FROM generate_series(1, :n) i WHERE i % 50 = 0;
SELECT setval('public.listings_id_seq', :n);
SELECT setval('public.locations_id_seq', :n);
SELECT setval('public.contact_info_id_seq', :n);
SELECT setval('public.listing_info_id_seq', :n + :n / 5);
"""


def fill(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM public.listings")).scalar_one() >= n:
            return
        started = time.perf_counter()
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"n": n})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"filled {n} listings in {time.perf_counter() - started:.1f} s")


def token(engine: Engine) -> str:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auth.users WHERE username = 'bench-reader'"))
    add_user(engine, "bench-reader", "correct horse battery")
    grant_role(engine, "bench-reader", "catalogue_reader")
    return create_api_token(engine, "bench-reader", "bench")


def serve(engine: Engine, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(engine_factory=lambda: engine), host="127.0.0.1", port=port, log_level="error"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def timed(client: httpx.Client, url: str, runs: int, **kwargs: object) -> tuple[list[float], int]:
    client.get(url, **kwargs)  # warm: plan cache, pages in shared buffers
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, **kwargs)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 304), (url, response.status_code, response.text)
        size = len(response.content)
    return times, size


def in_process(engine: Engine, call: Callable[[Connection], object], runs: int) -> float:
    """Median ms of the domain call alone (query + JSON-ready rows), on one connection."""
    with engine.connect() as conn:
        call(conn)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            call(conn)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    engine = get_engine()
    upgrade(engine)
    fill(engine, args.listings)
    server = serve(engine, args.port)
    n = args.listings
    base = f"http://127.0.0.1:{args.port}/api/v1/catalogue"
    headers = {"Authorization": f"Bearer {token(engine)}"}
    with httpx.Client(headers=headers, timeout=60) as client:
        first = client.get(f"{base}/listings?limit=100")
        etag = first.headers["etag"]
        started = time.perf_counter()
        mid_cursor, versions = None, 0
        while versions < 2 * n:  # half of the history: the cursor of a consumer half-way
            params = {"limit": 500, **({"cursor": mid_cursor} if mid_cursor else {})}
            feed = client.get(f"{base}/changes", params=params).json()
            versions += len(feed["items"])
            mid_cursor = feed["next_cursor"]
        feed_seconds = time.perf_counter() - started
        since = datetime.now(UTC) - timedelta(hours=2)
        box = published.BBox(-64.0, 44.5, -63.6, 44.9)
        cases: list[tuple[str, str, dict, Callable[[Connection], object]]] = [
            ("page 1 (100 listings)", f"{base}/listings?limit=100", {},
             lambda c: published.listing_page(c, limit=100)),
            ("deep page (after 90%)", f"{base}/listings?limit=100&after={n * 9 // 10}", {},
             lambda c: published.listing_page(c, limit=100, after=n * 9 // 10)),
            ("page of 500", f"{base}/listings?limit=500&after={n // 2}", {},
             lambda c: published.listing_page(c, limit=500, after=n // 2)),
            ("DMO 2 (20% of listings)", f"{base}/listings?limit=100&dmo_id=2&after={n // 2}", {},
             lambda c: published.listing_page(c, limit=100, dmo_id=2, after=n // 2)),
            ("updated since 2 hours", f"{base}/listings?limit=100&updated_since="
             + since.strftime("%Y-%m-%dT%H:%M:%SZ"), {},
             lambda c: published.listing_page(c, limit=100, since=since)),
            ("bbox (~1% of the area)", f"{base}/listings?limit=100&bbox=-64.0,44.5,-63.6,44.9", {},
             lambda c: published.listing_page(c, limit=100, bbox=box)),
            ("one listing", f"{base}/listings/{n // 3}", {},
             lambda c: published.published_listing(c, n // 3)),
            ("304 revalidation page 1", f"{base}/listings?limit=100",
             {"headers": {"If-None-Match": etag}}, lambda c: published.listing_page(c, limit=100)),
            ("changes from start (100)", f"{base}/changes?limit=100", {},
             lambda c: published.changes(c, cursor=None, limit=100)),
            ("changes half-way (100)", f"{base}/changes?limit=100&cursor={mid_cursor}", {},
             lambda c: published.changes(c, cursor=mid_cursor, limit=100)),
        ]  # fmt: skip
        print(f"\ncatalogue API, {n} listings, {args.runs} runs each (ms); load average"
              f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        print(f"{'request':<28}{'HTTP median':>12}{'p90':>8}{'in-process':>12}{'bytes':>10}")
        for name, url, kwargs, direct in cases:
            times, size = timed(client, url, args.runs, **kwargs)
            p90 = statistics.quantiles(times, n=10)[8]
            inner = in_process(engine, direct, args.runs)
            print(f"{name:<28}{statistics.median(times):>12.1f}{p90:>8.1f}{inner:>12.1f}{size:>10}")
        print(f"(in-process: the query and the rows' JSON without HTTP; load average now"
              f" {os.getloadavg()[0]:.1f})")  # fmt: skip

        started = time.perf_counter()
        after, pages = None, 0
        while True:
            params = {"limit": 500, **({"after": after} if after else {})}
            page = client.get(f"{base}/listings", params=params).json()
            pages += 1
            after = page["next_after"]
            if after is None:
                break
        print(f"\nchanges feed, 500 per page: {versions} versions in {feed_seconds:.1f} s")
        print(f"walk of the whole catalogue, 500 per page: {pages} pages in"
              f" {time.perf_counter() - started:.1f} s")  # fmt: skip
    server.should_exit = True

    # The export as a user runs it, in its own process: its peak memory with the whole
    # catalogue against the same command exporting nothing (imports, engine, server client).
    print(f"JSON-LD export: {export_figures()}")


def export_figures() -> str:
    def run(*extra: str) -> tuple[float, float, int]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "listings_pipeline.cli", "export", "jsonld", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return seconds, max(peak, before) / 1024, len(done.stdout)

    _, empty_mb, _ = run("--dmo", "999999")
    seconds, full_mb, size = run()
    return (
        f"{seconds:.1f} s, {size / 1e6:.0f} MB written; peak RSS {full_mb:.0f} MB"
        f" (exporting nothing: {empty_mb:.0f} MB)"
    )


if __name__ == "__main__":
    main()
