"""Real public feeds (benchmarks/data, licences in its README.md) through import and transform
on PostgreSQL: readable values are read, unreadable ones are warnings with the source value
kept, and only rows missing a required field are refused."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from listings_pipeline.configs.loader import load_config
from listings_pipeline.pipeline import import_stage, promote_stage, start_job, transform_stage
from listings_pipeline.review.decisions import decide

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"


def run_feed(engine: Engine, slug: str, file_name: str, *, promote: bool = False) -> list[dict]:
    config = load_config(DATA / f"{slug}.yaml")
    path = DATA / file_name
    job_id = start_job(engine, config, input_path=path)
    import_stage(engine, job_id, config, path)
    transform_stage(engine, job_id, config)
    if promote:  # the refused rows (no name) rejected, the rest promoted as they are
        decide(engine, job_id, "reject", reviewer="test", kind="error")
        promote_stage(engine, job_id, config, promoted_by="test")
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        cursor = raw.execute(
            "SELECT source_id, listing_name, ci_international_phone, hours, change_kind,"
            " validation_errors, validation_warnings, unparsed_values FROM stage.listings_flat"
            " WHERE job_id = %s AND rec_num IS NOT NULL ORDER BY rec_num",
            [job_id],
        )
        names = [c.name for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_csv_without_a_country_column(engine: Engine) -> None:
    rows = run_feed(engine, "nyc-restaurants-csv", "nyc_restaurants.csv")
    assert len(rows) == 300
    assert [r["source_id"] for r in rows if r["validation_errors"]] == []  # nothing refused
    assert all(r["change_kind"] != "error" for r in rows)
    # Ten-digit numbers read in the country at the row's coordinates.
    read = [r for r in rows if r["ci_international_phone"]]
    assert len(read) == 298 and all(r["ci_international_phone"].startswith("+1") for r in read)
    unread = {
        r["unparsed_values"]["contact_info.local_phone"] for r in rows if r["unparsed_values"]
    }
    assert unread == {"212_239111", "7188986665"}  # a typo; a row without coordinates


def test_nested_json_export(engine: Engine) -> None:
    rows = run_feed(engine, "osm-vegetarian-json", "osm_vegetarian_places.json", promote=True)
    assert len(rows) == 437
    refused = [r for r in rows if r["validation_errors"]]
    # Only places without a name (required) are refused: 7 of 437.
    assert len(refused) == 7
    assert {r["validation_errors"] for r in refused} == {"listings.name: required but empty"}
    with_hours = [r for r in rows if r["hours"]]
    assert len(with_hours) >= 95
    by_id = {r["source_id"]: r for r in rows}
    seasonal = next(
        r
        for r in rows
        if r["unparsed_values"] and "Jun-Aug" in str(r["unparsed_values"].get("opening_hours.week"))
    )
    assert seasonal["validation_errors"] is None and seasonal["hours"] == []
    assert "opening_hours.week: cannot read 'jun-aug sa off'" in seasonal["validation_warnings"]
    # Phones written nationally are read in the country at the place's coordinates.
    phones = [r["ci_international_phone"] for r in by_id.values() if r["ci_international_phone"]]
    assert len(phones) >= 85
    assert {p[:3] for p in phones} >= {"+49", "+43", "+44", "+42"}
    assert "+16047327700" in phones  # "6047327700": a Vancouver place's number, no country
    # Promoted: several ranges a day, past-midnight closes and 24:00 reach production.
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        listings = raw.execute("SELECT count(*) FROM public.listings").fetchone()[0]
        per_day = raw.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM public.opening_hours"
            " GROUP BY listing_info_id, day_id) d"
        ).fetchone()[0]
        overnight = raw.execute(
            "SELECT count(*) FROM public.opening_hours WHERE close_time < open_time"
        ).fetchone()[0]
    assert listings == 430
    assert per_day == 2 and overnight > 0
