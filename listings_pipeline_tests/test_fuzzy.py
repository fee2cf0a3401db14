"""Fuzzy matching of unlinked stage rows to production listings, in PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import MatchingSettings
from listings_pipeline.transform.fuzzy import match_unmatched

JOB = 1
DMO = 1  # the importing DMO
OTHER_DMO = 2


def production(
    conn: Connection,
    name: str,
    address1: str | None,
    city: str | None,
    phone: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    dmo_id: int = OTHER_DMO,
) -> int:
    """A production listing with its location, and a listing_info + contact of `dmo_id`."""
    return conn.execute(
        text(
            """
            WITH loc AS (
                INSERT INTO public.locations (address1, city, country, lat, lng)
                VALUES (:address1, :city, 'CA', :lat, :lng) RETURNING id
            ), listing AS (
                INSERT INTO public.listings (name, location_id) SELECT :name, id FROM loc
                RETURNING id
            ), contact AS (
                INSERT INTO public.contact_info (local_phone) VALUES (:phone) RETURNING id
            ), info AS (
                INSERT INTO public.listing_info (listing_id, dmo_id, contact_info_id)
                SELECT listing.id, :dmo_id, contact.id FROM listing, contact
            )
            SELECT id FROM listing
            """
        ),
        {"name": name, "address1": address1, "city": city, "phone": phone, "lat": lat,
         "lng": lng, "dmo_id": dmo_id},
    ).scalar_one()  # fmt: skip


def stage(conn: Connection, rec_num: int, name: str, **columns: Any) -> None:
    values = {"job_id": JOB, "rec_num": rec_num, "dmo_id": DMO, "source_id": f"s{rec_num}",
              "listing_name": name, **columns}  # fmt: skip
    names = ", ".join(values)
    params = ", ".join(f":{key}" for key in values)
    conn.execute(text(f"INSERT INTO stage.listings_flat ({names}) VALUES ({params})"), values)


def matches(conn: Connection) -> dict[int, tuple[Any, ...]]:
    rows = conn.execute(
        text(
            "SELECT rec_num, listing_internal_id, match_candidate_id, match_method, match_score"
            " FROM stage.listings_flat WHERE job_id = :job ORDER BY rec_num"
        ),
        {"job": JOB},
    )
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.fixture
def conn(engine: Engine) -> Any:
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO public.dmos (id, name) VALUES (1, 'Importer'), (2, 'Other')")
        )
        conn.execute(
            text("INSERT INTO pipeline.jobs (id, dmo_id, current_stage) VALUES (1, 1, 'transform')")
        )
        yield conn


def test_same_place_written_differently_links(conn: Connection) -> None:
    inn = production(conn, "The Harbour View Inn", "12 Water Street", "Halifax", "902.555.0101")
    stage(conn, 1, "Harbourview Inn", loc_address1="12 Water St.", loc_city="Halifax",
          ci_local_phone="(902) 555-0101")  # fmt: skip
    # Without a phone, name + address + city still make a confident match.
    cafe = production(conn, "Café du Port", "3 Lower Water Rd", "Halifax")
    stage(conn, 2, "Cafe du Port", loc_address1="3 Lower Water Road", loc_city="HALIFAX")

    counts = match_unmatched(conn, JOB, MatchingSettings())

    got = matches(conn)
    assert {k: v[:3] for k, v in got.items()} == {1: (inn, None, "fuzzy"), 2: (cafe, None, "fuzzy")}
    assert all(v[3] >= Decimal("0.99") for v in got.values())  # match probability
    assert counts.as_dict() == {"considered": 2, "fuzzy": 2, "suggested": 0, "unmatched": 0}


def test_two_businesses_in_one_building_do_not_link(conn: Connection) -> None:
    production(conn, "Harbour Dental Clinic", "50 Main Street", "Halifax", "902-555-0199")
    stage(conn, 1, "Main Street Bakery", loc_address1="50 Main St", loc_city="Halifax",
          ci_local_phone="902-555-0123")  # fmt: skip
    # Even sharing the building's phone, different names are never linked automatically.
    desk = production(conn, "Seaside Suites", "80 Main Street", "Halifax", "902-555-0444")
    stage(conn, 2, "Seaside Spa", loc_address1="80 Main Street", loc_city="Halifax",
          ci_local_phone="902 555 0444")  # fmt: skip

    counts = match_unmatched(conn, JOB, MatchingSettings())

    got = matches(conn)
    assert got[1] == (None, None, None, None)
    assert got[2][:3] == (None, desk, "suggested")
    assert counts.fuzzy == 0


def test_same_name_in_another_city_is_at_most_suggested(conn: Connection) -> None:
    diner = production(conn, "Tim's Diner", "1 Main Street", "Truro")
    stage(conn, 1, "Tim's Diner", loc_address1="1 Main Street", loc_city="Halifax")
    production(conn, "Blue Heron Lodge", "7 Shore Road", "Digby")
    stage(conn, 2, "Blue Heron Lodge", loc_address1="220 Robie Street", loc_city="Halifax")

    match_unmatched(conn, JOB, MatchingSettings())

    got = matches(conn)
    assert got[1][:3] == (None, diner, "suggested")  # same street address text: ask a person
    assert got[2] == (None, None, None, None)  # name only, elsewhere: a different place


def test_far_apart_or_ambiguous_or_thin_matches_are_only_suggested(conn: Connection) -> None:
    far = production(conn, "Lighthouse Cafe", "2 Bay Road", "Lunenburg", lat=44.377, lng=-64.31)
    stage(conn, 1, "Lighthouse Cafe", loc_address1="2 Bay Road", loc_city="Lunenburg",
          loc_lat=44.45, loc_lng=-64.20)  # 11 km away  # fmt: skip
    first = production(conn, "Harbourview Inn", "12 Water Street", "Halifax")
    production(conn, "Harbour View Inn", "12 Water St", "Halifax")  # a duplicate in production
    stage(conn, 2, "Harbourview Inn", loc_address1="12 Water Street", loc_city="Halifax")
    only = production(conn, "Peggy's Cove Gallery", "5 Peggys Point Rd", "Peggys Cove")
    stage(conn, 3, "Peggys Cove Gallery")  # a name and nothing else

    counts = match_unmatched(conn, JOB, MatchingSettings())

    got = matches(conn)
    assert got[1][:3] == (None, far, "suggested")
    assert got[2][:3] == (None, first, "suggested")
    assert got[3][:3] == (None, only, "suggested")
    assert got[3][3] < Decimal(str(MatchingSettings().auto_threshold))
    assert counts.as_dict() == {"considered": 3, "fuzzy": 0, "suggested": 3, "unmatched": 0}


def test_listing_already_claimed_is_only_suggested(conn: Connection) -> None:
    # The listing already has this DMO's listing_info: it belongs to another record of
    # the source (perhaps this one under an old source_id): a person decides.
    own = production(conn, "Harbourview Inn", "12 Water Street", "Halifax", dmo_id=DMO)
    stage(conn, 1, "The Harbourview Inn", loc_address1="12 Water St", loc_city="Halifax")
    # Another row of the job already links to this listing by the bridge table.
    linked = production(conn, "Citadel Hotel", "1960 Brunswick Street", "Halifax")
    stage(conn, 2, "Citadel Hotel", loc_address1="1960 Brunswick St", loc_city="Halifax",
          listing_internal_id=linked, match_method="bridge")  # fmt: skip
    stage(conn, 3, "The Citadel Hotel", loc_address1="1960 Brunswick St", loc_city="Halifax")
    # Two new rows of the job that both look like one listing.
    twin = production(conn, "Oceanstone Resort", "8650 Peggys Cove Rd", "Indian Harbour")
    for rec_num in (4, 5):
        stage(conn, rec_num, "Oceanstone Resort", loc_address1="8650 Peggys Cove Road",
              loc_city="Indian Harbour")  # fmt: skip
    # Deletions and duplicates are not matched.
    stage(conn, 6, "Harbourview Inn", loc_address1="12 Water St", loc_city="Halifax",
          listing_info_action="delete")  # fmt: skip

    match_unmatched(conn, JOB, MatchingSettings())

    got = matches(conn)
    assert got[1][:3] == (None, own, "suggested")
    assert got[2] == (linked, None, "bridge", None)
    assert got[3][:3] == (None, linked, "suggested")
    assert got[4][:3] == got[5][:3] == (None, twin, "suggested")
    assert got[6] == (None, None, None, None)


def test_rerun_is_stable_and_thresholds_come_from_config(conn: Connection) -> None:
    gallery = production(conn, "Peggy's Cove Gallery", "5 Peggys Point Rd", "Peggys Cove")
    stage(conn, 1, "Peggys Cove Gallery", loc_city="Peggys Cove")  # name and city, nothing else

    match_unmatched(conn, JOB, MatchingSettings())
    first = matches(conn)
    assert first[1][:3] == (None, gallery, "suggested")
    match_unmatched(conn, JOB, MatchingSettings())
    assert matches(conn) == first

    lenient = MatchingSettings(auto_threshold=float(first[1][3]) - 0.01, suggest_threshold=0.1)
    match_unmatched(conn, JOB, lenient)
    assert matches(conn)[1][:3] == (gallery, None, "fuzzy")
    assert match_unmatched(conn, JOB, MatchingSettings(enabled=False)).considered == 0


def test_candidates_are_found_through_indexes(conn: Connection) -> None:
    from listings_pipeline.transform.fuzzy import Q

    production(conn, "Harbour View Inn", "12 Water Street", "Halifax", "902-555-0101")
    stage(conn, 1, "Harbourview Inn", loc_address1="12 Water St", ci_local_phone="902 555 0101")
    conn.execute(text(Q["reset"]))
    conn.execute(text(Q["sources"]), {"job_id": JOB})
    conn.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: force the choice
    plan = "\n".join(
        row[0]
        for row in conn.execute(
            text("EXPLAIN " + Q["hits"]),  # the key search (the candidates are ranked apart)
            {"max_block": 50, "max_candidates": 20, "max_weak": 5},
        )
    )
    for index in (
        "idx_listing_match_profiles_keys",
        "idx_contact_info_intl_phone_key",
        "idx_contact_info_local_phone_key",
    ):
        assert index in plan


def test_blocking_keys_follow_listings_and_their_locations(conn: Connection) -> None:
    """The stored blocking keys (migration 086) follow inserts, renames and moves of production
    listings, however they are made (promotion, the console, a person in psql)."""
    inn = production(conn, "The Harbour View Inn", "12 Water St", "Halifax", lat=44.6488,
                     lng=-63.5752)  # fmt: skip
    blank = production(conn, "!!!", None, "Halifax")  # nothing to match on
    keys = (
        "SELECT listing_id, key FROM pipeline.listing_match_profiles, unnest(keys) AS key"
        " ORDER BY 1, 2"
    )
    assert conn.execute(text(keys)).all() == [
        (inn, "a:12:water"), (inn, "c:harbourviewinn"), (inn, "g:44648:-63576"),
        (inn, "n:harbour"), (inn, "n:inn"), (inn, "n:view"),
    ]  # fmt: skip

    conn.execute(
        text("UPDATE public.listings SET name = 'Lighthouse Lodge' WHERE id = :i"), {"i": inn}
    )
    conn.execute(text("UPDATE public.listings SET name = 'Quiet Cove' WHERE id = :i"), {"i": blank})
    conn.execute(
        text("UPDATE public.locations SET address1 = '7 Shore Road', zip = 'B3J 1A1'"
             " WHERE id = (SELECT location_id FROM public.listings WHERE id = :i)"), {"i": inn}
    )  # fmt: skip
    conn.execute(text("UPDATE public.listings SET listing_visible = listing_visible"))  # no change
    assert conn.execute(text(keys)).all() == [
        (inn, "a:7:shore"), (inn, "c:lighthouselodge"), (inn, "g:44648:-63576"),
        (inn, "n:lighthouse"), (inn, "n:lodge"), (inn, "z:b3j1a1"),
        (blank, "c:quietcove"), (blank, "n:cove"), (blank, "n:quiet"),
    ]  # fmt: skip

    stage(conn, 1, "Lighthouse Lodge", loc_address1="7 Shore Rd", loc_city="Halifax")
    match_unmatched(conn, JOB, MatchingSettings())
    assert matches(conn)[1][:3] == (inn, None, "fuzzy")
