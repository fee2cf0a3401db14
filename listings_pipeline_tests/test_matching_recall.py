"""Matching rules of issue 17 found on real data (Geo-ER OSM–Yelp, Foursquare–Locu): links a data
steward expects that the matcher left to people, and the links it made that a steward would not.
Through the real import/transform path, against the catalogue of another DMO."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from listings_pipeline_tests.helpers import csv_config
from listings_pipeline_tests.review_helpers import run_job, stage_job
from listings_pipeline_tests.test_matching import GUIDE_1, GUIDE_2, outcome, row
from listings_pipeline_tests.test_matching_names import _configured


def test_a_branch_known_only_by_its_name_is_no_rival(engine: Engine, tmp_path: Path) -> None:
    """The record agrees with one branch on name, address and point; the chain's other branch,
    900 m away, has the name and nothing else. That one says nothing about where it is, so it
    leaves no doubt (min_margin 0.9 and min_margin_bits 30: any placed rival would)."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("here", "Giant Eagle", "1901 Murray Ave.", "Pittsburgh", lat="40.43000",
            lng="-79.92300"),
        row("there", "Giant Eagle", lat="40.43810", lng="-79.92300"),
    ])  # fmt: skip
    job = stage_job(engine, _configured(GUIDE_2, min_margin=0.9, min_margin_bits=30),
                    tmp_path / "g2", [
        row("1", "Giant Eagle", "1901 Murray Avenue", "Pittsburgh", lat="40.43010",
            lng="-79.92300"),
    ])  # fmt: skip

    assert outcome(engine, job)["1"] == ("Giant Eagle", None, "fuzzy")
    with engine.connect() as conn:
        linked_here = conn.exec_driver_sql(
            "SELECT lo.address1 FROM stage.listings_flat s JOIN public.listings l"
            " ON l.id = s.listing_internal_id JOIN public.locations lo ON lo.id = l.location_id"
            f" WHERE s.job_id = {job}"
        ).scalar_one()
    assert linked_here == "1901 Murray Ave."


def test_the_same_name_a_few_hundred_metres_off_without_an_address_links(
    engine: Engine, tmp_path: Path
) -> None:
    """A park or a campus: one source's point is the entrance, the other's the centroid, 300 m
    apart, and one has no address. The same name there is the place (thresholds lowered: a
    two-record job keeps the prior model). The same name 300 m away at another address is not:
    a question for a person."""
    g2 = _configured(GUIDE_2, auto_threshold=0.5, suggest_threshold=0.1)
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("park", "Mellon Park", lat="40.45000", lng="-79.91800"),
        row("shop", "Steel City Books", "12 Smithfield St.", "Pittsburgh", lat="40.44000",
            lng="-79.99700"),
    ])  # fmt: skip
    job = stage_job(engine, g2, tmp_path / "g2", [
        row("1", "Mellon Park", "6300 Fifth Ave.", "Pittsburgh", lat="40.45270",
            lng="-79.91800"),
        row("2", "Steel City Books", "540 Smithfield St.", "Pittsburgh", lat="40.44270",
            lng="-79.99700"),
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"] == ("Mellon Park", None, "fuzzy")
    assert got["2"] == (None, "Steel City Books", "suggested")


def test_points_far_apart_need_the_phone_to_confirm_an_address(
    engine: Engine, tmp_path: Path
) -> None:
    """Same name, address and postcode, but the points are 820 m apart: one of them is wrong, and
    which place it is stays a question for a person, unless the phone agrees too."""
    g1 = _configured(csv_config("far1-csv", dmo_id=1), zip_field=True)
    g2 = _configured(csv_config("far2-csv", dmo_id=2), zip_field=True)
    run_job(engine, g1, tmp_path / "g1", [
        row("pg", "Pittsburgh Post-Gazette", "34 Boulevard of the Allies", "Pittsburgh",
            lat="40.43800", lng="-80.00000") | {"Zip": "15222"},
        row("sc", "Steel City Books", "12 Smithfield St.", "Pittsburgh", "412-555-0101",
            lat="40.44000", lng="-79.99700") | {"Zip": "15222"},
    ])  # fmt: skip
    job = stage_job(engine, g2, tmp_path / "g2", [
        row("1", "Pittsburgh Post-Gazette", "34 Blvd of the Allies", "Pittsburgh",
            lat="40.44540", lng="-80.00000") | {"Zip": "15222"},
        row("2", "Steel City Books", "12 Smithfield Street", "Pittsburgh", "(412) 555-0101",
            lat="40.44740", lng="-79.99700") | {"Zip": "15222"},
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"] == (None, "Pittsburgh Post-Gazette", "suggested")
    assert got["2"] == ("Steel City Books", None, "fuzzy")


def test_names_sharing_their_telling_word_at_one_address_and_phone_link(
    engine: Engine, tmp_path: Path
) -> None:
    """Same address, phone and point, names that share the word saying which business it is:
    one business (Foursquare–Locu's `Dodo Bird` / `Dodo Cafe`, `Brother Jimmy's BBQ` / `Brother
    Jimmy's - Murray Hill`). Not when each names a kind of business the other does not (a hotel
    and its spa) nor when all they share is a kind of business (two pizzerias that followed
    each other at one address), nor two outlets of one hotel or cottages, whose names both
    name it."""
    places = {
        "dodo": ("45 Peck Slip", "212-555-0141", "40.70750", "-74.00250"),
        "jimmy": ("181 Lexington Ave.", "212-555-0142", "40.74400", "-73.98100"),
        "hotel": ("80 Main Street", "212-555-0143", "40.75000", "-73.99000"),
        "pizza": ("493 2nd Ave.", "212-555-0144", "40.74000", "-73.97900"),
        "inn": ("85 E. Pine Hill Rd.", "212-555-0145", "40.76000", "-73.97000"),
        "cottages": ("5068 Great George St.", "212-555-0146", "40.77000", "-73.96000"),
        "guest": ("2148 Acadia Way", "212-555-0147", "40.78000", "-73.95000"),
        "bnb": ("77 Kings Wharf Place", "212-555-0148", "40.79000", "-73.94000"),
    }
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("a", "Dodo Cafe", places["dodo"][0], "New York", *places["dodo"][1:]),
        row("b", "Brother Jimmy's - Murray Hill", places["jimmy"][0], "New York",
            *places["jimmy"][1:]),
        row("c", "Seaside Suites", places["hotel"][0], "New York", *places["hotel"][1:]),
        row("d", "Tony's Pizza", places["pizza"][0], "New York", *places["pizza"][1:]),
        row("e", "MacDonald House Inn Café", places["inn"][0], "New York", *places["inn"][1:]),
        row("f", "Lucky Bayberry Cottages Café", places["cottages"][0], "New York",
            *places["cottages"][1:]),
        row("g", "The Dory and Alder Guest House Café", places["guest"][0], "New York",
            *places["guest"][1:]),
        row("h", "MacLeod's Chester Bed & Breakfast Café", places["bnb"][0], "New York",
            *places["bnb"][1:]),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Dodo Bird", "45 Peck Slip", "New York", "(212) 555-0141", "40.70751",
            "-74.00251"),
        row("2", "Brother Jimmy's BBQ", "181 Lexington Avenue", "New York", "212 555 0142",
            "40.74401", "-73.98101"),
        row("3", "Seaside Spa", "80 Main St", "New York", "212.555.0143", "40.75001",
            "-73.99001"),
        row("4", "Joey's Pizza", "493 Second Avenue", "New York", "212-555-0144", "40.74001",
            "-73.97901"),
        row("5", "MacDonald House Inn Diinng Room", "85 East Pine Hill Road", "New York",
            "212 555 0145", "40.76001", "-73.97001"),
        row("6", "Lucky Bayberry Cottages Dniing Room", "5068 Great George Street", "New York",
            "212 555 0146", "40.77001", "-73.96001"),
        row("7", "The Dory & Alder Guest House Dniing Room", "2148 Acadia Way", "New York",
            "212 555 0147", "40.78001", "-73.95001"),
        row("8", "MacLeod's Chester Bed and Breakfast Dinnig Room", "77 Kings Wharf Pl",
            "New York", "212 555 0148", "40.79001", "-73.94001"),
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"] == ("Dodo Cafe", None, "fuzzy")
    assert got["2"] == ("Brother Jimmy's - Murray Hill", None, "fuzzy")
    assert got["3"][0] is None  # a hotel's spa is not the hotel
    assert got["4"][0] is None  # two pizzerias
    assert got["5"][0] is None  # a hotel's dining room (typo'd) is not its café
    assert got["6"][0] is None  # nor are the dining room and café of cottages (lodging)
    assert got["7"][0] is None  # nor those of a guest house (two words: 103)
    assert got["8"][0] is None  # nor of a bed & breakfast (104)


def test_names_written_with_street_abbreviations_link(engine: Engine, tmp_path: Path) -> None:
    """Names carry the abbreviations addresses do (`St` / `Saint`, `Mt.` / `Mount`, `Ave.` /
    `Avenue`): at one address and point they are the same place; a name that differs by a
    word is still only suggested."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("a", "Saint Clair Hospital", "1000 Bower Hill Road", "Pittsburgh", lat="40.37800",
            lng="-80.06000"),
        row("b", "Murray Ave. Grill", "1720 Murray Ave", "Pittsburgh", lat="40.43300",
            lng="-79.92300"),
        row("c", "Mount Ararat Baptist Church", "271 Paulson Ave", "Pittsburgh", lat="40.46800",
            lng="-79.91000"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "St Clair Hospital", "1000 Bower Hill Rd", "Pittsburgh", lat="40.37801",
            lng="-80.06001"),
        row("2", "Murray Avenue Grill", "1720 Murray Avenue", "Pittsburgh", lat="40.43301",
            lng="-79.92301"),
        row("3", "Mt. Zion Baptist Church", "271 Paulson Avenue", "Pittsburgh",
            lat="40.46801", lng="-79.91001"),
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"] == ("Saint Clair Hospital", None, "fuzzy")
    assert got["2"] == ("Murray Ave. Grill", None, "fuzzy")
    assert got["3"][0] is None  # another church's name at the address: a question at most
