"""The stages end to end on the domain API: insert, cross-DMO match, update, unchanged,
duplicate and deletion paths, and idempotent promotion."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.review import decide
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, place, write_csv


def run_once(engine: Engine, config, path: Path) -> int:
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    pipeline.transform_stage(engine, job_id, config)
    return job_id


def actions(engine: Engine, job_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT source_id, change_kind FROM stage.listings_flat WHERE job_id = :j"
                " ORDER BY id"  # a duplicate comes after its primary and wins the dict entry
            ),
            {"j": job_id},
        )
        return {r.source_id: r.change_kind for r in rows}


def snapshot(engine: Engine) -> list:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT l.id, l.name, l.updated_at, l.listing_visible, li.id, li.description,"
                    " li.updated_at, li.info_visible FROM public.listings l"
                    " JOIN public.listing_info li ON li.listing_id = l.id ORDER BY li.id"
                )
            )
        )


def test_first_import_inserts_and_second_is_all_skip(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    path = write_csv(tmp_path / "a.csv", [place(i) for i in range(1, 6)])
    job1 = run_once(engine, config, path)
    assert set(actions(engine, job1).values()) == {"insert"}
    assert pipeline.gate(engine, job1).passed
    result = pipeline.promote_stage(engine, job1, config, promoted_by="test")
    assert result.counts.new == 5
    assert count(engine, "public.listings") == 5
    assert count(engine, "public.listing_images") == 5
    assert count(engine, "public.bridge_attributes_listings") == 10
    assert count(engine, "pipeline.bridge_source_target") == 10
    before = snapshot(engine)

    # The same records in another file (reordered): all skip. The same file again is an
    # unchanged import (issue 19) that stages no record. Neither changes production.
    reordered = write_csv(tmp_path / "b.csv", [place(i) for i in range(5, 0, -1)])
    job2 = run_once(engine, config, reordered)
    assert set(actions(engine, job2).values()) == {"skip"}
    pipeline.promote_stage(engine, job2, config, promoted_by="test")
    assert snapshot(engine) == before
    with pytest.raises(pipeline.PromotionRefused, match="already promoted"):
        pipeline.promote_stage(engine, job2, config, promoted_by="test")
    job3 = run_once(engine, config, reordered)
    assert actions(engine, job3) == {}
    pipeline.promote_stage(engine, job3, config, promoted_by="test")
    assert snapshot(engine) == before
    with pytest.raises(pipeline.PromotionRefused, match="already promoted"):
        pipeline.promote_stage(engine, job3, config, promoted_by="test")


def test_cross_dmo_match_update_duplicate_and_deletion(engine: Engine, tmp_path: Path) -> None:
    dmo1 = csv_config("dmo1-csv", 1)
    dmo2 = csv_config("dmo2-csv", 2)
    job = run_once(engine, dmo1, write_csv(tmp_path / "1.csv", [place(i) for i in range(1, 5)]))
    pipeline.promote_stage(engine, job, dmo1, promoted_by="test")

    # DMO 2 lists place 2 under its own id (same name/address/city → match hash) and a new one.
    rows2 = [place(2, ID="X2", Description="DMO 2's words."), place(9, ID="X9")]
    job = run_once(engine, dmo2, write_csv(tmp_path / "2.csv", rows2))
    assert actions(engine, job) == {"X2": "insert", "X9": "insert"}
    with engine.connect() as conn:
        method = conn.execute(
            text("SELECT match_method FROM stage.listings_flat WHERE job_id=:j AND source_id='X2'"),
            {"j": job},
        ).scalar_one()
    assert method == "match_hash"
    pipeline.promote_stage(engine, job, dmo2, promoted_by="test")
    assert count(engine, "public.listings") == 5  # place 2 shared by both DMOs
    assert count(engine, "public.listing_info") == 6

    # DMO 1 again: place 1 changed, place 3 twice (duplicate), place 4 gone.
    rows1 = [place(1, Description="New words."), place(2), place(3), place(3, Name="Other")]
    job = run_once(engine, dmo1, write_csv(tmp_path / "1b.csv", rows1))
    kinds = actions(engine, job)
    assert kinds["P1"] == "update"
    assert kinds["P2"] == "skip"
    assert sorted(kinds.values()).count("duplicate") == 1
    assert kinds["P4"] == "delete"
    gate = pipeline.gate(engine, job)
    assert gate.waiting == {"delete": 1, "duplicate": 1}
    with pytest.raises(pipeline.PromotionRefused, match="wait for review"):
        pipeline.promote_stage(engine, job, dmo1, promoted_by="test")
    decide(engine, job, "approve", kind="delete", reviewer="rita")
    decide(engine, job, "reject", kind="duplicate", reviewer="rita")
    assert pipeline.gate(engine, job).passed
    pipeline.promote_stage(engine, job, dmo1, promoted_by="test")
    with engine.connect() as conn:
        desc = conn.execute(
            text("SELECT description FROM public.listing_info WHERE dmo_id=1 ORDER BY id LIMIT 1")
        ).scalar_one()
        hidden = conn.execute(
            text("SELECT listing_status, listing_visible FROM public.listings WHERE name='Place 4'")
        ).one()
    assert desc == "New words."
    assert tuple(hidden) == ("missing_from_import", False)


def test_unparseable_values_are_row_errors_and_missing_field_reported_once(
    engine: Engine, tmp_path: Path
) -> None:
    # Unreadable values are warnings by default (issue 17, see the next test); a config that
    # marks their rules as errors refuses the rows.
    config = csv_config()
    fields = config.transform.map_fields | {"locations.zip": "Zip"}
    config = csv_config(
        transform={"map_fields": fields},
        validation={"severities": {"lat_lng": "error", "time": "error"}},
    )
    rows = [place(1, Lat="abc"), place(2, MonOpen="9 o'clock"), place(3), place(4)]
    job = run_once(engine, config, write_csv(tmp_path / "a.csv", rows))
    with engine.connect() as conn:
        errors = dict(
            conn.execute(
                text(
                    "SELECT source_id, validation_errors FROM stage.listings_flat"
                    " WHERE job_id = :j AND validation_errors IS NOT NULL"
                ),
                {"j": job},
            ).all()
        )
        unmapped = conn.execute(
            text("SELECT field_name, error_message FROM pipeline.job_errors WHERE job_id = :j"),
            {"j": job},
        ).all()
    assert set(errors) == {"P1", "P2"}
    assert "locations.lat" in errors["P1"] and "abc" in errors["P1"]
    assert "opening_hours" in errors["P2"] and "9 o'clock" in errors["P2"]
    assert actions(engine, job) == {"P1": "error", "P2": "error", "P3": "insert", "P4": "insert"}
    assert [u.field_name for u in unmapped] == ["Zip"]
    assert "missing from every record" in unmapped[0].error_message


def test_unparseable_values_are_warnings_with_the_source_value_kept(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    rows = [place(1, Lat="abc", Lng=""), place(2, MonOpen="9 o'clock"), place(3)]
    job = run_once(engine, config, write_csv(tmp_path / "a.csv", rows))
    with engine.connect() as conn:
        staged = {
            r.source_id: r
            for r in conn.execute(
                text(
                    "SELECT source_id, validation_errors, validation_warnings, unparsed_values,"
                    " loc_lat, hours FROM stage.listings_flat WHERE job_id = :j"
                ),
                {"j": job},
            )
        }
    assert actions(engine, job) == {"P1": "insert", "P2": "insert", "P3": "insert"}
    assert all(r.validation_errors is None for r in staged.values())
    assert staged["P1"].loc_lat is None and staged["P1"].unparsed_values == {"locations.lat": "abc"}
    assert "locations.lat: not a latitude ('abc')" in staged["P1"].validation_warnings
    assert staged["P2"].unparsed_values == {"opening_hours.mon_open": "9 o'clock"}
    assert staged["P2"].hours == [{"day_id": 1, "open_time": None, "close_time": "17:00"}]
    assert staged["P3"].unparsed_values is None


def test_an_unreadable_value_never_blanks_production(engine: Engine, tmp_path: Path) -> None:
    """A source that sends garbage where a good value was is not removing it: the listing keeps
    production's value, nothing waits for a person, and the garbage is shown as a warning."""
    from listings_pipeline_tests.review_helpers import kinds, listing, run_job, stage_row

    config = csv_config()
    run_job(engine, config, tmp_path / "first", [place(1), place(2)])
    before = listing(engine, "P1")
    assert before["email"] == "info1@example.com" and before["lat"] is not None

    garbled = [place(1, Email="info1 at example dot com", Lat="forty-four"), place(2)]
    job = run_job(engine, config, tmp_path / "second", garbled)

    row = stage_row(engine, job, "P1")
    assert row["unparsed_values"] == {
        "contact_info.email": "info1 at example dot com",
        "locations.lat": "forty-four",
    }
    assert "contact_info.email" in row["validation_warnings"]
    assert kinds(engine, job) == {"P1": "skip", "P2": "skip"}
    after = listing(engine, "P1")
    assert (after["email"], after["lat"], after["lng"]) == (
        before["email"],
        before["lat"],
        before["lng"],
    )
