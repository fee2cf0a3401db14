"""Issue 19, a first import's promotion made cheaper: what a user reads must not change. The
create version of every new row is the one the generic diff of its state from nothing gives
(seed 004's history format: each non-null field {"old": null, "new": value}, a new
listing_info's description elided); the changes feed lists the same fields; the matching
profiles of promoted listings are those their function computes; manual edits survive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from listings_pipeline import pipeline
from listings_pipeline.catalogue import published
from listings_pipeline.configs import SourceConfig
from listings_pipeline.promotion.history import job_changes
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import DATE_FIELDS, listing, run_job, stage_job

# The create version as the promotion wrote it before migration 092: the row's whole state
# (pipeline.row_states) diffed from nothing (pipeline.state_diff), the description elided.
GENERIC_CREATES = """
SELECT r.target_table, r.target_id,
       CASE WHEN r.target_table = 'listing_info' AND d.changes ? 'description'
            THEN jsonb_set(d.changes, '{description}', '{"old": null, "elided": true}')
            ELSE d.changes END AS changes
FROM pipeline.row_states(ARRAY(SELECT id FROM public.listings),
                         ARRAY(SELECT id FROM public.locations),
                         ARRAY(SELECT id FROM public.listing_info),
                         ARRAY(SELECT id FROM public.contact_info)) AS r
CROSS JOIN LATERAL (SELECT pipeline.state_diff(NULL, r.state) AS changes) AS d
"""
NEW_CREATES = """
SELECT c.target_table, c.target_id, c.changes
FROM pipeline.create_versions(ARRAY(SELECT id FROM public.listings),
                              ARRAY(SELECT id FROM public.locations),
                              ARRAY(SELECT id FROM public.listing_info),
                              ARRAY(SELECT id FROM public.contact_info)) AS c
"""


def by_row(conn: Connection, sql: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r.target_table, r.target_id): r.changes for r in conn.execute(text(sql))}


def dates_config() -> SourceConfig:
    """The test CSV config, with one opening date range mapped."""
    transform = csv_config().transform.model_dump()
    transform["map_fields"] |= {
        "opening_dates.start_date_1": "Start1",
        "opening_dates.end_date_1": "End1",
    }
    return csv_config(transform=transform)


def varied_places() -> list[dict[str, str]]:
    """New places with fields left empty in different combinations, several images, opening
    dates (one open-ended) and hours on several days."""
    return [
        place(1, Image2="http://127.0.0.1/img/1b.jpg", Start1="2026-05-01", End1="2026-09-30"),
        place(2, Address1="", Lat="", Lng="", Attributes="", Start1="2026-06-01"),
        place(3, Email="", Phone="", Image1="", MonOpen="", MonClose="", Description=""),
        place(4, City="", Country="", Attributes="Museums, Tours, Food"),
    ]


def test_creates_are_the_generic_diff_of_each_new_row(engine: Engine, tmp_path: Path) -> None:
    job = run_job(engine, dates_config(), tmp_path, varied_places(), DATE_FIELDS)
    with engine.connect() as conn:
        expected = by_row(conn, GENERIC_CREATES)
        written = {
            (c.target_table, c.target_id): c
            for c in job_changes(conn, job)
            if c.change_type == "create"
        }
        feed, _ = published.changes(conn, cursor=None, limit=1000)
    assert len(expected) == 4 * 4 - 1  # place 3 has no contact details: no contact_info row
    assert {key: c.changes for key, c in written.items()} == expected
    assert all(c.version == 1 and c.reviewer == "auto" for c in written.values())
    assert {c.change_reason for c in written.values()} == {"new in the source"}
    # The reader's view: what a create says, field by field.
    info = listing(engine, "P1")
    first = written[("listing_info", info["info_id"])].changes
    assert first["description"] == {"old": None, "elided": True}
    assert first["images"]["new"] == ["http://127.0.0.1/img/1.jpg", "http://127.0.0.1/img/1b.jpg"]
    assert first["opening_dates"]["new"] == [{"start_date": "2026-05-01", "end_date": "2026-09-30"}]
    assert first["opening_hours"]["new"] == [
        {"day_id": 1, "open_time": "09:00:00", "close_time": "17:00:00"}
    ]
    no_text = written[("listing_info", listing(engine, "P3")["info_id"])].changes
    assert "description" not in no_text and no_text["opening_hours"]["new"] == []
    open_ended = written[("listing_info", listing(engine, "P2")["info_id"])].changes
    assert open_ended["opening_dates"]["new"] == [{"start_date": "2026-06-01", "end_date": None}]
    assert written[("listings", listing(engine, "P2")["id"])].changes["attributes"]["new"] == []
    # The changes feed names the same fields.
    assert {(i["part"], i["part_id"]): sorted(i["fields"]) for i in feed} == {
        key: sorted(changes) for key, changes in expected.items()
    }


def test_every_history_field_of_every_table_is_in_a_create(engine: Engine, tmp_path: Path) -> None:
    """Rows with every column set (claims, place ids, address parts, socials) and rows with
    socials a JSON null: the per-table create of migration 092 equals the generic one, so a
    column added to a table without adding it there fails here."""
    run_job(engine, dates_config(), tmp_path, varied_places(), DATE_FIELDS)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE public.listings SET google_place_id = 'g-' || id, claimed = true,"
                " claimed_by = 'owner', claimed_at = '2026-12-01 10:00+00',"
                " externally_managed = false, origin_deleted = true WHERE id % 2 = 1;"
                "UPDATE public.locations SET address2 = 'Suite 2', region = 'HRM',"
                " state = 'NS', zip = 'B3J 1A1', city = coalesce(city, 'Halifax'),"
                " country = coalesce(country, 'CA'), lat = coalesce(lat, 44.6),"
                " lng = coalesce(lng, -63.5);"
                "UPDATE public.contact_info SET name = 'Front desk',"
                " international_phone = '+1 902-555-0100', website_url = 'https://example.com',"
                ' socials = CASE WHEN id % 2 = 0 THEN \'{"x": "@p", "fb": null}\'::JSONB'
                " ELSE 'null'::JSONB END;"
                "UPDATE public.listing_info SET origin_deleted = true, info_status = 'inactive'"
            )
        )
    with engine.connect() as conn:
        expected = by_row(conn, GENERIC_CREATES)
        built = by_row(conn, NEW_CREATES)
        columns = {
            t: set(
                conn.execute(
                    text(
                        "SELECT jsonb_object_keys(pipeline.history_state(to_jsonb(x)))"
                        f" FROM public.{t} x LIMIT 100"
                    )
                ).scalars()
            )
            for t in ("listings", "locations", "listing_info", "contact_info")
        }
    assert built == expected
    seen = {t: set() for t in columns}
    for (table, _), changes in built.items():
        seen[table] |= set(changes)
    for table, names in columns.items():  # every history field of the table appears
        assert names <= seen[table], (table, names - seen[table])


def test_profiles_of_promoted_listings_are_computed_from_them(
    engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, dates_config(), tmp_path, varied_places(), DATE_FIELDS)
    with engine.connect() as conn:
        stored = [
            dict(r)
            for r in conn.execute(
                text("SELECT * FROM pipeline.listing_match_profiles ORDER BY listing_id")
            ).mappings()
        ]
        computed = [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT l.id AS listing_id, p.name_key, p.compact, p.tokens, p.address_key,"
                    " p.numbers, p.street, p.city_key, p.postcode, lo.lat, lo.lng, p.keys"
                    " FROM public.listings l LEFT JOIN public.locations lo ON lo.id = l.location_id"
                    " CROSS JOIN LATERAL pipeline.match_profile(l.name, lo.address1, lo.city,"
                    " lo.zip, lo.lat, lo.lng, false) AS p ORDER BY l.id"
                )
            ).mappings()
        ]
    assert len(stored) == 4 and stored == computed
    assert stored[0]["name_key"] == "place 1" and "a:1:water" in stored[0]["keys"]


def test_a_batch_with_creates_and_kept_manual_edits(engine: Engine, tmp_path: Path) -> None:
    """A re-import with one new place and one changed place a person edited: the new one gets
    its create, the edited field keeps the person's value, the rest is updated."""
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1), place(2)])
    edited = listing(engine, "P1")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE public.locations SET city = 'Dartmouth' WHERE id = :id"),
            {"id": edited["location_id"]},
        )
    job = stage_job(
        engine,
        config,
        tmp_path,
        [place(1, City="Bedford", Email="new1@example.com"), place(2), place(5)],
    )
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    after = listing(engine, "P1")
    assert (after["city"], after["email"]) == ("Dartmouth", "new1@example.com")
    with engine.connect() as conn:
        changes = job_changes(conn, job)
        expected = by_row(conn, GENERIC_CREATES)
    creates = {
        (c.target_table, c.target_id): c.changes for c in changes if c.change_type == "create"
    }
    new = listing(engine, "P5")
    with engine.connect() as conn:
        contact = conn.execute(
            text("SELECT contact_info_id FROM public.listing_info WHERE id = :id"),
            {"id": new["info_id"]},
        ).scalar_one()
    assert set(creates) == {
        ("listings", new["id"]),
        ("locations", new["location_id"]),
        ("listing_info", new["info_id"]),
        ("contact_info", contact),
    }
    assert creates == {key: expected[key] for key in creates}
    updates = [(c.target_table, c.changed_fields) for c in changes if c.change_type == "update"]
    assert updates == [("contact_info", ["email"])]
