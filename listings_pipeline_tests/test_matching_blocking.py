"""Candidate search by blocking keys (issue 17, item 3): which listings a row is compared with.
A row keeps the listings it shares a telling key with, and of its neighbours that share only a
grid cell the nearest `max_weak_candidates` — also when the nearest listings of its cells are
the ones it already shares a name word with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline.configs.model import MatchingSettings
from listings_pipeline.transform.fuzzy import match_unmatched
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import run_job, stage_job

GUIDE_1 = csv_config("guide1-csv", dmo_id=1)
GUIDE_2 = csv_config("guide2-csv", dmo_id=2)
LAT, LNG = 44.64850, -63.57550  # the source row; grid cells are 0.001 degree


def row(i: str, name: str, north_m: float, east_m: float) -> dict[str, str]:
    lat = LAT + north_m / 111_000
    lng = LNG + east_m / 79_000  # metres per degree of longitude at 44.6 degrees
    return place(0, ID=i, Name=name, Address1="", City="Halifax", Phone="", Lat=f"{lat:.6f}",
                 Lng=f"{lng:.6f}", Country="CA", Attributes="", Email="", Image1="")  # fmt: skip


NEIGHBOURS = ["Amberline Studio", "Birchwood Forge", "Coldwater Kiln", "Driftstone Loom",
              "Eelgrass Press", "Foxglove Atelier", "Gannet Pottery", "Hollyhock Mill"]  # fmt: skip


def test_a_row_keeps_its_name_matches_and_only_its_nearest_neighbours(
    engine: Engine, tmp_path: Path
) -> None:
    catalogue = [
        # sharing a name word and nearest of all: in the row's cells as well
        row("near-1", "Quillfeather Books", 5, 5),
        row("near-2", "Quillfeather Tea Room", -8, 6),
        # sharing a name word, 3 km away: outside the row's 3x3 cells
        row("far", "Quillfeather Gallery", 3000, 0),
        # sharing nothing but a cell, at 20, 30, ... 90 m
        *(row(f"n{k}", name, 0, 20 + 10 * k) for k, name in enumerate(NEIGHBOURS)),
    ]
    run_job(engine, GUIDE_1, tmp_path / "g1", catalogue)
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [row("1", "Quillfeather Bindery", 0, 0)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE stage.listings_flat SET listing_internal_id = NULL,"
                          " match_candidate_id = NULL, match_method = NULL WHERE job_id = :j"),
                     {"j": job})  # fmt: skip
        counts = match_unmatched(conn, job, MatchingSettings(max_weak_candidates=5))
        query = "SELECT name, strength FROM match_cand JOIN public.listings ON id = listing_id"
        candidates = dict(conn.execute(text(query)).all())
    expected = {
        "Quillfeather Books": 3,  # a name word (2) and a cell (1)
        "Quillfeather Tea Room": 3,
        "Quillfeather Gallery": 2,  # the name word only
    }
    # and the five nearest that share only a cell, not the three beyond them
    assert candidates == expected | {name: 1 for name in NEIGHBOURS[:5]}
    assert counts.pairs == 8
