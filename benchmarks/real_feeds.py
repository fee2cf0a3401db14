"""Share of records refused (errors: the row cannot be promoted) and warned, per real public
feed, imported and transformed through the project with the feed's config in benchmarks/data/.

    python benchmarks/real_feeds.py [--yelp business.json] [--src DIR ...]

Feeds: OpenStreetMap vegetarian places (nested JSON) and NYC restaurants (CSV without a
country column), shipped in benchmarks/data/ (licences in its README.md); the Yelp Open
Dataset's business.json (nested JSON lines) when `--yelp` names a copy (its licence forbids
shipping it). Each `--src` is a checkout of the project (`git archive main | tar -x -C DIR`
gives main's): every feed runs once per checkout, each in a fresh process and a fresh
embedded PostgreSQL, so the before/after figures come from one run. A config target that a
checkout does not know (opening_hours.week before it existed) is left out for that checkout
and said so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
FEEDS = {
    "osm-vegetarian-json": DATA / "osm_vegetarian_places.json",
    "nyc-restaurants-csv": DATA / "nyc_restaurants.csv",
}
ROWS = """
SELECT count(*) AS staged,
       count(*) FILTER (WHERE validation_errors IS NOT NULL) AS refused,
       count(*) FILTER (WHERE validation_errors IS NULL AND validation_warnings IS NOT NULL)
           AS warned
FROM stage.listings_flat WHERE job_id = %s AND rec_num IS NOT NULL
"""
MESSAGES = """
SELECT validation_errors FROM stage.listings_flat
WHERE job_id = %s AND rec_num IS NOT NULL AND validation_errors IS NOT NULL
"""
_VALUE = re.compile(r" \(.*\)$")


def _load(config_path: Path) -> tuple[object, list[str]]:
    """The config, without the mapping targets this checkout does not know."""
    import yaml
    from pydantic import ValidationError

    from listings_pipeline.configs import SourceConfig

    data = yaml.safe_load(config_path.read_text())
    dropped: list[str] = []
    while True:
        try:
            return SourceConfig.model_validate(data), dropped
        except ValidationError as err:
            unknown = re.search(r"unknown mapping target '([^']+)'", str(err))
            if unknown is None:
                raise
            dropped.append(unknown.group(1))
            del data["transform"]["map_fields"][unknown.group(1)]


def _worker(config_path: Path, feed_path: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="lpf-", dir="/tmp"))
    os.environ["LISTINGS_HOME"] = str(home)
    os.environ.pop("LISTINGS_DATABASE_URL", None)
    from listings_pipeline.db import get_engine, reset_engine
    from listings_pipeline.db.embedded import stop
    from listings_pipeline.db.migrate import upgrade
    from listings_pipeline.pipeline import import_stage, start_job, transform_stage

    try:
        engine = get_engine()
        upgrade(engine)
        config, dropped = _load(config_path)
        job_id = start_job(engine, config, input_path=feed_path)
        imported = import_stage(engine, job_id, config, feed_path)
        transform_stage(engine, job_id, config)
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            staged, refused, warned = raw.execute(ROWS, [job_id]).fetchone()
            reasons: Counter[str] = Counter()
            for (errors,) in raw.execute(MESSAGES, [job_id]).fetchall():
                reasons.update({_VALUE.sub("", line) for line in errors.splitlines()})
        return {
            "records": imported.counts.total,
            "staged": staged,
            "refused": refused,
            "warned": warned,
            "reasons": reasons.most_common(3),
            "dropped_targets": dropped,
        }
    finally:
        reset_engine()
        stop(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)


def _run(src: Path, config_path: Path, feed_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    proc = subprocess.run(
        [sys.executable, str(HERE / "real_feeds.py"), "--worker", str(config_path), str(feed_path)],
        env=env,
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{config_path.stem} on {src} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--yelp", type=Path, help="a copy of Yelp's business.json (JSON lines)")
    parser.add_argument("--src", type=Path, action="append", default=[])
    parser.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*args.worker)))
        return 0
    feeds = dict(FEEDS)
    if args.yelp:
        feeds["yelp-business-json"] = args.yelp.resolve()
    for slug, feed_path in feeds.items():
        for src in args.src or [HERE.parent]:
            r = _run(src, DATA / f"{slug}.yaml", feed_path)
            records = r["records"] or 1
            print(
                f"{slug:<22} {str(src):<28} records {r['records']:>5}  refused {r['refused']:>5}"
                f" ({100 * r['refused'] / records:5.1f}%)  warned {r['warned']:>5}"
                f" ({100 * r['warned'] / records:5.1f}%)"
                + (f"  [without {', '.join(r['dropped_targets'])}]" if r["dropped_targets"] else "")
            )
            for reason, count in r["reasons"]:
                print(f"{'':<24}{count:>5} x {reason[:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
