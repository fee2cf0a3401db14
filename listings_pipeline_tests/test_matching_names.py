"""Matching rules of issue 17 that read names and places as a data steward would: words that
only say what kind of business it is, a chain's branch across town, a postcode that branches
share. Through the real import/transform path, against the catalogue of another DMO."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline_tests.helpers import csv_config
from listings_pipeline_tests.review_helpers import run_job, stage_job
from listings_pipeline_tests.test_matching import GUIDE_1, GUIDE_2, outcome, row


def test_names_differing_only_in_words_of_one_kind_of_business_link(
    engine: Engine, tmp_path: Path
) -> None:
    """`Dong Hai Grill` / `Dong Hai Restaurant` (grill and restaurant: both dining) at one
    address and phone is one restaurant; so is a cuisine or a catering arm named on one side."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("a", "Dong Hai Restaurant", "108 West 39th St.", "New York", "(212) 221-7237"),
        row("b", "Gracie Mews Restaurant", "1550 1st Ave.", "New York", "(212) 861-2290"),
        row("c", "Foo Sing Kitchen", "2200 Amsterdam Ave.", "New York", "(212) 568-0689"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Dong Hai Grill", "108 W. 39th St.", "New York", "212-221-7237"),
        row("2", "Gracie Mews Diner", "1550 First Avenue", "New York", "212 861 2290"),
        row("3", "Foo Sing Chinese Restaurant", "2200 Amsterdam Ave", "New York",
            "212-568-0689"),
    ])  # fmt: skip

    assert outcome(engine, job) == {
        "1": ("Dong Hai Restaurant", None, "fuzzy"),
        "2": ("Gracie Mews Restaurant", None, "fuzzy"),
        "3": ("Foo Sing Kitchen", None, "fuzzy"),
    }


def test_a_hotels_restaurant_and_cafe_named_after_it_stay_apart(
    engine: Engine, tmp_path: Path
) -> None:
    """Both named after the hotel, same address, phone and coordinates: the only thing that
    tells them apart is that each names a kind of business the other does not (restaurant /
    café). Never linked; a question for a person at most. Grill / restaurant of one place in the
    same job does link."""
    hotel = {"address": "1 Harbour Rd.", "city": "Halifax", "phone": "902-555-0190",
             "lat": "44.64800", "lng": "-63.57500"}  # fmt: skip
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("r", "Salty Heron Inn Restaurant", **hotel),
        row("x", "Blue Anchor Grill", "7 Spring Garden Rd.", "Halifax", "902-555-0177"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Salty Heron Inn Café", "1 Harbour Road", "Halifax", "(902) 555-0190",
            "44.64801", "-63.57499"),
        row("2", "Blue Anchor Restaurant", "7 Spring Garden Road", "Halifax", "902 555 0177"),
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"][0] is None  # the café is not the restaurant
    assert got["1"][2] in ("suggested", "none")
    assert got["2"] == ("Blue Anchor Grill", None, "fuzzy")


def test_a_branch_across_town_does_not_make_the_one_here_doubtful(
    engine: Engine, tmp_path: Path
) -> None:
    """A chain listed twice in the catalogue, 3 km apart, without addresses or phones: the
    record 20 m from one branch links to it; the other branch, however much its name agrees,
    cannot be the same place, so it is no rival (min_margin 0.9: any rival that could be the
    place would leave the link to a person)."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("near", "Harbour Coffee", lat="44.64800", lng="-63.57500"),
        row("far", "Harbour Coffee", lat="44.67500", lng="-63.57500"),
    ])  # fmt: skip
    job = stage_job(engine, _configured(GUIDE_2, min_margin=0.9), tmp_path / "g2", [
        row("1", "Harbour Coffee", "1 Water St.", "Halifax", lat="44.64815", lng="-63.57505"),
    ])  # fmt: skip
    with engine.connect() as conn:
        linked = conn.execute(
            text("SELECT lo.lat FROM stage.listings_flat s"
                 " JOIN public.listings l ON l.id = s.listing_internal_id"
                 " JOIN public.locations lo ON lo.id = l.location_id WHERE s.job_id = :j"),
            {"j": job},
        ).scalars().all()  # fmt: skip
    assert [float(x) for x in linked] == [44.648]


def _configured(config: SourceConfig, zip_field: bool = False, **matching: float) -> SourceConfig:
    """`config` with a postcode column mapped and/or other matching settings."""
    data = config.model_dump(by_alias=True)
    if zip_field:
        data["transform"]["map_fields"]["locations.zip"] = "Zip"
    data["transform"]["matching"].update(matching)
    return SourceConfig.model_validate(data)


def test_a_postcode_does_not_place_a_branch_at_another_address(
    engine: Engine, tmp_path: Path
) -> None:
    """Two branches of a bank share a postcode: a record at another address of it is not the
    branch, however sure the model is (auto_threshold 0.5 here), the name agreeing and no
    phone or coordinates to tell."""
    g1 = _configured(csv_config("bank1-csv", dmo_id=1), zip_field=True)
    g2 = _configured(
        csv_config("bank2-csv", dmo_id=2), zip_field=True, auto_threshold=0.5, suggest_threshold=0.1
    )
    run_job(engine, g1, tmp_path / "g1", [
        row("a", "Dollar Bank", "340 Fourth Ave.", "Pittsburgh") | {"Zip": "15222"},
        row("b", "Steel City Books", "12 Smithfield St.", "Pittsburgh") | {"Zip": "15222"},
    ])  # fmt: skip
    job = stage_job(engine, g2, tmp_path / "g2", [
        row("1", "Dollar Bank", "537 Smithfield St.", "Pittsburgh") | {"Zip": "15222"},
        row("2", "Steel City Books", "12 Smithfield Street", "Pittsburgh") | {"Zip": "15222"},
    ])  # fmt: skip

    got = outcome(engine, job)
    assert got["1"][0] is None
    assert got["2"] == ("Steel City Books", None, "fuzzy")


def test_a_branch_of_an_institution_is_not_the_institution(engine: Engine, tmp_path: Path) -> None:
    """One name within the other, same address and coordinates: but one is a branch of the
    other (a library's downtown branch). A question for a person, not a link."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("lib", "Downtown Branch Carnegie Library of Pittsburgh", "612 Smithfield St.",
            "Pittsburgh", lat="40.44200", lng="-79.99800"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Carnegie Library of Pittsburgh", "612 Smithfield Street", "Pittsburgh",
            lat="40.44201", lng="-79.99801"),
    ])  # fmt: skip

    linked, _suggested, method = outcome(engine, job)["1"]
    assert linked is None
    assert method in ("suggested", "none")


def test_the_office_block_next_door_is_no_rival(engine: Engine, tmp_path: Path) -> None:
    """Same address and coordinates as the place, another name: it could never be linked, so
    it leaves no doubt about the place of the same name (min_margin 0.9 and min_margin_bits
    30: any rival that could be linked would leave it to a person)."""
    block = {"address": "500 Grant St.", "city": "Pittsburgh", "lat": "40.43900",
             "lng": "-79.99600"}  # fmt: skip
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("a", "The Carlton", **block),
        row("b", "BNY Mellon Center", **block),
    ])  # fmt: skip
    job = stage_job(engine, _configured(GUIDE_2, min_margin=0.9, min_margin_bits=30),
                    tmp_path / "g2", [
        row("1", "Carlton, The", "500 Grant Street", "Pittsburgh", lat="40.43901",
            lng="-79.99601"),
    ])  # fmt: skip

    assert outcome(engine, job)["1"] == ("The Carlton", None, "fuzzy")


def test_the_best_candidate_is_one_that_could_be_the_place(engine: Engine, tmp_path: Path) -> None:
    """A chain's branch 8 km away shares the record's name and (a central booking line) its
    phone; the branch 80 m away shares its name. However much the model likes the far one, a
    person is asked about the near one."""
    run_job(engine, GUIDE_1, tmp_path / "g1", [
        row("far", "Giant Eagle", "", "Pittsburgh", "412-555-0100", "40.50000", "-80.00000"),
        row("near", "Giant Eagle", lat="40.42800", lng="-80.00000"),
    ])  # fmt: skip
    job = stage_job(engine, GUIDE_2, tmp_path / "g2", [
        row("1", "Giant Eagle", "1717 Cochran Rd.", "Pittsburgh", "(412) 555-0100",
            "40.42872", "-80.00000"),
    ])  # fmt: skip
    with engine.connect() as conn:
        lat = conn.execute(
            text("SELECT lo.lat FROM stage.listings_flat s"
                 " JOIN public.listings l"
                 "   ON l.id = coalesce(s.listing_internal_id, s.match_candidate_id)"
                 " JOIN public.locations lo ON lo.id = l.location_id WHERE s.job_id = :j"),
            {"j": job},
        ).scalar_one()  # fmt: skip
    assert float(lat) == 40.428
