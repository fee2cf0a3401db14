"""Splink (Fellegi-Sunter, EM, DuckDB) on the same public datasets as matching_eval.py, for the
comparison in the README (issue 17: evaluate, then choose). Not a dependency of the product:

    pip install splink==5.0.0   # in any Python 3.11 environment
    python benchmarks/splink_eval.py

Same thresholds as the product's defaults: automatic link at match probability >= 0.99,
suggestion from 0.2; each source record keeps its best candidate only, as the product does.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import duckdb
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

DATA = Path(__file__).resolve().parent / "data"


def _norm(df: pd.DataFrame, name: str, address: str, phone: str | None) -> pd.DataFrame:
    out = pd.DataFrame({"unique_id": df["id"].astype(str)})
    out["name"] = df[name].fillna("").str.lower().str.replace(r"[^a-z0-9 ]", "", regex=True)
    out["address"] = df[address].fillna("").str.lower().str.replace(r"[^a-z0-9 ]", "", regex=True)
    out["number"] = out["address"].str.extract(r"(\d+)", expand=False)
    out["phone"] = (
        df[phone].fillna("").map(lambda p: re.sub(r"\D", "", p)[-10:] or None) if phone else None
    )
    out["lat"] = pd.to_numeric(df["latitude"], errors="coerce")
    out["lng"] = pd.to_numeric(df["longitude"], errors="coerce")
    out = out.replace({"": None})
    return out


def run(name: str, left: pd.DataFrame, right: pd.DataFrame, truth: set[tuple[str, str]]) -> None:
    db = DuckDBAPI(duckdb.connect())
    db._con.execute("SET memory_limit = '1GB'")
    db._con.execute("SET temp_directory = '/tmp/splinkrun'")
    comparisons = [
        cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]),
        cl.JaroWinklerAtThresholds("address", [0.95, 0.8]),
        cl.ExactMatch("number"),
        cl.DistanceInKMAtThresholds("lat", "lng", [0.05, 0.15, 0.5, 2]),
    ]
    if left["phone"].notna().any():
        comparisons.append(cl.ExactMatch("phone"))
    blocking = [block_on("number"), block_on("substr(name, 1, 4)")]
    if left["phone"].notna().any():
        blocking.append(block_on("phone"))
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
    )
    t0 = time.perf_counter()
    linker = Linker([db.register(left), db.register(right)], settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in blocking:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.2).as_pandas_dataframe()
    seconds = time.perf_counter() - t0
    # unique_id_l: left (catalogue), unique_id_r: right (source); best candidate per source
    pred = pred.sort_values("match_probability", ascending=False).drop_duplicates("unique_id_r")
    best = zip(pred.unique_id_l, pred.unique_id_r, pred.match_probability, strict=True)
    auto: set[tuple[str, str]] = set()
    suggested: set[tuple[str, str]] = set()
    for catalogue_id, source_id, probability in best:
        (auto if probability >= 0.99 else suggested).add((source_id, catalogue_id))
    correct = len(auto & truth)
    found = len((auto | suggested) & truth)
    print(
        f"{name}: splink {seconds:.1f} s; automatic {len(auto)};"
        f" precision {correct / max(len(auto), 1):.4f}; recall {correct / len(truth):.4f};"
        f" recall + suggested {found / len(truth):.4f}"
    )


def main() -> None:
    d = DATA / "foursquare_locu"
    locu, fsq = pd.read_csv(d / "locu.csv", dtype=str), pd.read_csv(d / "foursquare.csv", dtype=str)
    truth = {(r["foursquare_id"], r["locu_id"]) for r in csv.DictReader((d / "matches.csv").open())}
    run(
        "foursquare_locu",
        _norm(locu, "name", "street_address", "phone"),
        _norm(fsq, "name", "street_address", "phone"),
        truth,
    )
    d = DATA / "geoer_pittsburgh"
    osm, yelp = pd.read_csv(d / "osm.csv", dtype=str), pd.read_csv(d / "yelp.csv", dtype=str)
    pairs = list(csv.DictReader((d / "pairs.csv").open()))
    truth = {(r["yelp_id"], r["osm_id"]) for r in pairs if r["label"] == "1"}
    run(
        "geoer_pittsburgh",
        _norm(osm, "name", "address", None),
        _norm(yelp, "name", "address", None),
        truth,
    )


if __name__ == "__main__":
    main()
