"""Matching across sources (issue 17) through the real import/transform path: what two real
guides of one city write differently links, two businesses at one address and phone stay apart,
shared placeholder keys make no giant block, and reviewers' decisions change later ones."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine, text

from listings_pipeline.cli import main as cli_main
from listings_pipeline.configs.model import MatchingSettings
from listings_pipeline.review import decide
from listings_pipeline.transform.fuzzy import match_unmatched
from listings_pipeline.transform.match_model import estimate
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import run_job, stage_job
from listings_pipeline_tests.test_console import app, db, login, make_user  # noqa: F401

GUIDE_1 = csv_config("guide1-csv", dmo_id=1)
GUIDE_2 = csv_config("guide2-csv", dmo_id=2)


def row(i: str, name: str, address: str = "", city: str = "", phone: str = "",
        lat: str = "", lng: str = "") -> dict[str, str]:  # fmt: skip
    return place(0, ID=i, Name=name, Address1=address, City=city, Phone=phone, Lat=lat, Lng=lng,
                 Country="US", Attributes="", Email="", Image1="")  # fmt: skip


def outcome(engine: Engine, job_id: int) -> dict[str, tuple[Any, ...]]:
    """source_id -> (linked listing's name, suggested listing's name, match_method)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.source_id, l.name, c.name, s.match_method FROM stage.listings_flat s"
                " LEFT JOIN public.listings l ON l.id = s.listing_internal_id"
                " LEFT JOIN public.listings c ON c.id = s.match_candidate_id"
                " WHERE s.job_id = :j"
            ),
            {"j": job_id},
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_what_two_guides_write_differently_links(engine: Engine, tmp_path: Path) -> None:
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("a", "The Apple Pan", "10801 W. Pico Blvd.", "West LA", "310-475-3585"),
        row("b", "Morton's", "435 S. La Cienega Blv.", "Los Angeles", "310/246-1501"),
        row("c", "Art's Deli", "12224 Ventura Blvd.", "Studio City", "818-762-1221"),
        row("d", "Campanile", "624 S. La Brea Ave.", "Los Angeles", "213-938-1447"),
        row("e", "Chinois on Main", "2709 Main St.", "Santa Monica", "310-392-9025"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Apple Pan, The", "10801 West Pico Boulevard", "Los Angeles", "+1 310 475 3585"),
        row("2", "Mortons", "435 South La Cienega Boulevard", "Los Angeles", "310 246 1501"),
        row("3", "Arts Deli", "12224 Ventura Boulevard", "Los Angeles", "(818) 762-1221"),
        row("4", "Campanile", "624 South La Brea Av.", "Los Angeles", "213.938.1447"),
        row("5", "Chinois On Main", "2709 Main Street", "Santa Monica", "3103929025"),
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got == {
        "1": ("The Apple Pan", None, "fuzzy"),
        "2": ("Morton's", None, "fuzzy"),
        "3": ("Art's Deli", None, "fuzzy"),
        "4": ("Campanile", None, "fuzzy"),
        "5": ("Chinois on Main", None, "fuzzy"),
    }


def test_a_hotels_restaurant_and_its_cafe_stay_apart(engine: Engine, tmp_path: Path) -> None:
    """Same hotel, same address, same phone, same coordinates: two businesses."""
    hotel = {"address": "9882 S. Santa Monica Blvd.", "city": "Beverly Hills",
             "phone": "310-551-2888", "lat": "34.06750", "lng": "-118.41080"}  # fmt: skip
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("r", "Belvedere Restaurant (Peninsula Hotel)", **hotel),
        row("x", "Spago", "176 N. Canon Dr.", "Beverly Hills", "310-385-0880"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Peninsula Hotel Cafe", "9882 South Santa Monica Boulevard", "Beverly Hills",
            "(310) 551-2888", "34.06751", "-118.41079"),
        row("2", "Spago Beverly Hills", "176 North Canon Drive", "Beverly Hills", "310/385-0880"),
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"][0] is None  # never linked automatically
    assert got["1"][2] in ("suggested", "none", None)  # at most a question for a person
    assert got["2"] == ("Spago", None, "fuzzy")  # the matcher does link in the same job


def test_a_chains_branch_links_to_the_branch_at_its_address(engine: Engine, tmp_path: Path) -> None:
    """Four branches of one chain across town: the record links to the branch at its address
    and phone, though each of the others agrees on the name."""
    branches = [("1 Water St", "902-555-0111", "44.64800", "-63.57500"),
                ("50 Spring Garden Rd", "902-555-0122", "44.64200", "-63.57900"),
                ("700 Quinpool Rd", "902-555-0133", "44.64600", "-63.59800"),
                ("9 Portland St", "902-555-0144", "44.66500", "-63.56800")]  # fmt: skip
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row(f"b{i}", "Harbour Coffee", a, "Halifax", p, lat, lng)
        for i, (a, p, lat, lng) in enumerate(branches)
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Harbour Coffee", "50 Spring Garden Road", "Halifax", "(902) 555-0122",
            "44.64203", "-63.57902"),
    ])  # fmt: skip
    with engine.connect() as conn:
        got = dict(conn.execute(text(
            "SELECT s.source_id, lo.address1 FROM stage.listings_flat s"
            " JOIN public.listings l ON l.id = s.listing_internal_id"
            " JOIN public.locations lo ON lo.id = l.location_id WHERE s.job_id = :j"),
            {"j": job}).all())  # fmt: skip
    assert got == {"1": "50 Spring Garden Rd"}


def test_a_name_alone_never_says_where_the_place_is(engine: Engine, tmp_path: Path) -> None:
    """The same name 600 m away, nothing else in common: not linked automatically whatever
    the threshold (Geo-ER's chains and malls: as often another branch as the same place)."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("b", "Harbour Coffee", "9 Portland St", "Dartmouth", "902-555-0144", "44.66500",
            "-63.56800"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Harbour Coffee", lat="44.67040", lng="-63.56800"),
    ])  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text("UPDATE stage.listings_flat SET listing_internal_id = NULL,"
                          " match_candidate_id = NULL, match_method = NULL WHERE job_id = :j"),
                     {"j": job})  # fmt: skip
        match_unmatched(conn, job, MatchingSettings(auto_threshold=0.2, suggest_threshold=0.1))
    assert outcome(engine, job)["1"] == (None, "Harbour Coffee", "suggested")


def test_a_business_at_a_place_is_not_the_place(engine: Engine, tmp_path: Path) -> None:
    """ "The Grill at the Harbour Hotel": same address, phone and point as the hotel, and all
    of the hotel's name, but another business."""
    hotel = {"address": "1919 Upper Water St", "city": "Halifax", "phone": "902-421-1700",
             "lat": "44.65020", "lng": "-63.57320"}  # fmt: skip
    run_job(engine, GUIDE_1, tmp_path / "g1", [row("h", "Harbour Hotel", **hotel)])
    job = stage_job(engine, GUIDE_2, tmp_path / "g2",
                    [row("1", "The Grill at the Harbour Hotel", **hotel)])  # fmt: skip
    linked, _suggested, method = outcome(engine, job)["1"]
    assert linked is None and method in ("suggested", "none", None)


def test_closer_never_counts_against_the_same_place() -> None:
    """EM over a city of chains: for each record one branch nearby and twenty far away with
    the same name. Estimated freely, the twenty taught it that 2 km away is as telling as
    50 m; every comparison's weights are kept ordered, and a record has one match at most."""
    same_name_far = (4, 0, 2, 1, -1, 0, -1, -1)
    same_name_near = (4, 3, 2, 2, -1, 4, -1, -1)
    neighbour = (0, 0, 2, 2, -1, 3, -1, -1)
    model = estimate([(same_name_far, 2000, 100), (same_name_near, 100, 100),
                      (neighbour, 300, 100)], rows=100)  # fmt: skip
    for name, weights in model.level_weights().items():
        assert weights == sorted(weights), name
    assert model.probability(same_name_near) > 0.99 > model.probability(same_name_far)


def test_a_key_many_listings_share_makes_no_block(engine: Engine, tmp_path: Path) -> None:
    """60 listings share one switchboard phone and one street; a row with that phone must not
    be compared with all of them, and still finds its own listing by name."""
    shared = [
        row(f"s{i}", f"Suite {i} Holdings", "1 Commerce Plaza", "Halifax", "902-555-0100")
        for i in range(60)
    ]
    run_job(engine, GUIDE_1, tmp_path / "g1",
            [*shared, row("own", "Quillfeather Bindery", city="Halifax")])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Quillfeather Bindery", "1 Commerce Plaza", "Halifax", "902 555 0100"),
    ], )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text("UPDATE stage.listings_flat SET listing_internal_id = NULL,"
                          " match_method = NULL WHERE job_id = :j"), {"j": job})  # fmt: skip
        wide = match_unmatched(conn, job, MatchingSettings(max_block_size=100))
        assert wide.pairs >= 20  # with the limit lifted: compared with the whole block of 60
        conn.execute(text("UPDATE stage.listings_flat SET listing_internal_id = NULL,"
                          " match_candidate_id = NULL, match_method = NULL WHERE job_id = :j"),
                     {"j": job})  # fmt: skip
        narrow = match_unmatched(conn, job, MatchingSettings(max_block_size=50))
        assert narrow.pairs <= 3  # the name's own keys; the phone and street were ignored
    linked, suggested, _ = outcome(engine, job)["1"]
    assert "Quillfeather Bindery" in (linked, suggested)


def _thin_rows(prefix: str, names: list[str], the: str = "") -> list[dict[str, str]]:
    """Records that say only a name and a city: never enough for an automatic link alone."""
    return [row(f"{prefix}{i}", the + name, city="Lunenburg") for i, name in enumerate(names)]


NAMES = [f"{w} Gallery" for w in ("Amberline", "Birchwood", "Coldwater", "Driftstone",
         "Eelgrass", "Foxglove", "Gannet", "Hollyhock", "Ironbark", "Juniper", "Kestrel",
         "Larkspur", "Marram", "Nettlebed", "Osprey", "Periwinkle")]  # fmt: skip


def test_reviewers_decisions_change_later_decisions(engine: Engine, tmp_path: Path) -> None:
    run_job(engine, GUIDE_1, tmp_path / "g1", _thin_rows("c", NAMES))
    first = stage_job(engine, GUIDE_2, tmp_path / "g2", _thin_rows("a", NAMES[:12], "The "))
    assert {v[2] for v in outcome(engine, first).values()} == {"suggested"}

    # A reviewer confirms the twelve suggestions: these two sources write the same places so.
    with engine.connect() as conn:
        ids = list(conn.execute(text("SELECT id FROM stage.listings_flat WHERE job_id = :j"),
                                {"j": first}).scalars())  # fmt: skip
    decide(engine, first, "approve", row_ids=ids, override="accept_match", reviewer="rita")
    with engine.connect() as conn:
        labels = conn.execute(text("SELECT count(*), bool_and(is_match), min(decided_by)"
                                   " FROM pipeline.match_labels")).one()  # fmt: skip
    assert tuple(labels) == (12, True, "rita")

    later = stage_job(engine, GUIDE_2, tmp_path / "g2", _thin_rows("b", NAMES[12:14], "The "))
    assert {v[2] for v in outcome(engine, later).values()} == {"fuzzy"}  # now linked

    # The other way: rejected suggestions make the same kind of pair not worth asking about.
    with engine.begin() as conn:
        conn.execute(text("UPDATE pipeline.match_labels SET is_match = false"))
    again = stage_job(engine, GUIDE_2, tmp_path / "g2", _thin_rows("d", NAMES[14:], "The "))
    assert {v[2] for v in outcome(engine, again).values()} <= {None, "none"}
    with engine.connect() as conn:
        model = conn.execute(text("SELECT labels, params ->> 'offset' FROM pipeline.match_models"
                                  " WHERE dmo_id = 2 AND other_dmo_id = 1")).one()  # fmt: skip
    assert model[0] == 12 and float(model[1]) < 0


def test_review_shows_a_suggestion_side_by_side_with_its_signals(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    tmp_path: Path,
) -> None:
    run_job(db, GUIDE_1, tmp_path / "g1", [
        row("c", "Marram Gallery", "12 King St", "Lunenburg", lat="44.37700", lng="-64.31000"),
    ])  # fmt: skip
    job = stage_job(db, GUIDE_2, tmp_path / "g2", [
        row("1", "The Marram Gallery", city="Lunenburg", phone="902-634-0000"),
    ])  # fmt: skip
    assert outcome(db, job)["1"] == (None, "Marram Gallery", "suggested")

    cli = CliRunner().invoke(cli_main, ["review", "list", str(job)])
    assert cli.exit_code == 0, cli.output
    out = cli.output
    assert "this row:  The Marram Gallery | - | Lunenburg | (902) 634-0000" in out
    assert "suggested: listing #" in out and "Marram Gallery | 12 King St | Lunenburg" in out
    assert re.search(r"name\s+same · similarity 1\.00", out)
    assert re.search(r"city\s+same", out)
    assert re.search(r"address\s+not compared", out)
    assert re.search(r"score\s+match probability 0\.\d{4}", out)
    listed = CliRunner().invoke(cli_main, ["review", "list", str(job), "--json"])
    suggestion = json.loads(listed.output)["rows"][0]
    assert suggestion["candidate_name"] == "Marram Gallery"
    assert suggestion["match_signals"]["levels"]["name"] == 4

    make_user(db, "una", "pipeline_reviewer")
    html = login(app, "una").get(f"/pipeline/jobs/{job}/review", params={"tab": "matches"}).text
    page = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Why the matcher suggests this listing" in page
    assert "name same · similarity 1.00" in page
    assert "phone not compared (a side has no value)" in page
    assert re.search(r"score match probability 0\.\d{4}", page)
    assert "name Marram Gallery The Marram Gallery" in page  # both records side by side
