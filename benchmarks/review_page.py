"""Review page latency on a 50,000-row job (in process, real PostgreSQL, real templates).

Run: PYTHONPATH=. python benchmarks/review_page.py [--rows 50000] [--repeat 5]
Uses LISTINGS_HOME when set (an empty database, or one this script filled before), else a
fresh temporary one (its embedded server is stopped at the end). Generates the job with SQL:
production listings with locations, listing_info and contacts, and one job whose stage rows
are updates of them (with changed fields), inserts, deletions, duplicates, errors and
suggested matches. Prints the median and max time of each page (target: first page < 1 s)
and the plan of the first Updates page.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

FILL = """
INSERT INTO public.dmos (id, name) VALUES (1, 'Bench DMO');
INSERT INTO public.locations (id, address1, city, country, lat, lng)
SELECT i, i || ' Main St', 'City ' || (i % 500), 'US', 40 + i / 1e6, -70 - i / 1e6
FROM generate_series(1, :n) i;
INSERT INTO public.contact_info (id, email, local_phone)
SELECT i, 'info' || i || '@example.com', '555-0100' FROM generate_series(1, :n) i;
INSERT INTO public.listings (id, name, location_id, imported_from)
SELECT i, 'Listing ' || i, i, 'bench' FROM generate_series(1, :n) i;
INSERT INTO public.listing_info (id, listing_id, dmo_id, contact_info_id, description)
SELECT i, i, 1, i, repeat('Old description of listing ' || i || '. ', 20)
FROM generate_series(1, :n) i;
INSERT INTO public.listing_images (listing_info_id, image, sort_order)
SELECT i, 'https://img.example.com/' || i || '/' || k || '.jpg', k
FROM generate_series(1, :n) i, generate_series(1, 3) k;
INSERT INTO pipeline.jobs (id, dmo_id, slug, current_stage, status, started_at)
VALUES (1, 1, 'bench-csv', 'review', 'review', now());
INSERT INTO pipeline.job_stages (dmo_id, job_id, name, order_index, status)
VALUES (1, 1, 'import', 1, 'completed'), (1, 1, 'transform', 2, 'completed');
-- Rows by kind: 40% updates, 40% inserts, 10% deletions, 4% duplicates, 4% errors,
-- 2% suggested matches.
INSERT INTO stage.listings_flat (
    job_id, rec_num, dmo_id, source_id, imported_from, listing_internal_id,
    listing_info_internal_id, location_internal_id, contact_info_internal_id, match_method,
    match_score, match_candidate_id, duplicate_of, listing_name, listing_info_description,
    loc_address1, loc_city, loc_country, loc_lat, loc_lng, ci_email, ci_local_phone, images,
    validation_errors, listing_action, listing_info_action, location_action, contact_info_action,
    images_action, change_kind, review_status, review_reason, ok_to_promote)
SELECT 1, i, 1, 'SRC-' || i, 'bench',
       CASE WHEN k IN ('update', 'delete') THEN i END,
       CASE WHEN k IN ('update', 'delete') THEN i END,
       CASE WHEN k IN ('update', 'delete') THEN i END,
       CASE WHEN k IN ('update', 'delete') THEN i END,
       CASE WHEN k IN ('update', 'delete') THEN 'bridge'
            WHEN k = 'uncertain_match' THEN 'suggested' ELSE 'none' END,
       CASE WHEN k = 'uncertain_match' THEN 0.8 END,
       CASE WHEN k = 'uncertain_match' THEN i END,
       CASE WHEN k = 'duplicate' THEN i - 1 END,
       CASE WHEN k = 'error' THEN NULL WHEN k = 'update' AND i % 2 = 0
            THEN 'Listing ' || i || ' (renamed)' ELSE 'Listing ' || i END,
       repeat('New description of listing ' || i || '. ', 20),
       i || ' Main St', 'City ' || (i % 500), 'US', 40 + i / 1e6, -70 - i / 1e6,
       'info' || i || '@example.com', '555-0199',
       jsonb_build_array('https://img.example.com/' || i || '/new.jpg'),
       CASE WHEN k = 'error' THEN 'listings.name: required field is empty' END,
       CASE k WHEN 'update' THEN 'update' WHEN 'delete' THEN 'delete' WHEN 'error' THEN 'error'
              WHEN 'duplicate' THEN 'skip' ELSE 'insert' END,
       CASE k WHEN 'update' THEN 'update' WHEN 'delete' THEN 'delete' WHEN 'error' THEN 'error'
              WHEN 'duplicate' THEN 'skip' ELSE 'insert' END,
       'skip',
       CASE WHEN k = 'update' THEN 'update' ELSE 'skip' END,
       CASE WHEN k = 'update' THEN 'update' ELSE 'skip' END,
       k,
       CASE WHEN k IN ('update', 'insert') THEN 'auto_approved' ELSE 'pending' END,
       CASE WHEN k IN ('update', 'insert') THEN NULL ELSE k END,
       k IN ('update', 'insert')
FROM (
    SELECT i, CASE
        WHEN i % 50 < 20 THEN 'update' WHEN i % 50 < 40 THEN 'insert'
        WHEN i % 50 < 45 THEN 'delete' WHEN i % 50 < 47 THEN 'duplicate'
        WHEN i % 50 < 49 THEN 'error' ELSE 'uncertain_match' END AS k
    FROM generate_series(1, :rows) i
) g;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    own_home = "LISTINGS_HOME" not in os.environ
    if own_home:
        os.environ["LISTINGS_HOME"] = tempfile.mkdtemp(prefix="lp-review-bench-")
    os.environ["LISTINGS_CONFIG_DIR"] = tempfile.mkdtemp(prefix="lp-review-bench-configs-")

    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from listings_pipeline.console import add_user, create_app, grant_role
    from listings_pipeline.console.sql import queries
    from listings_pipeline.db import get_engine, reset_engine
    from listings_pipeline.db.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    try:
        with engine.begin() as conn:
            found = conn.execute(text("SELECT count(*) FROM stage.listings_flat")).scalar_one()
            if found not in (0, args.rows):
                raise SystemExit("the database holds other stage rows: use an empty LISTINGS_HOME")
            if found == 0:
                started = time.perf_counter()
                for statement in FILL.split(";\n"):
                    if statement.strip():
                        conn.execute(text(statement), {"n": args.rows, "rows": args.rows})
                print(
                    f"generated a job of {args.rows} stage rows and {args.rows} production"
                    f" listings in {time.perf_counter() - started:.1f}s"
                )
            conn.execute(text("DELETE FROM auth.users WHERE username = 'bench'"))
        add_user(engine, "bench", "benchmark password")
        grant_role(engine, "bench", "pipeline_reviewer")

        client = TestClient(create_app(lambda: engine), follow_redirects=False)
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
        client.post(
            "/login",
            data={"username": "bench", "password": "benchmark password", "csrf_token": csrf},
        )
        last = args.rows - 100
        urls = [
            "/pipeline/jobs/1/review",
            "/pipeline/jobs/1/review?tab=updates",
            "/pipeline/jobs/1/review?tab=new",
            "/pipeline/jobs/1/review?tab=matches",
            "/pipeline/jobs/1/review?tab=deletions",
            f"/pipeline/jobs/1/review?tab=updates&after={last}",
            f"/pipeline/jobs/1/review?tab=updates&before={last}",
            "/pipeline/jobs/1/review?tab=updates&status=auto_approved&q=renamed",
            "/pipeline/jobs/1",
            "/api/v1/pipeline/jobs/1/review",
            "/api/v1/pipeline/jobs/1/review/rows?tab=updates&limit=200",
        ]
        print(f"\n{'median ms':>10} {'max ms':>8}  url   (median of {args.repeat})")
        for url in urls:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            print(f"{statistics.median(times):10.1f} {max(times):8.1f}  {url}")

        params = {
            "job_id": 1,
            "kind": "update",
            "matches": False,
            "status": None,
            "q": None,
            "q_pattern": None,
            "after": None,
            "limit": 51,
        }
        explain = text("EXPLAIN (ANALYZE, COSTS OFF) " + queries("review")["page_forward"].text)
        with engine.connect() as conn:
            plan = conn.execute(explain, params).scalars().all()
        print("\nplan of the first Updates page:")
        print("\n".join("  " + line for line in plan))
    finally:
        shutil.rmtree(os.environ["LISTINGS_CONFIG_DIR"], ignore_errors=True)
        if own_home:
            from listings_pipeline.db.embedded import stop

            reset_engine()
            home = Path(os.environ["LISTINGS_HOME"])
            stop(home / "pgdata")
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
