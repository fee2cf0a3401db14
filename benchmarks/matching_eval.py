"""Matching evaluation: precision and recall of cross-source links on labelled datasets.

    python benchmarks/matching_eval.py [--datasets generated,foursquare_locu,geoer_pittsburgh]
                                       [--generated-size 2000] [--json]

Each dataset is two sources of the same places. On a fresh embedded PostgreSQL, the first side
is imported, transformed and promoted as DMO 1 (the catalogue), the second imported and
transformed as DMO 2 through the real path (pipeline.start_job / import_stage /
transform_stage): its rows are then linked to DMO 1's listings automatically
(match_hash / fuzzy), suggested for review, or left new. The links are compared with the truth:

* precision (automatic)   correct automatic links / automatic links
* recall (automatic)      correct automatic links / true pairs
* recall (+ suggested)    true pairs linked automatically or suggested / true pairs
* hard negatives          pairs known to be different places at the same address and phone
                          (the generator's hotel restaurant / café): how many were linked

Datasets (benchmarks/data/README.md says where the public ones come from):
* generated           the generator's two overlapping DMOs, with the real-world differences
                      of issue 17 and its hard negatives (truth.csv, manifest.json)
* foursquare_locu     Foursquare vs Locu venues, New York (600 x 600, 360 true pairs)
* geoer_pittsburgh    OpenStreetMap vs Yelp places, Pittsburgh (Geo-ER); its truth is a set of
                      labelled pairs, so an automatic link of a pair nobody labelled is
                      reported apart ("unlabelled"), not counted either way
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
DATA = Path(__file__).resolve().parent / "data"
DATASETS = ("generated", "foursquare_locu", "geoer_pittsburgh")
TARGETS = {"precision_auto": 0.995, "recall_auto": 0.95, "recall_suggested": 0.99}


@dataclass
class Side:
    slug: str
    path: Path
    id_field: str
    fields: dict[str, str]  # mapping target -> column
    country: str


@dataclass
class Dataset:
    name: str
    catalogue: Side
    source: Side
    truth: set[tuple[str, str]]  # (source id, catalogue id)
    negatives: set[tuple[str, str]] | None = None  # labelled non-matches (None: all others)
    hard_negatives: set[tuple[str, str]] = field(default_factory=set)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def foursquare_locu() -> Dataset:
    d = DATA / "foursquare_locu"
    fields = {
        "listings.name": "name",
        "locations.address1": "street_address",
        "locations.city": "locality",
        "locations.state": "region",
        "locations.zip": "postal_code",
        "locations.lat": "latitude",
        "locations.lng": "longitude",
        "contact_info.local_phone": "phone",
        "contact_info.website_url": "website",
    }
    truth = {(r["foursquare_id"], r["locu_id"]) for r in _read(d / "matches.csv")}
    return Dataset(
        "foursquare_locu",
        Side("eval-locu", d / "locu.csv", "id", fields, "US"),
        Side("eval-foursquare", d / "foursquare.csv", "id", fields, "US"),
        truth,
    )


def geoer_pittsburgh() -> Dataset:
    d = DATA / "geoer_pittsburgh"
    fields = {
        "listings.name": "name",
        "locations.address1": "address",
        "locations.zip": "postcode",
        "locations.lat": "latitude",
        "locations.lng": "longitude",
    }
    pairs = _read(d / "pairs.csv")
    return Dataset(
        "geoer_pittsburgh",
        Side("eval-osm", d / "osm.csv", "id", fields, "US"),
        Side("eval-yelp", d / "yelp.csv", "id", fields, "US"),
        {(r["yelp_id"], r["osm_id"]) for r in pairs if r["label"] == "1"},
        negatives={(r["yelp_id"], r["osm_id"]) for r in pairs if r["label"] == "0"},
    )


def generated(size: int, work: Path) -> Dataset:
    from listings_pipeline.generate import generate
    from listings_pipeline.generate.places import COLUMN_TARGETS

    root = work / f"generated-{size}"
    generate(root, dmos=2, listings_per_dmo=size, description_kb=0.5, seed=17, snapshots=1,
             formats=["csv"])  # fmt: skip
    manifest = json.loads((root / "manifest.json").read_text())
    place: dict[tuple[int, str], int] = {}
    for r in _read(root / "truth.csv"):
        if r["first_snapshot"] == "0":
            place[(int(r["dmo_id"]), r["source_key"])] = int(r["place_id"])
    by_place: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for (dmo, key), pid in place.items():
        by_place[pid][dmo].append(key)
    truth = {(s, c) for dmos in by_place.values() for s in dmos.get(2, []) for c in dmos.get(1, [])}
    fields = {t: c for c, t in COLUMN_TARGETS.items() if t != "stage.source_identifier"}
    hard = {
        (h["source_key"], h["catalogue_key"])
        for h in manifest.get("hard_negatives", [])
        if h["source_dmo"] == 2 and h["catalogue_dmo"] == 1
    } | {
        (h["catalogue_key"], h["source_key"])
        for h in manifest.get("hard_negatives", [])
        if h["source_dmo"] == 1 and h["catalogue_dmo"] == 2
    }
    return Dataset(
        "generated",
        Side("eval-gen-1", root / "dmo-1" / "snapshot-0.csv", "ID", fields, "CA"),
        Side("eval-gen-2", root / "dmo-2" / "snapshot-0.csv", "ID", fields, "CA"),
        truth,
        hard_negatives=hard,
    )


def _config(side: Side, dmo_id: int, work: Path) -> Any:
    from listings_pipeline.configs.loader import load_config

    path = work / f"{side.slug}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "slug": side.slug,
                "dmo_id": dmo_id,
                "dmo_name": f"DMO {dmo_id}",
                "name": side.slug,
                "source_type": "csv",
                "import": {
                    "format": "csv",
                    "source_id": {"field": side.id_field, "hash_of": ["listings.name"]},
                },
                "transform": {
                    "map_fields": side.fields,
                    "list_delimiter": ",",
                    "default_country": side.country,
                    "geocode": {"enabled": False},
                },
            }
        )
    )
    return load_config(path)


def _load(engine: Any, config: Any, path: Path, promote: bool) -> tuple[int, float]:
    from listings_pipeline import pipeline
    from listings_pipeline.review import decide

    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    t0 = time.perf_counter()
    pipeline.transform_stage(engine, job_id, config)
    seconds = time.perf_counter() - t0
    if promote:
        for kind in pipeline.gate(engine, job_id).waiting:
            decide(engine, job_id, "approve", kind=kind, reviewer="eval")
        pipeline.promote_stage(engine, job_id, config, promoted_by="eval")
    return job_id, seconds


def evaluate(data: Dataset, work: Path, verbose: int = 0) -> dict[str, Any]:
    from run import Database  # benchmarks/run.py: a fresh embedded PostgreSQL, migrated
    from sqlalchemy import text

    import listings_pipeline.importing.connectors.files  # noqa: F401  (the CSV connector)

    db = Database()
    try:
        cat_job, _ = _load(db.engine, _config(data.catalogue, 1, work), data.catalogue.path, True)
        src_job, seconds = _load(db.engine, _config(data.source, 2, work), data.source.path, False)
        with db.engine.connect() as conn:
            catalogue: dict[int, list[str]] = defaultdict(list)
            for sid, lid in conn.execute(
                text("SELECT source_id, listing_internal_id FROM stage.listings_flat"
                     " WHERE job_id = :j AND listing_internal_id IS NOT NULL"), {"j": cat_job}
            ):  # fmt: skip
                catalogue[lid].append(sid)
            rows = conn.execute(
                text("SELECT source_id, listing_internal_id, match_candidate_id, match_method,"
                     " match_signals, listing_name FROM stage.listings_flat WHERE job_id = :j"),
                {"j": src_job},
            ).all()  # fmt: skip
            names = dict(conn.execute(
                text("SELECT source_id, listing_name FROM stage.listings_flat WHERE job_id = :j"),
                {"j": cat_job},
            ).all())  # fmt: skip
    finally:
        db.close()
    auto: set[tuple[str, str]] = set()
    suggested: set[tuple[str, str]] = set()
    for sid, lid, candidate, method, _signals, _name in rows:
        if lid is not None and method in ("match_hash", "fuzzy"):
            auto |= {(sid, c) for c in catalogue.get(lid, [])}
        if candidate is not None and method == "suggested":
            suggested |= {(sid, c) for c in catalogue.get(candidate, [])}
    result = score(data, auto, suggested, len(rows), seconds)
    if verbose:  # what the matcher did with the pairs it got wrong or missed
        by_source = {r[0]: r for r in rows}
        wrong = sorted((auto - data.truth) if data.negatives is None else auto & data.negatives)
        missed = sorted(data.truth - auto)
        for title, pairs in (("wrong automatic link", wrong), ("not linked", missed)):
            for sid, cid in pairs[:verbose]:
                r = by_source.get(sid)
                print(
                    f"  {title}: {r[5] if r else sid!r} -> {names.get(cid)!r}:"
                    f" {r[3] if r else '?'} {json.dumps(r[4]) if r else ''}"
                )
    return result


def score(
    data: Dataset, auto: set[tuple[str, str]], suggested: set[tuple[str, str]], rows: int,
    seconds: float,
) -> dict[str, Any]:  # fmt: skip
    truth = data.truth
    judged = auto if data.negatives is None else auto & (truth | data.negatives)
    correct = auto & truth
    found = (auto | suggested) & truth
    # One link per source record: a record the truth pairs with two catalogue records (a
    # duplicate there) can give at most one of its pairs.
    reachable = len({s for s, _ in truth})

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "dataset": data.name,
        "source_records": rows,
        "true_pairs": len(truth),
        "reachable_pairs": reachable,
        "auto_links": len(auto),
        "auto_unlabelled": len(auto - judged),
        "suggested": len(suggested),
        "precision_auto": ratio(len(correct), len(judged)),
        "recall_auto": ratio(len(correct), len(truth)),
        "recall_suggested": ratio(len(found), len(truth)),
        "wrong_auto": sorted(judged - truth)[:20],
        "missed": len(truth - auto - suggested),
        "hard_negatives": len(data.hard_negatives),
        "hard_negatives_linked": len(auto & data.hard_negatives),
        "hard_negatives_suggested": len(suggested & data.hard_negatives),
        "transform_seconds": round(seconds, 2),
    }


def report(result: dict[str, Any]) -> str:
    def met(key: str) -> str:
        value = result[key]
        if value is None:
            return "n/a"
        return (
            f"{value:.4f} ({'met' if value >= TARGETS[key] else 'MISSED'}, target {TARGETS[key]})"
        )

    lines = [
        f"{result['dataset']}: {result['source_records']} source records,"
        f" {result['true_pairs']} true pairs ({result['reachable_pairs']} reachable with one link"
        f" per record); transform {result['transform_seconds']} s",
        f"  automatic links       {result['auto_links']}"
        + (f" ({n} of pairs nobody labelled)" if (n := result["auto_unlabelled"]) else ""),
        f"  suggested for review  {result['suggested']}; true pairs missed {result['missed']}",
        f"  precision (automatic) {met('precision_auto')}",
        f"  recall (automatic)    {met('recall_auto')}",
        f"  recall (+ suggested)  {met('recall_suggested')}",
    ]  # fmt: skip
    if result["hard_negatives"]:
        lines.append(
            f"  hard negatives        {result['hard_negatives']}: linked"
            f" {result['hard_negatives_linked']}, suggested {result['hard_negatives_suggested']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--generated-size", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="print N wrong and N missed pairs")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="lp-eval-") as tmp:
        work = Path(tmp)
        for name in args.datasets.split(","):
            if name == "generated":
                data = generated(args.generated_size, work)
            elif name in ("foursquare_locu", "geoer_pittsburgh"):
                data = globals()[name]()
            else:
                parser.error(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
            result = evaluate(data, work, args.show)
            results.append(result)
            if not args.json:
                print(report(result), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
