"""Issue 19: an unchanged daily import (the same file as the source's last completed job, the same
config and transform code) stages no record and writes nothing to production, yet is a job like
any other: recorded, counted, deletion detection over its records, "unchanged" in its report."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.catalogue.claims import claim
from listings_pipeline.configs import SourceConfig
from listings_pipeline.db import get_engine, reset_engine
from listings_pipeline.maintenance.retention import prune_stage
from listings_pipeline.reports import format_summary, job_summary
from listings_pipeline.review import decide
from listings_pipeline.review.holds import job_holds
from listings_pipeline.transform.stage import run_transform
from listings_pipeline_tests.helpers import csv_config, place, write_csv
from listings_pipeline_tests.review_helpers import checksums, kinds, listing, run_job, stage_job

N = 30  # above the source-change checks' min_records (20): a wrong record count would hold


def places(count: int = N) -> list[dict[str, str]]:
    return [place(i) for i in range(1, count + 1)]


def job(engine: Engine, job_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT * FROM pipeline.jobs WHERE id = :j"), {"j": job_id})
            .mappings()
            .one()
        )


def record_rows(engine: Engine, job_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM stage.listings_flat WHERE job_id = :j AND rec_num IS NOT NULL"
            ),
            {"j": job_id},
        ).scalar_one()


def errors_of(engine: Engine, job_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (r.error_type, r.record_id or "")
            for r in conn.execute(
                text("SELECT error_type, record_id FROM pipeline.job_errors WHERE job_id = :j"),
                {"j": job_id},
            )
        ]


def test_an_unchanged_reimport_stages_nothing_and_writes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    first = run_job(engine, config, tmp_path, places())
    assert record_rows(engine, first) == N
    before = checksums(engine)

    again = run_job(engine, config, tmp_path, places())  # the same export, a new file

    assert job(engine, again)["unchanged_of"] == first
    assert record_rows(engine, again) == 0
    assert checksums(engine) == before  # production, bridge and history untouched
    recorded = job(engine, again)
    assert recorded["status"] == "completed"
    assert (recorded["records_total"], recorded["records_unchanged"]) == (N, N)
    assert (recorded["records_new"], recorded["records_updated"]) == (0, 0)
    with engine.connect() as conn:
        assert job_holds(conn, again) == []  # N records, as before: no source-change hold
        summary = job_summary(conn, again)
    assert (summary["unchanged"], summary["unchanged_of"]) == (True, first)
    assert f"unchanged: the same input as job {first}" in format_summary(summary)

    third = run_job(engine, config, tmp_path, places())  # stands on the first job's rows too
    assert job(engine, third)["unchanged_of"] == first
    assert checksums(engine) == before


def test_a_changed_file_is_imported_in_full(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, places())
    changed = places()
    changed[4] = place(5, Name="Renamed place")
    job_id = run_job(engine, config, tmp_path, changed)
    assert job(engine, job_id)["unchanged_of"] is None
    assert record_rows(engine, job_id) == N
    assert listing(engine, "P5")["name"] == "Renamed place"


def test_a_catalogue_change_since_is_seen_whatever_the_workers_time_zone(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job times are TIMESTAMP (seed 000), history times TIMESTAMPTZ: a worker whose session
    ran 14 hours ahead must not make a later catalogue change look older than the job."""
    config = csv_config()
    monkeypatch.setenv("PGTZ", "Pacific/Kiritimati")  # UTC+14, read by libpq at connect
    reset_engine()
    first = run_job(get_engine(), config, tmp_path, places())
    monkeypatch.delenv("PGTZ")
    reset_engine()
    engine = get_engine()
    claim(engine, int(listing(engine, "P3")["id"]), by="carol")  # a person, after it

    again = run_job(engine, config, tmp_path, places())  # the same export

    assert job(engine, again)["unchanged_of"] is None  # staged in full: production moved
    assert record_rows(engine, again) == N
    assert job(engine, first)["unchanged_of"] is None


def test_a_changed_config_or_transform_code_is_not_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, places())
    data = copy.deepcopy(config.model_dump(by_alias=True, exclude_unset=True))
    data["transform"]["round_lat_lng"] = 3
    rounded = SourceConfig.model_validate(data)
    job_id = run_job(engine, rounded, tmp_path, places())
    assert job(engine, job_id)["unchanged_of"] is None
    assert record_rows(engine, job_id) == N
    assert float(listing(engine, "P1")["lat"]) == 44.6  # the new rounding reached production

    # The last job was staged by other transform code (an upgrade since): stage again.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE pipeline.jobs SET transform_fingerprint = 'older code' WHERE id = :j"),
            {"j": job_id},
        )
    upgraded = run_job(engine, rounded, tmp_path, places())
    assert job(engine, upgraded)["unchanged_of"] is None
    assert record_rows(engine, upgraded) == N
    assert job(engine, run_job(engine, rounded, tmp_path, places()))["unchanged_of"] == upgraded


def test_a_rejected_row_is_proposed_again_not_skipped(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(review={"require_review": ["insert"]})
    first = stage_job(engine, config, tmp_path, places())
    rejected = [r for r, k in kinds(engine, first).items() if k == "insert"][:1]
    with engine.connect() as conn:
        row_id = conn.execute(
            text("SELECT id FROM stage.listings_flat WHERE job_id = :j AND source_id = :s"),
            {"j": first, "s": rejected[0]},
        ).scalar_one()
    decide(engine, first, "reject", row_ids=[row_id], reviewer="rita")
    decide(engine, first, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, first, config, promoted_by="test")

    again = stage_job(engine, config, tmp_path, places())
    assert job(engine, again)["unchanged_of"] is None
    # staged again for a person (the matcher may now call it an uncertain match), not skipped
    assert kinds(engine, again)[rejected[0]] in ("insert", "uncertain_match")


def test_deletion_detection_runs_over_an_unchanged_import(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(promotion={"grace_period": {"imports": 2}})
    run_job(engine, config, tmp_path, places())
    fewer = places()[:-1]  # P30 is gone: missed once, within the grace period
    second = run_job(engine, config, tmp_path, fewer)
    assert "P30" not in kinds(engine, second)

    third = stage_job(engine, config, tmp_path, fewer)  # the same file as the second job's
    assert job(engine, third)["unchanged_of"] == second
    assert kinds(engine, third) == {"P30": "delete"}  # missed twice: proposed now
    decide(engine, third, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, third, config, promoted_by="test")
    assert listing(engine, "P30")["info_origin_deleted"]
    assert not listing(engine, "P29")["info_origin_deleted"]
    assert job(engine, third)["status"] == "completed"


def test_a_retried_unchanged_job_keeps_its_counts(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    records = [*places(), {**place(99), "ID": ""}]  # one record without a source id
    first = run_job(engine, config, tmp_path, records)
    assert len(errors_of(engine, first)) == 1
    path = write_csv(tmp_path / "again.csv", records)
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    pipeline.import_stage(engine, job_id, config, path)  # a retried import (worker crashed)
    assert job(engine, job_id)["unchanged_of"] == first
    imported = job(engine, job_id)  # conservation: N stand-in records + 1 import error
    assert (imported["records_total"], imported["records_failed"]) == (N + 1, 1)
    assert len(errors_of(engine, job_id)) == len(errors_of(engine, first)) == 1
    run_transform(engine, job_id, config)  # a transform that died before its stage finished
    pipeline.transform_stage(engine, job_id, config)
    recorded = job(engine, job_id)
    assert (recorded["records_total"], recorded["records_unchanged"]) == (N, N)
    assert record_rows(engine, job_id) == 0
    assert kinds(engine, job_id) == {}  # no deletion proposed, none twice
    pipeline.promote_stage(engine, job_id, config, promoted_by="test")
    assert job(engine, job_id)["status"] == "completed"


def test_retention_keeps_the_rows_an_unchanged_job_stands_on(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    first = run_job(engine, config, tmp_path, places())
    again = run_job(engine, config, tmp_path, places())
    assert job(engine, again)["unchanged_of"] == first

    pruned = prune_stage(engine, keep_days=0)
    assert first not in [j["job_id"] for j in pruned.jobs]
    assert record_rows(engine, first) == N
    third = run_job(engine, config, tmp_path, places())
    assert job(engine, third)["unchanged_of"] == first
