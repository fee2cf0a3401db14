"""The import stage: immutable, split raw files with the seed's metadata; conservation of
records; stable source ids across re-imports and source types."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.importing.raw_store import get_raw_store
from listings_pipeline_tests.helpers import csv_config, place, write_csv


def _import(engine: Engine, config: SourceConfig, path: Path) -> int:
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    return job_id


def _files(engine: Engine, job_id: int) -> list:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT file_path, file_seq, record_count, file_size, file_hash, import_id"
                    " FROM pipeline.files WHERE job_id = :j ORDER BY file_seq"
                ),
                {"j": job_id},
            )
        )


def _records(engine: Engine, job_id: int) -> list[dict]:
    store = get_raw_store()
    out = []
    for f in _files(engine, job_id):
        with store.reader(f.file_path) as fh:
            out.extend(json.loads(line) for line in gzip.decompress(fh.read()).splitlines())
    return out


def test_split_by_records_named_and_registered(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(**{"import": {"source_id": {"field": "ID"}, "max_records_per_file": 4}})
    job_id = _import(engine, config, write_csv(tmp_path / "a.csv", [place(i) for i in range(10)]))
    files = _files(engine, job_id)
    assert [(f.file_seq, f.record_count) for f in files] == [(1, 4), (2, 4), (3, 2)]
    day = files[0].file_path.split("/")[4]
    assert files[0].file_path == f"dev/raw/listings/1/{day}/job-{job_id:06}-01.jsonl.gz"
    assert all(f.import_id == f"job-{job_id:06}" for f in files)
    store = get_raw_store()
    for f in files:  # hash and size are those of the stored bytes
        with store.reader(f.file_path) as fh:
            data = fh.read()
        assert hashlib.md5(data).hexdigest() == f.file_hash and len(data) == f.file_size
    record = _records(engine, job_id)[0]
    assert set(record) == {
        "rec_num",
        "dmo_id",
        "source_id",
        "imported_at",
        "imported_by",
        "locator",
        "record",
    }
    assert (record["rec_num"], record["dmo_id"], record["source_id"]) == (1, 1, "P0")
    assert record["imported_by"] == "0"
    original = Path(files[0].file_path).parent / f"job-{job_id:06}-original.csv"
    assert store.exists(str(original))  # the upload is kept beside its raw files


def test_split_by_bytes(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(**{"import": {"source_id": {"field": "ID"}, "max_bytes_per_file": 4096}})
    rows = [place(i, Description="x" * 1500) for i in range(10)]
    files = _files(engine, _import(engine, config, write_csv(tmp_path / "a.csv", rows)))
    assert len(files) > 1 and sum(f.record_count for f in files) == 10
    assert max(f.record_count for f in files) <= 2  # ~1.8 KB each under a 4 KB cap


def test_raw_files_are_immutable(engine: Engine, tmp_path: Path) -> None:
    job_id = _import(engine, csv_config(), write_csv(tmp_path / "a.csv", [place(1)]))
    store = get_raw_store()
    key = _files(engine, job_id)[0].file_path
    path = store.root / key
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert (path.stat().st_mode & 0o222) == 0  # read-only for everyone
    with pytest.raises(FileExistsError), store.writer(key) as fh:
        fh.write(b"overwrite")
    with store.reader(key) as fh:
        assert gzip.decompress(fh.read()).count(b"\n") == 1


def test_conservation_and_stable_source_ids(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    write_csv(path, [place(1), place(2, ID=""), place(3), place(4)])
    with path.open("a") as fh:
        fh.write("P5,too,few\n")
    config = csv_config()
    job1 = _import(engine, config, path)
    job2 = _import(engine, config, path)
    with engine.connect() as conn:
        for job_id in (job1, job2):
            total, failed = conn.execute(
                text("SELECT records_total, records_failed FROM pipeline.jobs WHERE id = :j"),
                {"j": job_id},
            ).one()
            written = sum(f.record_count for f in _files(engine, job_id))
            errors = conn.execute(
                text("SELECT count(*) FROM pipeline.job_errors WHERE job_id = :j"), {"j": job_id}
            ).scalar_one()
            assert (total, written, failed, errors) == (5, 3, 2, 2)  # 5 = 3 written + 2 errors
        messages = conn.execute(
            text(
                "SELECT field_name, error_message FROM pipeline.job_errors WHERE job_id = :j"
                " ORDER BY id"
            ),
            {"j": job1},
        ).all()
    assert messages[0].field_name == "ID" and "line 3" in messages[0].error_message
    assert "line 6" in messages[1].error_message and "ragged" in messages[1].error_message
    ids1 = [r["source_id"] for r in _records(engine, job1)]
    assert ids1 == [r["source_id"] for r in _records(engine, job2)] == ["P1", "P3", "P4"]


def test_hashed_source_id_survives_a_change_of_source_type(engine: Engine, tmp_path: Path) -> None:
    """Seed 000: a DMO moving from CSV to JSON keeps dmo_id + normalize(name) + normalize(city)."""
    mapping = {"listings.name": "Name", "locations.city": "City"}
    as_csv = csv_config(**{"import": {}, "transform": {"map_fields": mapping}})
    rows = [place(1, Name="The Harbour Inn"), place(2, Name="Café Nord")]
    csv_ids = [
        r["source_id"]
        for r in _records(engine, _import(engine, as_csv, write_csv(tmp_path / "a.csv", rows)))
    ]
    json_path = tmp_path / "a.jsonl"
    json_path.write_text(
        "\n".join(
            json.dumps({"title": {"rendered": r["Name"].upper() + "!"}, "town": r["City"]})
            for r in rows
        )
    )
    as_json = csv_config(
        source_type="jsonl",
        **{
            "import": {},
            "transform": {
                "map_fields": {"listings.name": "title.rendered", "locations.city": "town"}
            },
        },
    )
    json_ids = [r["source_id"] for r in _records(engine, _import(engine, as_json, json_path))]
    assert csv_ids == json_ids and len(set(csv_ids)) == 2


def test_source_id_field_needs_no_mapping_of_the_default_hash_fields(
    engine: Engine, tmp_path: Path
) -> None:
    """With `source_id.field`, the default hash_of (name, city) is never used: a config that
    does not map locations.city imports (it used to fail with a KeyError)."""
    config = csv_config(
        **{
            "import": {"source_id": {"field": "ID"}},
            "transform": {"map_fields": {"listings.name": "Name"}},
        }
    )
    rows = [place(1, Name="Harbour Inn"), place(2, Name="Café Nord")]
    job_id = _import(engine, config, write_csv(tmp_path / "no-city.csv", rows))
    assert sorted(r["source_id"] for r in _records(engine, job_id)) == sorted(
        str(r["ID"]) for r in rows
    )
