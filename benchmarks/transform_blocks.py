"""Throughput of the transform building blocks: normalize + validate per row, and fuzzy
matching of a job against a production catalogue, on an embedded PostgreSQL.

    python benchmarks/transform_blocks.py [--rows 20000] [--production 50000] [--unmatched 5000]
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from listings_pipeline.configs.model import MatchingSettings, TransformSettings, ValidationSettings
from listings_pipeline.transform.normalize import normalize_row
from listings_pipeline.transform.validate import validate_row

WORDS = (
    "harbour",
    "view",
    "ocean",
    "maple",
    "pine",
    "blue",
    "heron",
    "lighthouse",
    "cove",
    "bay",
    "island",
    "red",
    "sand",
    "dune",
    "salt",
    "marsh",
    "fox",
    "river",
    "hill",
    "tide",
)
KINDS = ("Inn", "Cafe", "Gallery", "Suites", "Bistro", "Lodge", "Tours", "Market", "Farm")
STREETS = ("Water", "Main", "Queen", "King", "Shore", "Harbour", "Church", "Mill", "Bay")
CITIES = [f"Town {n}" for n in range(40)]


def sample_row(i: int) -> dict[str, object]:
    return {
        "listing_name": f"  The {WORDS[i % 20].title()} {WORDS[i // 20 % 20]} {KINDS[i % 9]} ",
        "listing_info_description": "A lovely place by the sea. " * 30,
        "loc_address1": f"{i % 900 + 1} {STREETS[i % 9]} St.",
        "loc_city": CITIES[i % 40],
        "loc_state": "Nova Scotia",
        "loc_zip": "b3h4r2",
        "loc_country": "Canada",
        "loc_lat": f"44.{i:06d}",
        "loc_lng": "-63.5712",
        "ci_local_phone": f"(902) {200 + i % 700}-{i % 10000:04d}",
        "ci_email": f"Info@Place{i}.CA",
        "ci_website_url": f"www.place{i}.ca/",
        "ci_socials": {"facebook": f"facebook.com/place{i}"},
        "listing_status": "active",
        "listing_visible": "yes",
        "images": [f"http://img.example.com/{i}/a.jpg", f"http://img.example.com/{i}/b.jpg"],
        "attributes": ["Pet friendly", "Wifi"],
        "dates": [{"start_date": "2025-05-01", "end_date": "10/31/2025"}],
        "hours": [{"day_id": d, "open_time": "9am", "close_time": "17:00"} for d in range(1, 8)],
    }


def bench_rows(n: int) -> None:
    transform = TransformSettings(
        map_fields={"listings.name": "Name"},
        normalize_fields=["listings.name", "locations.address1", "locations.city"],
        default_country="CA",
    )
    validation = ValidationSettings(
        required_fields=["listings.name", "locations.address1", "locations.city"],
        business_rules={"dmo_geographic_bounds": {"min_lat": 40, "max_lat": 50, "min_lng": -70,
                                                  "max_lng": -55}},
    )  # fmt: skip
    rows = [sample_row(i) for i in range(n)]
    copies = copy.deepcopy(rows)
    started = time.perf_counter()
    found = [normalize_row(row, transform) for row in rows]
    normalized = time.perf_counter()
    for row, issues in zip(rows, found, strict=True):
        validate_row(row, validation, issues)
    done = time.perf_counter()
    del copies
    print(f"normalize_row: {n / (normalized - started):,.0f} rows/s")
    print(f"validate_row:  {n / (done - normalized):,.0f} rows/s")
    print(f"both:          {n / (done - started):,.0f} rows/s ({n} rows, one core)")


def bench_fuzzy(production: int, unmatched: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="lp-bench-"))
    os.environ["LISTINGS_HOME"] = str(home)
    from listings_pipeline.db import get_engine
    from listings_pipeline.db.embedded import stop
    from listings_pipeline.db.migrate import upgrade
    from listings_pipeline.transform.fuzzy import match_unmatched

    try:
        engine = get_engine()
        upgrade(engine)
        rnd = random.Random(7)
        # Names as a catalogue has them: a few distinctive words, often a common kind word.
        syllables = [
            "ba",
            "ker",
            "lo",
            "mar",
            "tin",
            "sea",
            "view",
            "har",
            "bour",
            "ro",
            "sa",
            "lin",
            "dal",
            "ton",
            "mer",
            "ca",
            "ri",
            "ves",
            "hol",
            "men",
            "do",
            "ra",
        ]
        vocabulary = sorted(
            {"".join(rnd.choices(syllables, k=rnd.randint(2, 3))).title() for _ in range(3000)}
        )
        names = [
            " ".join(rnd.choices(vocabulary, k=rnd.randint(1, 3)))
            + (f" {rnd.choice(KINDS)}" if rnd.random() < 0.7 else "")
            for _ in range(production)
        ]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO public.dmos (id, name) VALUES (1, 'A'), (2, 'B')"))
            conn.execute(
                text(
                    "INSERT INTO public.locations (id, address1, city, country)"
                    " SELECT n, (n % 4000 + 1) || ' ' || (ARRAY['Water','Main','Queen'])[n % 3 + 1]"
                    " || ' Street', 'Town ' || (n % 40), 'CA'"
                    " FROM generate_series(1, :n) AS n"
                ),
                {"n": production},
            )
            conn.execute(
                text(
                    "INSERT INTO public.listings (id, name, location_id)"
                    " SELECT n, (CAST(:names AS TEXT[]))[n], n FROM generate_series(1, :n) AS n"
                ),
                {"n": production, "names": names},
            )
            conn.execute(
                text(
                    "INSERT INTO public.contact_info (id, local_phone)"
                    " SELECT n, '902-' || lpad((n % 1000)::text, 3, '0') || '-' ||"
                    " lpad((n % 10000)::text, 4, '0') FROM generate_series(1, :n) AS n"
                ),
                {"n": production},
            )
            conn.execute(
                text(
                    "INSERT INTO public.listing_info (listing_id, dmo_id, contact_info_id)"
                    " SELECT n, 2, n FROM generate_series(1, :n) AS n"
                ),
                {"n": production},
            )
            conn.execute(
                text(
                    "INSERT INTO pipeline.jobs (id, dmo_id, current_stage)"
                    " VALUES (1, 1, 'transform')"
                )
            )
            # Half the job re-words existing listings, half is new.
            conn.execute(
                text(
                    "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id,"
                    " listing_name, loc_address1, loc_city)"
                    " SELECT 1, n, 1, 's' || n,"
                    "  CASE WHEN n % 2 = 0 THEN 'The ' || l.name ELSE 'New Place ' || n END,"
                    "  replace(lo.address1, 'Street', 'St.'), lo.city"
                    " FROM generate_series(1, :m) AS n"
                    " JOIN public.listings l ON l.id = n * 7 % :n + 1"
                    " JOIN public.locations lo ON lo.id = l.location_id"
                ),
                {"n": production, "m": unmatched},
            )
            conn.execute(text("ANALYZE"))
        with engine.begin() as conn:
            started = time.perf_counter()
            counts = match_unmatched(conn, 1, MatchingSettings())
            elapsed = time.perf_counter() - started
        print(
            f"match_unmatched: {unmatched} unlinked rows against {production} listings in"
            f" {elapsed:.2f} s ({unmatched / elapsed:,.0f} rows/s): {counts.as_dict()}"
        )
    finally:
        from listings_pipeline.db import reset_engine

        reset_engine()
        stop(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--production", type=int, default=50000)
    parser.add_argument("--unmatched", type=int, default=5000)
    args = parser.parse_args()
    bench_rows(args.rows)
    bench_fuzzy(args.production, args.unmatched)


if __name__ == "__main__":
    main()
