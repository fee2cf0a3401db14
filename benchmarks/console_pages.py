"""Console page and API latency on a production-sized catalogue (in process, real PostgreSQL).

Run: LISTINGS_HOME=/tmp/lp-bench PYTHONPATH=. python benchmarks/console_pages.py [--listings 200000]
Fills an empty database (or reuses one it filled before), then prints the median time of
each page/endpoint and the plan of the listing search. Figures are for the machine it runs on.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline.console import add_user, create_app, grant_role
from listings_pipeline.console.queries import like_pattern
from listings_pipeline.console.sql import query
from listings_pipeline.db import get_engine
from listings_pipeline.db.migrate import upgrade

FILL = """
INSERT INTO public.dmos (id, name) VALUES (1, 'Bench DMO'), (2, 'Other DMO');
INSERT INTO public.locations (id, address1, city, country)
SELECT i, i || ' Main St', 'City ' || (i % 500), 'US' FROM generate_series(1, :n) i;
INSERT INTO public.listings (id, name, location_id)
SELECT i, (ARRAY['Grand', 'Old', 'Blue', 'Harbour', 'Hilltop'])[1 + i % 5] || ' '
          || (ARRAY['Hotel', 'Cafe', 'Museum', 'Park', 'Inn', 'Gallery'])[1 + i % 6] || ' ' || i,
       i
FROM generate_series(1, :n) i;
INSERT INTO public.listing_info (listing_id, dmo_id, description)
SELECT i, 1, 'Description ' || i FROM generate_series(1, :n) i;
INSERT INTO pipeline.bridge_source_target (dmo_id, source_id, target_id, target_type)
SELECT 1, 'SRC-' || i, i, 'listings' FROM generate_series(1, :n) i;
INSERT INTO pipeline.jobs (id, dmo_id, slug, current_stage, status, started_at, finished_at)
SELECT i, 1 + i % 2, 'source-' || (i % 40), 'promote',
       (ARRAY['completed', 'failed', 'review'])[1 + i % 3], now() - interval '1 hour', now()
FROM generate_series(1, 5000) i;
INSERT INTO pipeline.job_stages (dmo_id, job_id, name, order_index, status)
VALUES (1, 5000, 'import', 1, 'completed'), (1, 5000, 'transform', 2, 'completed');
INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id, listing_name, loc_city,
                                 listing_action, review_status, listing_internal_id)
SELECT 5000, i, 1, 'SRC-' || i, 'Listing ' || i, 'City ' || (i % 500),
       (ARRAY['insert', 'update', 'skip', 'delete'])[1 + i % 4],
       (ARRAY['auto_approved', 'pending'])[1 + i % 2], i
FROM generate_series(1, 50000) i;
INSERT INTO pipeline.job_errors (dmo_id, job_id, job_stages_id, record_id, original_record,
                                 error_type, error_message)
SELECT 1, 5000, (SELECT id FROM pipeline.job_stages WHERE name = 'transform'), 'rec-' || i,
       jsonb_build_object('Name', 'x' || i), 'validation', 'record ' || i || ': bad'
FROM generate_series(1, 20000) i;
SELECT setval('public.listings_id_seq', :n);
ANALYZE;
"""

URLS = [
    "/pipeline/jobs",
    "/pipeline/jobs?status=review",
    "/pipeline/jobs?slug=source-7&page=3",
    "/pipeline/jobs/5000",
    "/pipeline/jobs/5000?errors_page=300",
    "/pipeline/jobs/5000/rows",
    "/pipeline/jobs/5000/rows?listing_action=delete&page=100",
    "/pipeline/listings",
    "/pipeline/listings?q=harbour+museum",
    "/pipeline/listings?q=Grand+Hotell+12",
    "/pipeline/listings?city=City+42",
    "/pipeline/listings?page=2000",
    "/pipeline/listings/4242",
    "/api/v1/pipeline/jobs?limit=200",
    "/api/v1/pipeline/staging/listings?job_id=5000&limit=200&offset=40000",
    "/api/v1/pipeline/listings?q=blue+gallery&limit=200",
]


def fill(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        found = conn.execute(text("SELECT count(*) FROM public.listings")).scalar_one()
        if found == n:
            print(f"reusing the {n} listings already there")
            return
        if found:
            raise SystemExit("the database has other listings: use an empty LISTINGS_HOME")
        started = time.perf_counter()
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"n": n})
    print(
        f"filled {n} listings, 50000 stage rows, 20000 errors in"
        f" {time.perf_counter() - started:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listings", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    engine = get_engine()
    upgrade(engine)
    fill(engine, args.listings)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auth.users WHERE username = 'bench'"))
    add_user(engine, "bench", "benchmark password")
    grant_role(engine, "bench", "pipeline_viewer")

    import os

    os.environ["LISTINGS_CONFIG_DIR"] = tempfile.mkdtemp()
    client = TestClient(create_app(lambda: engine), follow_redirects=False)
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/login", data={"username": "bench", "password": "benchmark password", "csrf_token": csrf}
    )

    print(f"{'median ms':>10} {'max ms':>8}  url")
    for url in URLS:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{statistics.median(times):10.1f} {max(times):8.1f}  {url}")

    params = {
        "q": "harbour museum",
        "q_pattern": like_pattern("harbour museum"),
        "city": None,
        "status": None,
        "limit": 51,
        "offset": 0,
    }
    explain = text("EXPLAIN (ANALYZE, COSTS OFF) " + query("listings_search").text.rstrip(";\n"))
    with engine.connect() as conn:
        plan = conn.execute(explain, params).scalars().all()
    print("\nplan of the listing search (q='harbour museum'):")
    print("\n".join("  " + line for line in plan))
    Path(os.environ["LISTINGS_CONFIG_DIR"]).rmdir()


if __name__ == "__main__":
    main()
