"""The bulk paths that the benchmarks lean on: transforms spanning many batches (flushed in a
background thread), a retry after a failed batch, re-imports that change nothing in production,
and attribute changes reaching production."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.transform import stage
from listings_pipeline_tests.helpers import csv_config, place, write_csv

PUBLIC_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"


def run_once(engine: Engine, config, path: Path) -> int:
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    pipeline.transform_stage(engine, job_id, config)
    return job_id


def stage_rows(engine: Engine, job_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT rec_num, source_id, change_kind, listing_match_hash,"
                    " listing_info_content_hash, location_content_hash, images_content_hash,"
                    " attributes_content_hash FROM stage.listings_flat WHERE job_id = :j"
                    " ORDER BY rec_num"
                ),
                {"j": job_id},
            )
        ]


def public_state(engine: Engine) -> dict[str, tuple]:
    """Per public table: row count and newest writing transaction (any insert, update or
    delete changes one of them)."""
    with engine.connect() as conn:
        tables = conn.execute(text(PUBLIC_TABLES)).scalars().all()
        return {
            t: tuple(
                conn.execute(
                    text(f"SELECT count(*), max(xmin::text::bigint) FROM public.{t}")
                ).one()
            )
            for t in tables
        }


def test_many_small_batches_stage_the_same_rows_as_one(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "a.csv", [place(i) for i in range(1, 12)])
    one = run_once(engine, csv_config("one-batch"), path)
    monkeypatch.setattr(stage, "BATCH_ROWS", 3)
    many = run_once(engine, csv_config("many-batches", 2), path)
    assert len(stage_rows(engine, many)) == 11
    assert [r[2:] for r in stage_rows(engine, many)] == [r[2:] for r in stage_rows(engine, one)]


def test_a_failed_batch_keeps_earlier_batches_and_the_retry_finishes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = csv_config()
    path = write_csv(tmp_path / "a.csv", [place(i) for i in range(1, 11)])
    job = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job, config, path)
    monkeypatch.setattr(stage, "BATCH_ROWS", 4)
    calls = []

    def fail_third_batch(conn) -> dict[str, int]:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("geocoder down")
        return {}

    with pytest.raises(RuntimeError, match="geocoder down"):
        pipeline.transform_stage(engine, job, config, hooks=[fail_third_batch])
    assert [r[0] for r in stage_rows(engine, job)] == list(range(1, 9))
    result = stage.run_transform(engine, job, config)
    assert result.resumed_from == 8
    assert [r[0] for r in stage_rows(engine, job)] == list(range(1, 11))


def test_unchanged_reimport_writes_nothing_to_public(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    path = write_csv(tmp_path / "a.csv", [place(i) for i in range(1, 8)])
    job = run_once(engine, config, path)
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    before = public_state(engine)
    # The same records in another order (another file): every record is staged as a skip.
    reordered = write_csv(tmp_path / "b.csv", [place(i) for i in range(7, 0, -1)])
    job = run_once(engine, config, reordered)
    assert {r[2] for r in stage_rows(engine, job)} == {"skip"}
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert public_state(engine) == before
    # The same file again is an unchanged import (issue 19): no stage row at all.
    job = run_once(engine, config, reordered)
    assert stage_rows(engine, job) == []
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert public_state(engine) == before


CONTENT = (
    "SELECT source_id, listing_name, listing_info_description, loc_lat, loc_lng, images, hours,"
    " attributes, validation_errors, quality_score, listing_match_hash, listing_content_hash,"
    " listing_info_content_hash, location_content_hash, contact_info_content_hash,"
    " images_content_hash, opening_hours_content_hash, attributes_content_hash, record_hash"
    " FROM stage.listings_flat WHERE job_id = :j ORDER BY source_id"
)


def content(engine: Engine, job_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(CONTENT), {"j": job_id})]


def test_unchanged_records_reuse_their_rows_and_changed_ones_are_mapped_again(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    rows = [place(i) for i in range(1, 6)] + [place(6, Lat="", Lng="")]
    first = run_once(engine, config, write_csv(tmp_path / "a.csv", rows))
    pipeline.promote_stage(engine, first, config, promoted_by="test")

    rows[1] = place(2, Description="Now with a view.")
    path = write_csv(tmp_path / "b.csv", rows)
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    result = pipeline.transform_stage(engine, job_id, config)
    # P2 changed; P6 has no coordinates, so the geocoding step wrote to its row: mapped again.
    assert result.counts.extra["reused_rows"] == 4
    before, after = content(engine, first), content(engine, job_id)
    assert [r for r in after if r[0] != "P2"] == [r for r in before if r[0] != "P2"]
    p2 = next(r for r in after if r[0] == "P2")
    assert p2[2] == "Now with a view."
    assert p2[-1] != next(r for r in before if r[0] == "P2")[-1]
    assert {r[1]: r[2] for r in stage_rows(engine, job_id)}["P2"] == "update"
    assert {r[2] for r in stage_rows(engine, job_id) if r[1] != "P2"} == {"skip"}

    # Another config (here: validation) changes the fingerprint: nothing is reused.
    stricter = csv_config(validation={"required_fields": ["contact_info.website_url"]})
    job_id = pipeline.start_job(engine, stricter, input_path=path)
    pipeline.import_stage(engine, job_id, stricter, path)
    result = pipeline.transform_stage(engine, job_id, stricter)
    assert result.counts.extra["reused_rows"] == 0
    assert {r[2] for r in stage_rows(engine, job_id)} == {"error"}


def test_a_row_completed_from_production_is_not_reused(engine: Engine, tmp_path: Path) -> None:
    """Coordinates taken from production are not the record's: the next import maps it again."""
    config = csv_config()
    first = run_once(engine, config, write_csv(tmp_path / "a.csv", [place(1)]))
    pipeline.promote_stage(engine, first, config, promoted_by="test")
    path = write_csv(tmp_path / "b.csv", [place(1, Lat="", Lng="")])
    jobs = [run_once(engine, config, path) for _ in range(2)]
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT job_id, loc_lat IS NOT NULL, record_hash FROM stage.listings_flat"
                " WHERE job_id = ANY(:j) ORDER BY job_id"
            ),
            {"j": jobs},
        ).all()
    assert [(r[1], r[2]) for r in rows] == [(True, None), (True, None)]


def test_changed_attributes_replace_the_listing_links(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    job = run_once(engine, config, write_csv(tmp_path / "a.csv", [place(1), place(2)]))
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    rows = [place(1, Attributes="Tours, Pool"), place(2)]
    job = run_once(engine, config, write_csv(tmp_path / "b.csv", rows))
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    with engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT l.name, string_agg(a.name, ',' ORDER BY a.name)"
                " FROM public.bridge_attributes_listings b"
                " JOIN public.listings l ON l.id = b.listing_id"
                " JOIN public.attributes a ON a.id = b.attribute_id GROUP BY l.name ORDER BY 1"
            )
        ).all()
    assert [tuple(r) for r in names] == [("Place 1", "Pool,Tours"), ("Place 2", "Food,Tours")]
