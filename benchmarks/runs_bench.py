"""What the run safety of issue 15 costs: the source / catalogue locks and the dead-job check
every stage does, the promotion's re-check of rows staged as new, and stage retention.

Run: LISTINGS_HOME=/tmp/lp-bench-runs PYTHONPATH=. python benchmarks/runs_bench.py
     [--listings 10000] [--jobs 5] [--repeat 200]

Generates one DMO's listings (~10 KB descriptions, `listings_pipeline.generate`), runs them
once through the domain pipeline (import, transform, promote) and prints: the median cost of
taking and releasing a source lock (with and without the DMO's catalogue lock), of the
dead-job check, and of the re-check of rows staged as new on a first import (all inserts),
against the run's own time; then copies the job's stage rows into `--jobs` old jobs and times
`prune_stage` deleting them. The database under LISTINGS_HOME is emptied: do not point it at
one you need.
"""

from __future__ import annotations

import argparse
import os
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
from listings_pipeline.locks import source_lock
from listings_pipeline.maintenance import fail_dead_jobs, prune_stage
from listings_pipeline.promotion.promote import recheck_new_listings

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
# An old job: a copy of the job row (40 days back), its stages, and a copy of its stage rows.
COPY_JOB = """
WITH j AS (
    INSERT INTO pipeline.jobs (dmo_id, config_id, config_version, slug, current_stage, status,
                               started_at, finished_at, enqueued_at)
    SELECT dmo_id, config_id, config_version, slug, current_stage, 'completed',
           started_at - interval '40 days', finished_at - interval '40 days',
           enqueued_at - interval '40 days'
    FROM pipeline.jobs WHERE id = :job_id
    RETURNING id)
SELECT id FROM j
"""
COPY_ROWS = """
INSERT INTO stage.listings_flat ({columns})
SELECT {values} FROM stage.listings_flat WHERE job_id = :job_id
"""


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def copy_job(engine: Engine, job_id: int) -> int:
    with engine.begin() as conn:
        columns = [
            c
            for c in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = 'stage' AND table_name = 'listings_flat'"
                    " AND column_name <> 'id' ORDER BY ordinal_position"
                )
            ).scalars()
        ]
        new = conn.execute(text(COPY_JOB), {"job_id": job_id}).scalar_one()
        values = [":new" if c == "job_id" else c for c in columns]
        conn.execute(
            text(COPY_ROWS.format(columns=", ".join(columns), values=", ".join(values))),
            {"job_id": job_id, "new": new},
        )
    return new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("LISTINGS_HOME", tempfile.mkdtemp(prefix="lp-bench-runs-"))
    engine = get_engine()
    upgrade(engine)
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(EMPTY_ALL)
    work = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    try:
        summary = generate(
            work / "data", dmos=1, listings_per_dmo=args.listings, overlap=0.0,
            description_kb=10, snapshots=1, new_share=0.0, changed_share=0.0,
            removed_share=0.0, formats=["csv"],
        )  # fmt: skip
        dmo = summary.dmos[0]
        config = load_config(dmo.configs[0])
        path = dmo.snapshot_files[0]["csv"]

        started = time.perf_counter()
        job = pipeline.start_job(engine, config, input_path=path)
        pipeline.import_stage(engine, job, config, path)
        pipeline.transform_stage(engine, job, config)
        t0 = time.perf_counter()
        with engine.begin() as conn:  # what promotion re-checks first (nothing to link here)
            recheck_new_listings(conn, job, config)
        recheck = time.perf_counter() - t0
        pipeline.promote_stage(engine, job, config, promoted_by="bench")
        run = time.perf_counter() - started
        print(f"run of {args.listings:,} new listings (import, transform, promote): {run:.1f} s")

        def lock() -> None:
            with source_lock(engine, config.slug, stage="bench"):
                pass

        def lock_and_catalogue() -> None:
            with (
                source_lock(engine, config.slug, stage="bench") as held,
                held.catalogue(config.dmo_id, exclusive=True),
            ):
                pass

        def dead_jobs() -> None:
            fail_dead_jobs(engine, config.slug, found_by="bench")

        source = timed(lock, args.repeat)
        both = timed(lock_and_catalogue, args.repeat)
        check = timed(dead_jobs, args.repeat)
        # A run takes the source lock 4 times (start, import, transform, promote), the
        # catalogue twice (transform shared, promote exclusive), checks for dead jobs 4 times.
        per_run = (
            4 * statistics.median(source)
            + 2 * (statistics.median(both) - statistics.median(source))
            + 4 * statistics.median(check)
        )
        print(f"source lock, take + release (median of {args.repeat}): {ms(source)}")
        print(f"source + catalogue lock: {ms(both)}; dead-job check: {ms(check)}")
        print(
            f"per run: {per_run * 1000:.1f} ms of locks and checks = {per_run / run:.4%} of"
            f" the run; promotion's re-check of {args.listings:,} new rows: {recheck * 1000:.0f}"
            f" ms = {recheck / run:.2%}"
        )

        for _ in range(args.jobs):
            copy_job(engine, job)
        plan = prune_stage(engine, dry_run=True)
        result = prune_stage(engine)
        assert result.rows == plan.rows
        print(
            f"prune_stage: {result.rows:,} stage rows of {len(result.jobs)} jobs in"
            f" {result.seconds:.1f} s ({result.rows / result.seconds:,.0f} rows/s,"
            f" {result.batches} batches of up to 5,000; dry run {plan.seconds:.2f} s)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
