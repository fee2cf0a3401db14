"""The transform made cheaper (issue 19): each shortcut must give exactly what the general path
gives — North American phone numbers read without phonenumbers.parse, and the description's
hash computed in Python instead of by its SQL function."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.generate.vocabulary import PHONE_FORMATS, SLASH_PHONE_FORMAT
from listings_pipeline.transform.hashes import description_hash
from listings_pipeline.transform.normalize import Phone, parse_phone, read_phone
from listings_pipeline_tests.helpers import csv_config, place, write_csv

# Every form the generator writes, and the variants of them real feeds send.
FORMS = (
    *PHONE_FORMATS,
    SLASH_PHONE_FORMAT,
    "({a}){e}-{l}", "({a}) {e} {l}", "{a} {e}-{l}", "{a} {e} {l}", "+1({a}) {e}-{l}",
    "+1.{a}.{e}.{l}", "+1-{a}-{e}-{l}", "+1{a}{e}{l}", "1 {a} {e} {l}", "1({a}) {e}-{l}",
    "1{a}{e}{l}", "1.{a}.{e}.{l}", "+1 ({a}) {e}-{l}", "{a}-{e}{l}", "({a} {e}-{l}",
    "{a}) {e}-{l}", "+1  {a} {e} {l}", "{a}.{e}-{l} x12", "{a}{e}{l}0", "{e}-{l}",
)  # fmt: skip
# Area codes in use in Canada and the US, toll-free, fictional, other NANP countries (Jamaica,
# Bahamas, Guam), and codes no plan uses.
AREAS = ("902", "782", "506", "709", "416", "212", "800", "555", "876", "242", "671", "999",
         "200", "311", "100", "011")  # fmt: skip
REGIONS = ("CA", "US", None, "JM", "FR", "GB")


def _numbers(count: int) -> list[tuple[str, str, str]]:
    rng = random.Random(19)
    numbers = [(a, "555", "0101") for a in AREAS]
    numbers += [(a, "211", "0000") for a in AREAS]
    for _ in range(count):
        area = rng.choice(AREAS) if rng.random() < 0.5 else f"{rng.randint(0, 999):03d}"
        numbers.append((area, f"{rng.randint(0, 999):03d}", f"{rng.randint(0, 9999):04d}"))
    return numbers


def test_north_american_numbers_read_as_phonenumbers_reads_them() -> None:
    checked = fast = 0
    for area, exchange, line in _numbers(120):
        for form in FORMS:
            text_ = form.format(a=area, e=exchange, l=line)
            for region in REGIONS:
                expected = read_phone(text_, region)
                assert parse_phone.__wrapped__(text_, region) == expected, (text_, region)
                checked += 1
                fast += isinstance(expected, Phone)
    assert checked > 20_000 and fast > 5_000  # the comparison covered real numbers


def test_phone_results_keep_their_meaning() -> None:
    assert parse_phone("(902) 555-0101", "CA") == read_phone("(902) 555-0101", "CA")
    phone = parse_phone("1-902-424-5000", "CA")
    assert phone == Phone("+19024245000", "(902) 424-5000", True)
    assert parse_phone("tel:+1 902 424 5000", None) == phone
    assert parse_phone("902.424.5000", None) == read_phone("902.424.5000", None)  # no country
    assert isinstance(parse_phone("902.424.500", "CA"), str)  # nine digits


DESCRIPTIONS = (
    None,
    "",
    " ",
    "Plain text.",
    "Café — “quoted” ünïcödé, 東京, 🦞 lobster",
    "tabs\tnew\nlines\r\nand \\ backslashes \\N",
    "x" * 20_000,
    "Harbour views. " * 700,
)


def test_the_description_hash_is_the_sql_function(engine: Engine) -> None:
    with engine.connect() as conn:
        for value in DESCRIPTIONS:
            sql = conn.execute(
                text("SELECT pipeline.listing_info_content_hash(:d)"), {"d": value}
            ).scalar_one()
            assert description_hash(value) == sql, value


def test_staged_descriptions_carry_the_sql_functions_hash(engine: Engine, tmp_path: Path) -> None:
    rows = [place(i, Description=d or "") for i, d in enumerate(DESCRIPTIONS, start=1)]
    path = write_csv(tmp_path / "a.csv", rows)
    config = csv_config()
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    pipeline.transform_stage(engine, job_id, config)
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE listing_info_content_hash ="
                " pipeline.listing_info_content_hash(listing_info_description))"
                " FROM stage.listings_flat WHERE job_id = :j"
            ),
            {"j": job_id},
        ).one()
    assert tuple(found) == (len(DESCRIPTIONS), len(DESCRIPTIONS))


@pytest.mark.parametrize("region", ["CA", "US"])
def test_generated_numbers_take_the_fast_path(region: str) -> None:
    """The shortcut is worth having only if the generator's (and feeds') forms reach it."""
    from listings_pipeline.transform import normalize

    for form in PHONE_FORMATS:
        assert normalize._NANP.fullmatch(form.format(a="902", e="424", l="5000")), form
    assert parse_phone("+1 902 424 5000", region).e164 == "+19024245000"  # type: ignore[union-attr]
