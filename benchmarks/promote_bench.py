"""Promotion speed: 50,000 new listings (~10 KB descriptions), then a job with 1% changed.

Run: LISTINGS_HOME=/tmp/lp-bench-promote PYTHONPATH=. python benchmarks/promote_bench.py
     [--listings 50000] [--runs 3] [--batch 1000]

Generates the data (`listings_pipeline.generate`), imports and transforms both snapshots once
with the domain pipeline functions, then promotes them `--runs` times from the same stage state
(production, bridge and history emptied and the stage rows' promotion columns reset in between)
and prints the median times, rows/s, the share of the time spent keeping the history, and the
peak RSS. The database under LISTINGS_HOME is emptied: do not point it at one you need.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import load_config
from listings_pipeline.db import get_engine
from listings_pipeline.db.migrate import upgrade
from listings_pipeline.generate import generate
from listings_pipeline.promotion.promote import HISTORY_STEPS, promote_job

EMPTY = """
TRUNCATE public.listing_images, public.opening_hours, public.opening_dates,
         public.bridge_attributes_listings, public.attributes, public.listing_info,
         public.contact_info, public.listings, public.locations,
         pipeline.bridge_source_target, pipeline.listing_history RESTART IDENTITY CASCADE
"""
EMPTY_ALL = """
DO $$
DECLARE names TEXT;
BEGIN
  SELECT string_agg(quote_ident(schemaname) || '.' || quote_ident(tablename), ', ') INTO names
  FROM pg_tables
  WHERE schemaname IN ('public', 'pipeline', 'stage') AND tablename <> 'schema_migrations';
  IF names IS NOT NULL THEN EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE'; END IF;
END $$
"""
# The stage rows' ids before promotion: allocate_ids fills them, a repeat run starts again.
SAVE_STAGE = """
INSERT INTO pipeline.bench_stage_reset
SELECT id, listing_internal_id, listing_info_internal_id, location_internal_id,
       contact_info_internal_id FROM stage.listings_flat WHERE job_id = :job_id
"""
RESET_STAGE = """
UPDATE stage.listings_flat s SET promote_status = 'pending', promoted_at = NULL,
    listing_internal_id = r.listing_internal_id,
    listing_info_internal_id = r.listing_info_internal_id,
    location_internal_id = r.location_internal_id,
    contact_info_internal_id = r.contact_info_internal_id
FROM pipeline.bench_stage_reset r WHERE r.id = s.id AND s.job_id = :job_id
"""
# A promotion refuses a job a newer one superseded; the harness hides the newer job while it
# promotes the older one again.
HIDE_JOB = (
    "UPDATE pipeline.job_stages SET status = :status WHERE job_id = :job_id AND name = 'transform'"
)


def execute(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        if params:
            conn.execute(text(sql), params)
        else:
            conn.connection.driver_connection.execute(sql)


def stage(engine: Engine, config, path: Path) -> tuple[int, float, float]:
    job_id = pipeline.start_job(engine, config, input_path=path)
    t0 = time.perf_counter()
    pipeline.import_stage(engine, job_id, config, path)
    t1 = time.perf_counter()
    pipeline.transform_stage(engine, job_id, config)
    return job_id, t1 - t0, time.perf_counter() - t1


STEP_TOTALS: dict[str, float] = {}


def promote(engine: Engine, job_id: int, config, batch: int) -> tuple[float, int, float]:
    result = promote_job(engine, job_id, config.slug, promoted_by="bench", config=config,
                         batch_rows=batch)  # fmt: skip
    rows = result.counts.extra["promoted_rows"]
    history = sum(result.step_seconds[s] for s in HISTORY_STEPS)
    if rows > 1000:
        for step, seconds in result.step_seconds.items():
            STEP_TOTALS[step] = STEP_TOTALS.get(step, 0.0) + seconds
    return result.seconds, rows, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("LISTINGS_HOME", tempfile.mkdtemp(prefix="lp-bench-promote-"))
    engine = get_engine()
    upgrade(engine)
    execute(engine, EMPTY_ALL)
    execute(engine, "DROP TABLE IF EXISTS pipeline.bench_stage_reset")
    execute(
        engine,
        "CREATE TABLE pipeline.bench_stage_reset (id INT PRIMARY KEY, listing_internal_id INT,"
        " listing_info_internal_id INT, location_internal_id INT, contact_info_internal_id INT)",
    )

    work = Path(tempfile.mkdtemp(prefix="bench-promote-"))
    try:
        summary = generate(
            work / "data", dmos=1, listings_per_dmo=args.listings, overlap=0.0,
            description_kb=10, snapshots=2, new_share=0.0, changed_share=0.01,
            removed_share=0.0, formats=["csv"],
        )  # fmt: skip
        dmo = summary.dmos[0]
        config = load_config(dmo.configs[0])
        first, second = (files["csv"] for files in dmo.snapshot_files)
        mb = sum(f.stat().st_size for f in (first, second)) / 1e6
        print(f"data: {dmo.records[0]:,} + {dmo.records[1]:,} records, {mb:,.0f} MB of CSV")

        job1, imp1, tr1 = stage(engine, config, first)
        execute(engine, SAVE_STAGE, job_id=job1)
        print(f"job 1: import {imp1:.1f} s, transform {tr1:.1f} s")
        times1: list[float] = []
        times2: list[float] = []
        history1: list[float] = []
        history2: list[float] = []
        job2 = 0
        rows1 = rows2 = 0
        for run in range(args.runs):
            if run:
                execute(engine, EMPTY)
                execute(engine, RESET_STAGE, job_id=job1)
                execute(engine, RESET_STAGE, job_id=job2)
                execute(engine, HIDE_JOB, job_id=job2, status="hidden")
            seconds, rows1, history = promote(engine, job1, config, args.batch)
            times1.append(seconds)
            history1.append(history)
            if run == 0:
                job2, imp2, tr2 = stage(engine, config, second)
                execute(engine, SAVE_STAGE, job_id=job2)
                print(f"job 2: import {imp2:.1f} s, transform {tr2:.1f} s")
            else:
                execute(engine, HIDE_JOB, job_id=job2, status="completed")
            seconds, rows2, history = promote(engine, job2, config, args.batch)
            times2.append(seconds)
            history2.append(history)
            print(
                f"run {run + 1}: promote {rows1:,} new in {times1[-1]:.1f} s"
                f" (history {history1[-1]:.1f} s); {rows2:,} changed in {times2[-1]:.2f} s"
                f" (history {history2[-1]:.2f} s)"
            )
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT count(*) FROM pipeline.listing_history")).scalar()
            size = conn.execute(
                text("SELECT pg_total_relation_size('pipeline.listing_history')")
            ).scalar()
            listings_size = conn.execute(
                text("SELECT pg_total_relation_size('public.listing_info')")
            ).scalar()
        m1, m2 = statistics.median(times1), statistics.median(times2)
        h1, h2 = statistics.median(history1), statistics.median(history2)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"median of {args.runs}: {rows1:,} new listings in {m1:.1f} s"
            f" = {rows1 / m1:,.0f} rows/s"
            f" (history {h1:.1f} s, {h1 / m1:.0%});"
            f" 1% changed ({rows2:,} rows of {dmo.records[1]:,}) in {m2:.2f} s ="
            f" {dmo.records[1] / m2:,.0f} records/s (history {h2:.2f} s)"
        )
        top = sorted(STEP_TOTALS.items(), key=lambda kv: -kv[1])[:8]
        print(
            "slowest steps (new listings, mean per run): "
            + ", ".join(f"{step} {seconds / args.runs:.1f} s" for step, seconds in top)
        )
        print(
            f"history: {versions:,} versions, {size / 1e6:,.0f} MB"
            f" (listing_info {listings_size / 1e6:,.0f} MB); peak RSS {rss:.0f} MB;"
            f" batch {args.batch} rows"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        execute(engine, "DROP TABLE IF EXISTS pipeline.bench_stage_reset")


if __name__ == "__main__":
    main()
