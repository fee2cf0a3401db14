"""Source policies (config `promotion:`): removal after a grace period, claimed records,
flag-only deletion and expiry."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.promotion.expiry import archive_expired
from listings_pipeline.promotion.history import job_change_summary, listing_history
from listings_pipeline.review import decide
from listings_pipeline_tests.helpers import CSV_FIELDS, csv_config, place, write_csv
from listings_pipeline_tests.review_helpers import (
    DATE_FIELDS,
    kinds,
    listing,
    run_job,
    stage_job,
    stage_row,
)


def config_with(**promotion: Any) -> SourceConfig:
    return csv_config(promotion=promotion)


# --- grace period ------------------------------------------------------------------------------
def test_removal_waits_for_the_grace_period_in_imports(engine: Engine, tmp_path: Path) -> None:
    config = config_with(grace_period={"imports": 2})
    run_job(engine, config, tmp_path, [place(1), place(2), place(3)])
    one_miss = run_job(engine, config, tmp_path, [place(1), place(2)])
    assert "P3" not in kinds(engine, one_miss)
    assert listing(engine, "P3")["listing_visible"]

    # Back in the next import: the count starts again.
    run_job(engine, config, tmp_path, [place(1), place(2), place(3)])
    again = run_job(engine, config, tmp_path, [place(1), place(2)])
    assert "P3" not in kinds(engine, again)
    second = stage_job(engine, config, tmp_path, [place(1), place(2)])
    assert kinds(engine, second)["P3"] == "delete"

    # A re-run of the same job's transform does not count a miss twice.
    with engine.connect() as conn:
        missed = conn.execute(
            text(
                "SELECT m.missed_imports FROM pipeline.source_listing_info m"
                " JOIN pipeline.bridge_source_target b ON b.target_id = m.listing_info_id"
                " WHERE b.source_id = 'P3' AND b.target_type = 'listing_info'"
            )
        ).scalar_one()
    assert missed == 2
    pipeline.transform_stage(engine, second, config)
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT m.missed_imports FROM pipeline.source_listing_info m"
                    " JOIN pipeline.bridge_source_target b ON b.target_id = m.listing_info_id"
                    " WHERE b.source_id = 'P3' AND b.target_type = 'listing_info'"
                )
            ).scalar_one()
            == 2
        )
    assert kinds(engine, second)["P3"] == "delete"


def test_removal_waits_for_the_grace_period_in_days(engine: Engine, tmp_path: Path) -> None:
    config = config_with(grace_period={"days": 3})
    run_job(engine, config, tmp_path, [place(1), place(2)])
    first = stage_job(engine, config, tmp_path, [place(1)])
    assert "P2" not in kinds(engine, first)  # seen minutes ago
    with engine.begin() as conn:  # four days pass without P2
        conn.execute(
            text(
                "UPDATE pipeline.source_listing_info m SET last_seen_at = now() - interval '4 days'"
                " FROM pipeline.bridge_source_target b WHERE b.target_id = m.listing_info_id"
                " AND b.source_id = 'P2' AND b.target_type = 'listing_info'"
            )
        )
    later = stage_job(engine, config, tmp_path, [place(1)])
    assert kinds(engine, later)["P2"] == "delete"


def test_a_partial_import_counts_no_miss(engine: Engine, tmp_path: Path) -> None:
    config = config_with(grace_period={"imports": 1})
    run_job(engine, config, tmp_path, [place(1), place(2)])
    path = write_csv(tmp_path / "partial.csv", [place(1)])
    with path.open("a", encoding="utf-8") as fh:  # a row the CSV reader cannot take
        fh.write(",".join(["x"] * (len(CSV_FIELDS) + 3)) + "\n")
    job = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job, config, path)
    result = pipeline.transform_stage(engine, job, config)
    assert result.counts.extra["deletions_skipped_partial_import"]
    assert "P2" not in kinds(engine, job)
    with engine.connect() as conn:
        missed = conn.execute(
            text("SELECT max(missed_imports) FROM pipeline.source_listing_info")
        ).scalar_one()
    assert missed == 0


# --- claimed records ---------------------------------------------------------------------------
CHANGED = dict(Name="Renamed by source", Lat="44.7001", Description="Source text.")


def _claimed(engine: Engine, tmp_path: Path, config: SourceConfig) -> dict[str, Any]:
    run_job(engine, config, tmp_path, [place(1), place(2)])
    with engine.begin() as conn:  # a person claims P1 (no field edited)
        conn.execute(
            text("UPDATE public.listings SET claimed = true WHERE id = :i"),
            {"i": listing(engine, "P1")["id"]},
        )
    run_job(engine, config, tmp_path, [place(1, **CHANGED), place(2, **CHANGED)])
    return listing(engine, "P1")


def test_claimed_records_selective_take_only_whitelisted_fields(
    engine: Engine, tmp_path: Path
) -> None:
    config = config_with(
        claimed_records={
            "policy": "selective",
            "fields": ["listings.listing_status", "locations.lat", "locations.lng"],
        }
    )
    claimed = _claimed(engine, tmp_path, config)
    assert claimed["claimed"]
    assert (claimed["name"], claimed["description"]) == ("Place 1", "Description of place 1.")
    assert float(claimed["lat"]) == pytest.approx(44.7001)
    unclaimed = listing(engine, "P2")  # source wins on records nobody claimed
    assert (unclaimed["name"], unclaimed["description"]) == ("Renamed by source", "Source text.")


def test_claimed_records_skip_take_nothing(engine: Engine, tmp_path: Path) -> None:
    claimed = _claimed(engine, tmp_path, config_with(claimed_records={"policy": "skip"}))
    assert (claimed["name"], claimed["description"]) == ("Place 1", "Description of place 1.")
    assert float(claimed["lat"]) == pytest.approx(44.6001)
    with engine.connect() as conn:  # the source's new content was seen: no endless updates
        versions = [c.change_type for c in listing_history(conn, claimed["id"])]
    assert versions.count("update") == 0 and versions.count("claim") == 1  # the claim alone


def test_claimed_records_source_wins_but_edited_fields_stay(engine: Engine, tmp_path: Path) -> None:
    config = config_with(claimed_records={"policy": "source_wins"})
    run_job(engine, config, tmp_path, [place(1)])
    with engine.begin() as conn:  # editing a field claims the record too
        conn.execute(text("UPDATE public.listings SET name = 'Our name'"))
    run_job(engine, config, tmp_path, [place(1, **CHANGED)])
    record = listing(engine, "P1")
    assert (record["name"], record["description"]) == ("Our name", "Source text.")


def test_a_reviewer_can_force_a_claimed_record(engine: Engine, tmp_path: Path) -> None:
    config = config_with(claimed_records={"policy": "skip"})
    run_job(engine, config, tmp_path, [place(1)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE public.listings SET claimed = true"))
    job = stage_job(engine, config, tmp_path, [place(1, **CHANGED)])
    row = stage_row(engine, job, "P1")["id"]
    decide(engine, job, "approve", row_ids=[row], reviewer="rita", override="force_overwrite")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert listing(engine, "P1")["name"] == "Renamed by source"


# --- flag-only deletion ------------------------------------------------------------------------
def test_flag_only_deletion_keeps_the_listing_visible(engine: Engine, tmp_path: Path) -> None:
    config = config_with(on_missing="flag_only")
    run_job(engine, config, tmp_path, [place(1), place(2)])
    gone = run_job(engine, config, tmp_path, [place(1)])
    assert kinds(engine, gone)["P2"] == "delete"
    flagged = listing(engine, "P2")
    assert flagged["origin_deleted"] and flagged["info_origin_deleted"]
    assert (flagged["listing_status"], flagged["listing_visible"]) == ("active", True)
    assert (flagged["info_status"], flagged["info_visible"]) == ("active", True)

    still_gone = stage_job(engine, config, tmp_path, [place(1)])
    assert "P2" not in kinds(engine, still_gone)  # flagged once, not again every import
    pipeline.promote_stage(engine, still_gone, config, promoted_by="test")

    back = run_job(engine, config, tmp_path, [place(1), place(2)])
    assert kinds(engine, back)["P2"] == "update"
    returned = listing(engine, "P2")
    assert not returned["origin_deleted"] and not returned["info_origin_deleted"]
    with engine.connect() as conn:
        types = [(c.target_table, c.change_type) for c in listing_history(conn, returned["id"])]
        assert job_change_summary(conn, gone) == {
            "listing_info": {"delete": 1},
            "listings": {"delete": 1},
        }
    assert ("listings", "reactivate") in types and ("listing_info", "reactivate") in types


# --- expiry ------------------------------------------------------------------------------------
def dates_config(**expiry: Any) -> SourceConfig:
    base = csv_config()
    transform = base.transform.model_dump()
    transform["map_fields"] |= {
        "opening_dates.start_date_1": "Start1",
        "opening_dates.end_date_1": "End1",
    }
    return csv_config(transform=transform, promotion={"expiry": expiry})


def test_expired_listings_are_archived_and_come_back_with_new_dates(
    engine: Engine, tmp_path: Path
) -> None:
    config = dates_config()
    today = date.today()
    past = {"Start1": str(today - timedelta(days=60)), "End1": str(today - timedelta(days=1))}
    future = {"Start1": str(today), "End1": str(today + timedelta(days=30))}
    rows = [place(1, **past), place(2, **future), place(3)]  # P3 has no dates: never expires
    job = run_job(engine, config, tmp_path, rows, DATE_FIELDS)
    archived = listing(engine, "P1")
    assert (archived["listing_status"], archived["listing_visible"]) == ("archived", False)
    assert (archived["info_status"], archived["info_visible"]) == ("archived", False)
    assert listing(engine, "P2")["listing_status"] == "active"
    assert listing(engine, "P3")["listing_status"] == "active"
    with engine.connect() as conn:
        *_, listing_version, info_version = listing_history(conn, archived["id"])
        assert job_change_summary(conn, job)["listings"] == {"create": 3}
    assert (listing_version.target_table, listing_version.change_type) == ("listings", "archive")
    assert (listing_version.job_id, listing_version.reviewer) == (None, "test")
    assert listing_version.change_reason == "expired: no live listing info left"
    assert info_version.change_reason == f"expired: last opening date {past['End1']}"

    assert archive_expired(engine, config).as_dict() == {
        "archived_infos": 0,
        "archived_listings": 0,
        "restored_infos": 0,
        "restored_listings": 0,
    }  # idempotent
    # A daily run a month later archives P2 too.
    later = archive_expired(engine, config, today=today + timedelta(days=31))
    assert (later.archived_infos, later.archived_listings) == (1, 1)
    assert listing(engine, "P2")["listing_status"] == "archived"

    # New dates from the source bring P1 back.
    rows = [place(1, **future), place(2, **future), place(3)]
    run_job(engine, config, tmp_path, rows, DATE_FIELDS)
    restored = listing(engine, "P1")
    assert (restored["listing_status"], restored["listing_visible"]) == ("active", True)
    assert (restored["info_status"], restored["info_visible"]) == ("active", True)
    with engine.connect() as conn:
        *_, listing_version, info_version = listing_history(conn, restored["id"])
    assert (listing_version.change_type, info_version.change_type) == ("reactivate", "reactivate")
    assert info_version.change_reason == "opening dates no longer expired"


def test_expiry_leaves_a_status_a_person_set(engine: Engine, tmp_path: Path) -> None:
    config = dates_config(after_days=7)
    today = date.today()
    ended = {"Start1": str(today - timedelta(days=60)), "End1": str(today - timedelta(days=3))}
    run_job(engine, config, tmp_path, [place(1, **ended)], DATE_FIELDS)
    assert listing(engine, "P1")["listing_status"] == "active"  # within after_days
    with engine.begin() as conn:
        conn.execute(text("UPDATE public.listings SET listing_status = 'featured'"))
        conn.execute(text("UPDATE public.listing_info SET info_status = 'featured'"))
    result = archive_expired(engine, config, today=today + timedelta(days=10))
    assert result.archived_listings == 0 and result.archived_infos == 0
    assert listing(engine, "P1")["listing_status"] == "featured"


# --- config ------------------------------------------------------------------------------------
def test_policy_config_is_checked() -> None:
    defaults = csv_config().promotion
    assert (defaults.on_missing, defaults.grace_period.imports, defaults.grace_period.days) == (
        "soft_delete",
        1,
        0,
    )
    # Seed 003's selective merge: a claimed record takes status and coordinates only.
    assert defaults.claimed_records.policy == "selective" and defaults.expiry is None
    assert defaults.claimed_records.fields == [
        "listings.listing_status",
        "listings.listing_visible",
        "locations.lat",
        "locations.lng",
    ]
    with pytest.raises(ValidationError, match="'listings.price' is not a production field"):
        config_with(claimed_records={"policy": "selective", "fields": ["listings.price"]})
    with pytest.raises(ValidationError, match="needs the list of fields"):
        config_with(claimed_records={"policy": "selective", "fields": []})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        config_with(grace_period={"imports": 2, "weeks": 1})
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        config_with(grace_period={"imports": 0})
    with pytest.raises(ValidationError, match="flag_only"):
        config_with(on_missing="hide")


def test_expire_from_the_command_line(engine: Engine, tmp_path: Path, config_dir: Path) -> None:
    import yaml
    from click.testing import CliRunner

    from listings_pipeline.cli import main

    config = dates_config()
    (config_dir / f"{config.slug}.yaml").write_text(yaml.safe_dump(config.to_json()))
    ends = {"Start1": "2030-01-01", "End1": "2030-06-30"}
    run_job(engine, config, tmp_path, [place(1, **ends)], DATE_FIELDS)
    result = CliRunner().invoke(main, ["expire", config.slug, "--today", "2030-08-01"])
    assert result.exit_code == 0, result.output
    assert "archived listings: 1" in result.output
    assert listing(engine, "P1")["listing_status"] == "archived"
    missing = CliRunner().invoke(main, ["expire", "nope"])
    assert missing.exit_code != 0


def test_update_bridge_table_true_is_what_promotion_does_and_false_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    config = config_with(update_bridge_table=True, merge_policy="latest_wins")
    assert "update_bridge_table" not in config.promotion.model_dump()
    run_job(engine, config, tmp_path, [place(1, Attributes="Tours, Food")])
    run_job(engine, config, tmp_path, [place(1, Attributes="Museum")])
    with engine.connect() as conn:  # the attribute links and the mapping follow the source
        names = conn.execute(
            text(
                "SELECT array_agg(a.name ORDER BY a.name) FROM public.bridge_attributes_listings b"
                " JOIN public.attributes a ON a.id = b.attribute_id"
            )
        ).scalar_one()
        mapped = conn.execute(
            text("SELECT count(*) FROM pipeline.bridge_source_target WHERE source_id = 'P1'")
        ).scalar_one()
    assert (names, mapped) == (["Museum"], 2)
    with pytest.raises(ValidationError, match="update_bridge_table: false is not supported"):
        config_with(update_bridge_table=False)
