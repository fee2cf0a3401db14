from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
import sys
import tracemalloc
from collections import defaultdict
from pathlib import Path

import pytest

from listings_pipeline.configs import load_config
from listings_pipeline.generate import (
    COLUMN_TARGETS,
    COLUMNS,
    GenerateError,
    GenerationSummary,
    generate,
    write_demo_data,
)
from listings_pipeline.generate.__main__ import main
from listings_pipeline.generate.output import csv_line
from listings_pipeline.generate.vocabulary import ATTRIBUTE_WORDINGS, NEIGHBOURHOODS
from listings_pipeline.importing.connectors import SourceRecord
from listings_pipeline.importing.connectors.files import read_csv, read_jsonl

csv.field_size_limit(sys.maxsize)

# Which columns each change kind in the manifest may touch.
KIND_COLUMNS = {
    "name": {"Name"},
    "description": {"Description"},
    "phone": {"LocalPhone"},
    "email": {"Email"},
    "hours": {c for c in COLUMNS if c.endswith(("Open", "Close"))},
    "images": {c for c in COLUMNS if c.startswith("Image")},
    "attributes": {"Attributes"},
    "dates": {c for c in COLUMNS if "Date" in c},
}


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(COLUMNS)
        return list(reader)


def read_truth(out: Path) -> dict[tuple[int, str], int]:
    with (out / "truth.csv").open(encoding="utf-8", newline="") as fh:
        return {(int(r["dmo_id"]), r["source_key"]): int(r["place_id"]) for r in csv.DictReader(fh)}


def all_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def metres(a: dict[str, str], b: dict[str, str]) -> float:
    lat_a, lng_a, lat_b, lng_b = (
        float(a["Lat"]),
        float(a["Lng"]),
        float(b["Lat"]),
        float(b["Lng"]),
    )
    dy = (lat_a - lat_b) * 111_320
    dx = (lng_a - lng_b) * 111_320 * math.cos(math.radians(lat_a))
    return math.hypot(dx, dy)


def city_of(written: str) -> str:
    """The city a record names, by itself or by one of its neighbourhoods ("North End")."""
    by_neighbourhood = {n.lower(): c.lower() for c, ns in NEIGHBOURHOODS.items() for n in ns}
    return by_neighbourhood.get(written.lower(), written.lower())


def simplify(name: str) -> str:
    name = name.lower().replace("&", "and").replace("'", "")
    return re.sub(r"^the |[^a-z0-9 ]|\s+(?= )", "", name).strip()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(
        tmp_path_factory.mktemp("gen") / "out",
        listings_per_dmo=300,
        description_kb=1,
        snapshots=3,
        seed=7,
    )


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    params = {"dmos": 3, "listings_per_dmo": 40, "description_kb": 1, "snapshots": 3}
    first = all_bytes(generate(tmp_path / "a", seed=11, **params).out_dir)
    second = all_bytes(generate(tmp_path / "b", seed=11, **params).out_dir)
    other = all_bytes(generate(tmp_path / "c", seed=12, **params).out_dir)
    assert first == second
    assert "dmo-1/snapshot-2.csv" in first and "truth.csv" in first
    assert first["dmo-1/snapshot-0.csv"] != other["dmo-1/snapshot-0.csv"]


@pytest.mark.parametrize("kb", [2, 10])
def test_descriptions_are_about_description_kb(tmp_path: Path, kb: int) -> None:
    summary = generate(
        tmp_path / "out", dmos=1, listings_per_dmo=60, description_kb=kb, snapshots=1
    )
    rows = read_rows(summary.dmos[0].snapshot_files[0]["csv"])
    sizes = [len(r["Description"].encode()) for r in rows]
    assert abs(sum(sizes) / len(sizes) - kb * 1024) < 0.05 * kb * 1024
    assert all(0.8 * kb * 1024 < s < 1.2 * kb * 1024 for s in sizes)
    assert all(r["Description"].count("\n\n") == 4 for r in rows)  # five paragraphs


def test_csv_and_jsonl_hold_the_same_records(dataset: GenerationSummary) -> None:
    files = dataset.dmos[1].snapshot_files[1]
    rows = read_rows(files["csv"])
    with files["jsonl"].open(encoding="utf-8") as fh:
        objects = [json.loads(line) for line in fh]
    assert len(rows) == len(objects) == dataset.dmos[1].records[1]
    for row, obj in zip(rows, objects, strict=True):
        assert list(obj) == list(COLUMNS)
        assert {k: "" if v is None else str(v) for k, v in obj.items()} == row


def test_distinct_places_have_distinct_names(dataset: GenerationSummary) -> None:
    truth = read_truth(dataset.out_dir)
    places_named: dict[tuple[str, str], set[int]] = defaultdict(set)
    for dmo in dataset.dmos:
        for r in read_rows(dmo.snapshot_files[-1]["csv"]):
            key = (simplify(r["Name"]), r["City"].lower())
            places_named[key].add(truth[(dmo.dmo_id, r["ID"])])
    assert sum(len(p) > 1 for p in places_named.values()) <= 0.01 * len(places_named)


def test_records_look_like_tourism_listings(dataset: GenerationSummary) -> None:
    rows = read_rows(dataset.dmos[0].snapshot_files[0]["csv"])
    phone = re.compile(r"^(\(\d{3}\) \d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}|\+1 \d{3} \d{3} \d{4}|\d{10}|"
                       r"\d{3}-\d{3}-\d{4}|1-\d{3}-\d{3}-\d{4}|\d{3}/\d{3}-\d{4})$")  # fmt: skip
    for r in rows:
        assert r["Name"].strip() and r["Address1"] and r["City"] and r["Country"] == "CA"
        assert r["Status"] in ("active", "inactive")
        assert not r["LocalPhone"] or phone.match(r["LocalPhone"])
        if r["Lat"]:  # Discover Halifax covers Halifax to Lunenburg
            assert 44.3 < float(r["Lat"]) < 44.8 and -64.4 < float(r["Lng"]) < -63.4
        assert 1 <= sum(bool(r[f"Image{i}"]) for i in range(1, 6)) <= 5
        assert r["Image1"].startswith("http://127.0.0.1:8765/img/discover-halifax/")
        assert 1 <= len(r["Attributes"].split(", ")) <= 4
        for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
            assert bool(r[f"{day}Open"]) == bool(r[f"{day}Close"])
    assert len({r["ID"] for r in rows}) == len(rows)
    assert len({r["LocalPhone"][:1] for r in rows}) > 1  # several phone formats
    assert any(not r["MonOpen"] for r in rows) and any(r["StartDate2"] for r in rows)


def test_truth_records_every_record_and_the_overlap(dataset: GenerationSummary) -> None:
    out = dataset.out_dir
    truth = read_truth(out)
    snapshot0: dict[int, dict[str, dict[str, str]]] = {}
    for dmo in dataset.dmos:
        for files in dmo.snapshot_files:
            assert all((dmo.dmo_id, r["ID"]) in truth for r in read_rows(files["csv"]))
        snapshot0[dmo.dmo_id] = {r["ID"]: r for r in read_rows(dmo.snapshot_files[0]["csv"])}

    dmos_of: dict[int, set[int]] = defaultdict(set)
    records_of: dict[int, list[dict[str, str]]] = defaultdict(list)
    for dmo_id, rows in snapshot0.items():
        for key, row in rows.items():
            dmos_of[truth[(dmo_id, key)]].add(dmo_id)
            records_of[truth[(dmo_id, key)]].append(row)
    for dmo in dataset.dmos:
        shared = sum(len(dmos_of[truth[(dmo.dmo_id, k)]]) > 1 for k in snapshot0[dmo.dmo_id])
        assert shared == dmo.shared_records
        assert abs(shared / len(snapshot0[dmo.dmo_id]) - 0.2) <= 0.03

    pairs = differing = 0
    for place, rows in records_of.items():
        if len(dmos_of[place]) < 2:
            continue
        for a, b in zip(rows, rows[1:], strict=False):
            pairs += 1
            assert city_of(a["City"]) == city_of(b["City"])  # or one of its neighbourhoods
            assert (
                difflib.SequenceMatcher(None, simplify(a["Name"]), simplify(b["Name"])).ratio()
                > 0.6  # typos, "B&B", "Co." and the like lower it
            )
            if a["Lat"] and b["Lat"]:
                assert metres(a, b) < 60
            if a["LocalPhone"] and b["LocalPhone"]:
                assert (
                    re.sub(r"\D", "", a["LocalPhone"])[-10:]
                    == re.sub(r"\D", "", b["LocalPhone"])[-10:]
                )
            fields = ("Name", "Address1", "Address2", "State", "Zip", "LocalPhone", "Website")
            differing += any(a[f] != b[f] for f in fields)
    assert pairs >= 80
    assert differing / pairs > 0.9  # the same place, spelled differently


def test_sources_write_places_as_real_guides_do(tmp_path: Path) -> None:
    """Issue 17's real-world differences between two guides, and its hard negative: a hotel's
    restaurant in one, the same hotel's café (same address and phone) in the other."""
    summary = generate(tmp_path / "out", dmos=2, listings_per_dmo=1500, description_kb=0.2,
                       snapshots=1, seed=5, formats=["csv"])  # fmt: skip
    truth = read_truth(summary.out_dir)
    rows = {(d.dmo_id, r["ID"]): r for d in summary.dmos
            for r in read_rows(d.snapshot_files[0]["csv"])}  # fmt: skip
    by_place: dict[int, list[dict[str, str]]] = defaultdict(list)
    for key, row in rows.items():
        by_place[truth[key]].append(row)
    shared = [r for r in by_place.values() if len(r) == 2]

    def count(test: object) -> int:
        return sum(1 for r in rows.values() if test(r))  # type: ignore[operator]

    # One guide writes "Apple Pan, The", the other "The Apple Pan" or "Apple Pan".
    assert any(a["Name"].endswith(", The") != b["Name"].endswith(", The") for a, b in shared)
    assert count(lambda r: re.search(r"\b(Blv|Av|Str)\.", r["Address1"])) > 30
    directions = {m.group(1) for r in rows.values()
                  if (m := re.search(r"^\S+ (West|W\.|W|East|E\.|E|North|N\.|South|S\.) ",
                                     r["Address1"]))}  # fmt: skip
    assert {"West", "W.", "East", "E."} <= directions
    neighbourhoods = {n for ns in NEIGHBOURHOODS.values() for n in ns}
    assert count(lambda r: r["City"] in neighbourhoods) > 30
    assert count(lambda r: re.fullmatch(r"\d{3}/\d{3}-\d{4}", r["LocalPhone"])) > 30
    reworded = set(ATTRIBUTE_WORDINGS.values())
    assert count(lambda r: reworded & set(r["Attributes"].split(", "))) > 100

    negatives = json.loads(summary.manifest_path.read_text())["hard_negatives"]
    assert len(negatives) == summary.hard_negatives == 2 * round(0.01 * 1500 / 2)
    for h in negatives:
        a = rows[(h["catalogue_dmo"], h["catalogue_key"])]
        b = rows[(h["source_dmo"], h["source_key"])]
        assert (
            truth[(h["catalogue_dmo"], h["catalogue_key"])]
            != truth[(h["source_dmo"], h["source_key"])]
        )
        assert "room" in a["Name"].casefold()  # "... Dining Room" (a typo spares 4 letters)
        assert "caf" in b["Name"].casefold() and simplify(a["Name"]) != simplify(b["Name"])
        assert re.match(r"\d+", a["Address1"].split("-")[-1]).group() == re.match(
            r"\d+", b["Address1"].split("-")[-1]).group()  # fmt: skip
        if a["LocalPhone"] and b["LocalPhone"]:
            assert (
                re.sub(r"\D", "", a["LocalPhone"])[-10:] == re.sub(r"\D", "", b["LocalPhone"])[-10:]
            )
        if a["Lat"] and b["Lat"]:
            assert metres(a, b) < 60


def test_snapshots_follow_the_manifest(dataset: GenerationSummary) -> None:
    manifest = json.loads(dataset.manifest_path.read_text())
    truth = read_truth(dataset.out_dir)
    for dmo, entry in zip(dataset.dmos, manifest["dmos"], strict=True):
        previous = {r["ID"]: r for r in read_rows(dmo.snapshot_files[0]["csv"])}
        for n in (1, 2):
            snap = entry["snapshots"][n]
            current = {r["ID"]: r for r in read_rows(dmo.snapshot_files[n]["csv"])}
            count = len(previous)
            assert len(snap["removed"]) == round(0.03 * count)
            assert len(snap["changed"]) == round(0.10 * count)
            assert len(snap["new"]) == round(0.05 * count)
            assert set(current) == (set(previous) - set(snap["removed"])) | set(snap["new"])
            assert all((dmo.dmo_id, key) in truth for key in snap["new"])
            for key, row in current.items():
                if key in snap["new"]:
                    continue
                changed = {c for c in COLUMNS if row[c] != previous[key][c]}
                kinds = snap["changed"].get(key, [])
                allowed = set().union(*(KIND_COLUMNS[k] for k in kinds))
                assert changed <= allowed, (key, changed, kinds)
                for kind in kinds:  # every change the manifest names is in the data
                    assert changed & KIND_COLUMNS[kind], (key, kind)
            previous = current
    kinds_seen = {
        kind
        for entry in manifest["dmos"]
        for snap in entry["snapshots"][1:]
        for kinds in snap["changed"].values()
        for kind in kinds
    }
    assert kinds_seen == set(KIND_COLUMNS)


def test_configs_validate_and_the_connectors_read_the_files(dataset: GenerationSummary) -> None:
    for dmo in dataset.dmos:
        assert [p.name for p in dmo.configs] == [f"{dmo.slug}-csv.yaml", f"{dmo.slug}-jsonl.yaml"]
        for path in dmo.configs:
            config = load_config(path)
            assert config.dmo_id == dmo.dmo_id and config.dmo_name == dmo.name
            assert config.import_.source_id.field == "ID"
            assert set(config.transform.map_fields.values()) == set(COLUMNS)
            assert config.transform.map_fields == {t: c for c, t in COLUMN_TARGETS.items()}
            reader = read_csv if config.source_type == "csv" else read_jsonl
            data = dmo.snapshot_files[0][config.source_type]
            records = list(reader(config, data))
            assert all(isinstance(r, SourceRecord) for r in records)
            assert len(records) == dmo.records[0]


def test_csv_quoting_matches_the_csv_module(dataset: GenerationSummary) -> None:
    rows = [
        ["plain", 'say "hi"', "a,b", "two\nlines", "cr\rhere", "", None, 44.5, "Café"],
        *(
            [r[c] for c in COLUMNS]
            for r in read_rows(dataset.dmos[0].snapshot_files[0]["csv"])[:20]
        ),
    ]
    expected = io.StringIO(newline="")
    csv.writer(expected).writerows([["" if v is None else v for v in row] for row in rows])
    assert "".join(csv_line(row) for row in rows) == expected.getvalue()


def traced_peak(out: Path, listings_per_dmo: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        summary = generate(
            out, dmos=2, listings_per_dmo=listings_per_dmo, description_kb=10, snapshots=1,
            formats=["csv"],
        )  # fmt: skip
        return tracemalloc.get_traced_memory()[1], summary.bytes_written
    finally:
        tracemalloc.stop()


def test_generation_streams_records(tmp_path: Path) -> None:
    small_peak, small_bytes = traced_peak(tmp_path / "small", 100)
    large_peak, large_bytes = traced_peak(tmp_path / "large", 400)
    assert large_bytes - small_bytes > 6_000_000
    assert large_peak - small_peak < 500_000  # four times the records, about the same memory


def test_demo_data(tmp_path: Path) -> None:
    manifest = write_demo_data(tmp_path)
    first = all_bytes(tmp_path)
    write_demo_data(tmp_path)
    assert all_bytes(tmp_path) == first
    assert sorted(p for p in first if p.startswith("configs/")) == [
        "configs/discover-halifax-csv.yaml",
        "configs/tourism-nova-scotia-csv.yaml",
    ]
    for name in ("discover-halifax-csv", "tourism-nova-scotia-csv"):
        load_config(tmp_path / "configs" / f"{name}.yaml")

    halifax0 = {r["ID"]: r for r in read_rows(tmp_path / "dmo-1" / "snapshot-0.csv")}
    halifax1 = {r["ID"]: r for r in read_rows(tmp_path / "dmo-1" / "snapshot-1.csv")}
    nova_scotia = {r["ID"]: r for r in read_rows(tmp_path / "dmo-2" / "snapshot-0.csv")}
    assert len(halifax0) == len(nova_scotia) == 8 and len(halifax1) == 8
    assert not (tmp_path / "dmo-2" / "snapshot-1.csv").exists()

    truth = read_truth(tmp_path)
    places: dict[int, list[dict[str, str]]] = defaultdict(list)
    for dmo_id, rows in ((1, halifax0), (2, nova_scotia)):
        for key, row in rows.items():
            places[truth[(dmo_id, key)]].append(row)
    shared = [rows for rows in places.values() if len(rows) == 2]
    assert len(shared) == 3
    for a, b in shared:
        assert a["Name"] != b["Name"] and a["Address1"] != b["Address1"]
        assert metres(a, b) < 10

    snap = manifest["dmos"][0]["snapshots"][1]  # type: ignore[index]
    assert snap["removed"] == ["HFX-0008"] and snap["new"] == ["HFX-0009"]
    assert set(halifax1) == set(halifax0) - {"HFX-0008"} | {"HFX-0009"}
    changed = {k for k in halifax0 if k in halifax1 and halifax0[k] != halifax1[k]}
    assert changed == set(snap["changed"]) == {"HFX-0004", "HFX-0005"}
    assert halifax1["HFX-0005"]["Name"] == "Anchor View Inn"
    assert all(len(r["Description"]) < 300 for r in halifax0.values())


def test_cli_writes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = [str(out), "--dmos", "2", "--listings-per-dmo", "20", "--description-kb", "1"]
    assert main([*args, "--snapshots", "2", "--formats", "csv"]) == 0
    report = capsys.readouterr().out
    assert "records/s" in report and "Tourism Nova Scotia" in report
    assert sorted(p.name for p in (out / "dmo-2").iterdir()) == ["snapshot-0.csv", "snapshot-1.csv"]
    assert main(args) == 2  # not empty now
    assert "not empty" in capsys.readouterr().err
    assert main([str(tmp_path / "demo"), "--demo"]) == 0
    assert (tmp_path / "demo" / "dmo-1" / "snapshot-1.csv").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dmos": 9}, "dmos must be between 1 and 8"),
        ({"overlap": 1.5}, "overlap must be between 0 and 1"),
        ({"changed_share": 0.8, "removed_share": 0.3}, "must not exceed 1"),
        ({"formats": ["xml"]}, "formats must be one or more"),
        ({"snapshots": 0}, "snapshots must be between 1"),
    ],
)
def test_bad_parameters_are_named(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(GenerateError, match=message):
        generate(tmp_path / "out", **overrides)
