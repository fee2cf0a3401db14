"""What the source-change checks cost (issue 15): `python benchmarks/source_change_bench.py
[--sizes 10000,50000] [--runs 3] [--compare-with DIR]`.

Per run, on a fresh embedded PostgreSQL, in one worker process: import → transform → promote
DMO 1's generated export (listings of ~10 KB), then import → transform the same export with
its `Email` column renamed `E-mail` (every row an update that would clear the email: the
worst case of the `clears` row step, and a held job). Prints each transform's seconds, the fill
statistics query and the whole source-change check (`check_job`) at that size. With
`--compare-with DIR` (a checkout of another commit, e.g. `git worktree add /tmp/base main`)
the same runs alternate with that tree's code, so the ratio is of the same machine and hour.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _renamed(export: Path) -> Path:
    target = export.with_name(export.stem + "-renamed.csv")
    if not target.exists():
        with export.open(encoding="utf-8", newline="") as src:
            header = next(csv.reader(src))
            rest = src.read()
        header = ["E-mail" if h == "Email" else h for h in header]
        with target.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerow(header)
            out.write(rest)
    return target


def _worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The whole scenario in this process, with whichever tree PYTHONPATH points at."""
    from sqlalchemy import text

    from listings_pipeline import pipeline
    from listings_pipeline.configs.loader import load_config
    from listings_pipeline.db import get_engine
    from listings_pipeline.db.migrate import upgrade
    from listings_pipeline.review import decide

    engine = get_engine()
    upgrade(engine)
    config = load_config(Path(spec["config"]))
    out: dict[str, Any] = {}
    for name, path in (("first", spec["first"]), ("renamed", spec["renamed"])):
        job = pipeline.start_job(engine, config, input_path=Path(path))
        pipeline.import_stage(engine, job, config, Path(path))
        t0 = time.perf_counter()
        result = pipeline.transform_stage(engine, job, config)
        out[f"{name}_transform"] = time.perf_counter() - t0
        out[f"{name}_steps"] = result.step_seconds
        if name == "first":
            first_job = job
            gate = pipeline.gate(engine, job)
            if gate.waiting:
                decide(engine, job, "approve", all_rows=True, reviewer="bench")
            t0 = time.perf_counter()
            pipeline.promote_stage(engine, job, config, promoted_by="bench")
            out["first_promote"] = time.perf_counter() - t0
    gate = pipeline.gate(engine, job)
    out["renamed_gate"] = gate.describe()[:300]
    try:
        from listings_pipeline.review.source_change import check_job, fill_stats
    except ImportError:  # a tree without the checks
        return out
    fill = []
    for _ in range(5):
        with engine.begin() as conn:
            t0 = time.perf_counter()
            fill_stats(conn, job)
            fill.append(time.perf_counter() - t0)
    out["fill_stats"] = statistics.median(fill)
    t0 = time.perf_counter()
    check_job(engine, job, config, missing_sources=None)
    out["check_job"] = time.perf_counter() - t0
    # The clears row step against the actions step it follows, over the same rows (all of the
    # job's, on the stage table; rolled back): what it adds to "hashes_actions_insert".
    from listings_pipeline.transform.stage import config_flags, redo_rows

    for name, job_id in (("first", first_job), ("renamed", job)):
        with engine.connect() as conn:
            ids = list(
                conn.execute(
                    text("SELECT id FROM stage.listings_flat WHERE job_id = :j"), {"j": job_id}
                ).scalars()
            )
            for step in ("actions", "clears"):
                t0 = time.perf_counter()
                redo_rows(conn, ids, (step,), config_flags(config))
                out[f"{name}_{step}_step"] = time.perf_counter() - t0
            conn.rollback()
    with engine.connect() as conn:
        out["clearing_rows"] = conn.execute(
            text(
                "SELECT count(*) FROM stage.listings_flat WHERE job_id = :j AND clears_fields"
                " IS NOT NULL"
            ),
            {"j": job},
        ).scalar_one()
    return out


def _run(tree: Path, spec: dict[str, Any]) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="lpsc-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k != "LISTINGS_DATABASE_URL"}
    env.update(LISTINGS_HOME=str(home), PYTHONPATH=str(tree))
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", json.dumps(spec)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=tree,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"worker failed ({tree}):\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from listings_pipeline.db.embedded import stop;"
                f"stop(__import__('pathlib').Path({str(home / 'pgdata')!r}))",
            ],
            env=env,
            cwd=tree,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare-with", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lp-bench")
    parser.add_argument("--worker")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker)), default=str))
        return 0
    from run import dataset

    trees = {"this": ROOT} | ({"other": args.compare_with.resolve()} if args.compare_with else {})
    for size in (int(s) for s in args.sizes.split(",")):
        data = dataset(size, args.data_dir)
        export = data.export(1, 0)
        spec = {
            "config": str(data.config(1)),
            "first": str(export),
            "renamed": str(_renamed(export)),
        }
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for i in range(args.runs):
            for name, tree in trees.items():
                results[name].append(_run(tree, spec))
                r = results[name][-1]
                print(
                    f"  run {i + 1} {name}: first transform {r['first_transform']:.2f} s,"
                    f" renamed transform {r['renamed_transform']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )

        def med(name: str, key: str, results: dict = results) -> float:
            return statistics.median(r[key] for r in results[name])

        this = results["this"][-1]
        print(f"{size:,} listings, {args.runs} runs (medians):")
        print(
            f"  first transform {med('this', 'first_transform'):.2f} s; renamed-column"
            f" transform {med('this', 'renamed_transform'):.2f} s"
            f" ({this['clearing_rows']:,} rows clear a value)"
        )
        print(
            f"  fill statistics query {med('this', 'fill_stats') * 1000:.0f} ms"
            f" ({med('this', 'fill_stats') / med('this', 'first_transform'):.1%} of the first"
            f" transform); whole source-change check {med('this', 'check_job') * 1000:.0f} ms"
        )
        for name in ("first", "renamed"):
            print(
                f"  {name} import's rows: clears step {med('this', f'{name}_clears_step'):.2f} s"
                f" vs actions step {med('this', f'{name}_actions_step'):.2f} s (same rows)"
            )
        print(f"  renamed-column job: {this['renamed_gate']}")
        if "other" in results:
            for key in ("first_transform", "renamed_transform"):
                print(
                    f"  {key.replace('_', ' ')}: this {med('this', key):.2f} s vs"
                    f" {args.compare_with} {med('other', key):.2f} s"
                    f" = {med('this', key) / med('other', key):.3f}x"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
