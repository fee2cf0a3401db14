"""Candidate search at scale (issue 17, item 3): what the key search finds does not depend on
how it is run. A chain's name words, shared by more listings than `max_block_size`, find none of
its branches; each row's own listing is one candidate however many keys they share, its
strength the sum of those keys; and a row finds the same candidates matched alone as in a job
of several rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline.configs.model import MatchingSettings
from listings_pipeline.transform.fuzzy import match_unmatched
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import run_job, stage_job

GUIDE_1 = csv_config("guide1-csv", dmo_id=1)
GUIDE_2 = csv_config("guide2-csv", dmo_id=2)
LAT, LNG = 44.64850, -63.57550  # grid cells are 0.001 degree (~100 m)


def row(i: str, name: str, address: str, phone: str, lat: float) -> dict[str, str]:
    return place(0, ID=i, Name=name, Address1=address, City="Halifax", Phone=phone,
                 Lat=f"{lat:.6f}", Lng=f"{LNG:.6f}", Country="CA", Attributes="", Email="",
                 Image1="")  # fmt: skip


# 55 branches of a chain 1.1 km apart, each with its own address and phone: "tidewater" and
# "coffee" are the name words of 57 listings, more than max_block_size (50)
CHAIN = [
    row(f"b{k}", f"Tidewater Coffee {k}", f"{k} Barrington Street", f"902-555-02{k:02d}",
        LAT + 0.01 * (k + 1))
    for k in range(10, 65)
]  # fmt: skip
OWN = [
    row("own-1", "Tidewater Coffee Roasters", "5 Sackville St", "902 555 0199", LAT + 0.00003),
    row("own-2", "Tidewater Coffee Ferry Terminal", "1 Alderney Dr.", "902.555.0177", LAT - 0.005),
]
ROWS = [
    row("1", "Tidewater Coffee Roasters", "5 Sackville Street", "(902) 555-0199", LAT),
    row("2", "Tidewater Coffee Ferry Terminal", "1 Alderney Drive", "902-555-0177", LAT - 0.005),
]
# whole name 4 + phone 4 + house number and street 3 + each rarer name word 2 + its cell 1
EXPECTED = {
    "1": {"Tidewater Coffee Roasters": 4 + 4 + 3 + 2 + 1},
    "2": {"Tidewater Coffee Ferry Terminal": 4 + 4 + 3 + 2 + 2 + 1},
}


def candidates(engine: Engine, job: int) -> tuple[dict[str, dict[str, int]], int]:
    """Each row's candidates with their strength, and how many were linked."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE stage.listings_flat SET listing_internal_id = NULL,"
                          " match_candidate_id = NULL, match_method = NULL WHERE job_id = :j"),
                     {"j": job})  # fmt: skip
        counts = match_unmatched(conn, job, MatchingSettings())
        query = (
            "SELECT s.source_id, l.name, c.strength FROM match_cand AS c"
            " JOIN stage.listings_flat AS s ON s.id = c.stage_id"
            " JOIN public.listings AS l ON l.id = c.listing_id"
        )
        found: dict[str, dict[str, int]] = {}
        for source_id, name, strength in conn.execute(text(query)):
            found.setdefault(source_id, {})[name] = strength
    assert counts.pairs == sum(len(c) for c in found.values())
    return found, counts.fuzzy


def test_a_chains_name_words_find_no_branch_and_each_row_its_own_place(
    engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, GUIDE_1, tmp_path / "g1", [*CHAIN, *OWN])
    together = stage_job(engine, GUIDE_2, tmp_path / "g2", ROWS)
    found, linked = candidates(engine, together)
    assert found == EXPECTED
    assert linked == 2
    # each row alone: the same candidates, the same strengths
    for r in ROWS:
        alone = stage_job(engine, GUIDE_2, tmp_path / f"alone-{r['ID']}", [r])
        assert candidates(engine, alone) == ({r["ID"]: EXPECTED[r["ID"]]}, 1)
