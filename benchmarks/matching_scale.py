"""Fuzzy matching at scale: a source of `--source` listings transformed against a catalogue of
`--catalogue` listings, with matching and without, in the same run.

    python benchmarks/matching_scale.py --catalogue 50000 --source 50000 --runs 3
        [--description-kb 10] [--home DIR] [--data-dir DIR]

The catalogue is DMO 1's first export from the seeded generator, imported, transformed (matching
off: the catalogue is empty, there is nothing to match) and promoted once through the domain
functions (in `--home`, kept: a 500,000-listing catalogue is built once and measured again
later; `--runs 0` only builds it; `--description-kb 1` keeps a big one's disk use small). The
source is the first `--source` records of DMO 2's export (20% of DMO 2's places DMO 1 lists
too, written differently). Each run imports the source twice, as two new source configs of
DMO 2, and transforms one with matching off and one with it on (alternating which goes first,
each stage in a fresh worker); nothing is promoted, so every run sees the same catalogue, and
the two source jobs' stage rows and raw files are deleted once the run is measured.
Prints per run and as medians: both transform times, their ratio, the matching step's time, and
the matches against the generator's truth.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import SEED, Database  # noqa: E402  (benchmarks/run.py)

BUILT = "catalogue.json"  # in --home: what was built there


def dataset(catalogue: int, description_kb: float, data_dir: Path) -> Path:
    from listings_pipeline.generate import generate

    root = data_dir / f"matching-{catalogue}-{description_kb:g}kb"
    if not (root / "manifest.json").exists():
        print(f"generating 2 DMOs x {catalogue:,} listings into {root} ...", flush=True)
        generate(root, dmos=2, listings_per_dmo=catalogue, description_kb=description_kb,
                 seed=SEED, snapshots=1, formats=["csv"])  # fmt: skip
    return root


def source_file(root: Path, records: int) -> Path:
    """The first `records` records of DMO 2's export."""
    path = root / f"dmo-2-first-{records}.csv"
    if not path.exists():
        csv.field_size_limit(1 << 30)
        with (root / "dmo-2" / "snapshot-0.csv").open(encoding="utf-8", newline="") as src:
            reader = csv.reader(src)
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(next(reader))
                for n, row in enumerate(reader):
                    if n == records:
                        break
                    writer.writerow(row)
    return path


def config_copy(root: Path, dmo: int, slug: str, matching: bool, out_dir: Path) -> Path:
    manifest = json.loads((root / "manifest.json").read_text())
    config = yaml.safe_load((root / manifest["configs"][str(dmo)][0]).read_text())
    config["slug"] = slug
    config["name"] = f"{config['name']} ({slug})"
    config["transform"].setdefault("matching", {})["enabled"] = matching
    path = out_dir / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def build(db: Database, root: Path, out_dir: Path) -> dict[str, Any]:
    built = db.home / BUILT
    if built.exists():
        return json.loads(built.read_text())
    # Matching off: DMO 1 is the first in an empty catalogue, there is nothing to match; the
    # listings' match profiles are made by promotion's triggers all the same.
    config = config_copy(root, 1, "scale-catalogue", False, out_dir)
    export = root / "dmo-1" / "snapshot-0.csv"
    result: dict[str, Any] = {}
    imported = db.run("import", config=config, input=export)
    result["job_id"] = imported["job_id"]
    for stage in ("transform", "promote"):
        started = time.perf_counter()
        out = db.run(stage, config=config, job_id=imported["job_id"])
        result[stage] = {"seconds": time.perf_counter() - started,
                         "step_seconds": out.get("step_seconds", {})}  # fmt: skip
        print(f"  catalogue {stage}: {out['seconds']:.1f} s", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        result["listings"] = conn.exec_driver_sql("SELECT count(*) FROM public.listings").scalar()
        conn.exec_driver_sql("VACUUM ANALYZE")
    built.write_text(json.dumps(result))
    return result


def drop_source_jobs(db: Database, job_ids: list[int]) -> None:
    """A run's source jobs go once it is measured (nothing of them was promoted): their stage
    rows and raw files, so that runs in one --home reuse the space instead of filling the disk
    (23 runs at 50k had kept 13 GB of raw files and 4.8 GB of stage rows)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(
            "DELETE FROM stage.listings_flat WHERE job_id = ANY(%(ids)s)", {"ids": job_ids}
        )
        conn.exec_driver_sql("VACUUM stage.listings_flat")
    for job_id in job_ids:
        for path in (db.home / "raw").rglob(f"job-{job_id:06d}-*"):
            path.chmod(0o600)  # raw files are stored read-only
            path.unlink()


def one_run(db: Database, root: Path, source: Path, n: int, out_dir: Path) -> dict[str, Any]:
    stamp = f"{int(time.time())}-{n}"
    out: dict[str, Any] = {}
    order = (False, True) if n % 2 == 0 else (True, False)
    for matching in order:
        name = "matching" if matching else "plain"
        config = config_copy(root, 2, f"scale-{name}-{stamp}", matching, out_dir)
        job_id = db.run("import", config=config, input=source)["job_id"]
        transformed = db.run("transform", config=config, job_id=job_id)
        out[name] = {"job_id": job_id, "seconds": transformed["seconds"],
                     "steps": transformed.get("step_seconds", {}),
                     "counts": transformed.get("counts", {})}  # fmt: skip
    out["ratio"] = out["matching"]["seconds"] / out["plain"]["seconds"]
    return out


def quality(db: Database, root: Path, catalogue_job: int, job_id: int) -> dict[str, Any]:
    """Precision of the automatic links and recall with and without the suggestions, against
    the generator's truth (the source's records whose place the catalogue lists)."""
    place: dict[tuple[int, str], int] = {}
    with (root / "truth.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            place[(int(row["dmo_id"]), row["source_key"])] = int(row["place_id"])
    query = (
        "SELECT dmo_id, source_id, listing_internal_id, match_candidate_id"
        " FROM stage.listings_flat WHERE job_id = %s AND rec_num IS NOT NULL"
    )
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        listing_place = {
            lid: place[(d, s)] for d, s, lid, _ in raw.execute(query, [catalogue_job]) if lid
        }
        rows = raw.execute(query, [job_id]).fetchall()
    listed = set(listing_place.values())
    true = auto = auto_right = suggested_right = 0
    for dmo, source_id, linked, candidate in rows:
        own = place[(dmo, source_id)]
        true += own in listed
        if linked is not None:
            auto += 1
            auto_right += listing_place.get(linked) == own
        elif candidate is not None:
            suggested_right += listing_place.get(candidate) == own
    return {
        "true_pairs": true,
        "auto": auto,
        "precision": round(auto_right / auto, 4) if auto else None,
        "recall_auto": round(auto_right / true, 4) if true else None,
        "recall_with_suggested": round((auto_right + suggested_right) / true, 4) if true else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=int, default=50_000)
    parser.add_argument("--source", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--description-kb", type=float, default=10.0)
    parser.add_argument("--home", type=Path, help="keep the catalogue's database here")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "lp-bench")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)

    def load() -> str:
        import os

        return ", ".join(f"{x:.2f}" for x in os.getloadavg())

    root = dataset(args.catalogue, args.description_kb, args.data_dir)
    source = source_file(root, args.source)
    db = Database(args.home)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            catalogue = build(db, root, Path(tmp))
            print(f"catalogue: {catalogue['listings']:,} listings (load average {load()})")
            for n in range(args.runs):
                run = one_run(db, root, source, n, Path(tmp))
                run["quality"] = q = quality(
                    db, root, catalogue["job_id"], run["matching"]["job_id"]
                )
                run["load_average"] = load()
                drop_source_jobs(db, [run["plain"]["job_id"], run["matching"]["job_id"]])
                runs.append(run)
                m, p = run["matching"], run["plain"]
                fuzzy = {k: v for k, v in m["counts"].items() if k.startswith("fuzzy_")}
                print(f"run {n + 1}: transform without matching {p['seconds']:.1f} s, with"
                      f" {m['seconds']:.1f} s ({run['ratio']:.2f}x); job_level"
                      f" {p['steps'].get('job_level', 0):.1f}"
                      f" / {m['steps'].get('job_level', 0):.1f}"
                      f" s; {fuzzy}; {q};"
                      f" load average {run['load_average']}", flush=True)  # fmt: skip
        finally:
            db.close()
    if len(runs) > 1:
        median = statistics.median
        print(f"median of {len(runs)}: without matching"
              f" {median(r['plain']['seconds'] for r in runs):.1f} s, with"
              f" {median(r['matching']['seconds'] for r in runs):.1f} s, ratio"
              f" {median(r['ratio'] for r in runs):.2f}x")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"catalogue": catalogue, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
