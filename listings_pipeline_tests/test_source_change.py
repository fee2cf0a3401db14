"""Issue 15: source changes are held, never promoted silently; the mass-change circuit breaker;
no automatic decision clears a production value; deletions per source config."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.console.users import create_api_token
from listings_pipeline.orchestration.partitions import source_configs
from listings_pipeline.orchestration.sensors import promotion_after_review_sensor
from listings_pipeline.promotion.promote import PromotionRefused, check_promotable, promote_job
from listings_pipeline.review import decide
from listings_pipeline.review.holds import HoldError, decide_holds, job_holds
from listings_pipeline.review.source_change import SourceChangeFailed
from listings_pipeline_tests.dagster_support import tick, write_source
from listings_pipeline_tests.helpers import CSV_FIELDS, csv_config, place, write_csv
from listings_pipeline_tests.review_helpers import kinds, run_job, stage_job
from listings_pipeline_tests.test_cli import CONFIG, Cli
from listings_pipeline_tests.test_console import (  # noqa: F401 - fixtures
    app,
    csrf_of,
    db,
    login,
    make_user,
)
from listings_pipeline_tests.test_console_review import text_of
from listings_pipeline_tests.test_sensors import instance  # noqa: F401 - fixture

N = 30  # records per import: above the checks' min_records / min_listings (20)
RENAMED = [("E-mail" if f == "Email" else f) for f in CSV_FIELDS]
# The CLI's example config, with a phone: the contact changes, so its email would be cleared.
COAST = {
    **CONFIG,
    "transform": {
        "map_fields": {
            **CONFIG["transform"]["map_fields"],  # type: ignore[dict-item]
            "contact_info.local_phone": "Phone",
            "locations.country": "Country",  # phones are read in the listing's country
        }
    },
}


def config_with(slug: str = "dmo1-csv", **review: Any) -> SourceConfig:
    return csv_config(slug, review=review) if review else csv_config(slug)


def production(engine: Engine, column: str) -> dict[str, Any]:
    """source_id → a production contact/listing_info value of DMO 1 (via the bridge)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"SELECT b.source_id, {column} FROM pipeline.bridge_source_target b"
                " JOIN public.listing_info li ON li.id = b.target_id"
                " LEFT JOIN public.contact_info ci ON ci.id = li.contact_info_id"
                " WHERE b.target_type = 'listing_info' AND b.dmo_id = 1"
            )
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def promote_all(engine: Engine, job_id: int, config: SourceConfig) -> None:
    if not pipeline.gate(engine, job_id).passed:
        decide(engine, job_id, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, job_id, config, promoted_by="test")


def holds_of(engine: Engine, job_id: int) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {f"{h.kind}:{h.subject}": h.as_dict() for h in job_holds(conn, job_id)}


def status_of(engine: Engine, job_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT status FROM pipeline.jobs WHERE id = :j"), {"j": job_id}
        ).scalar_one()


def places(count: int = N, **overrides: str) -> list[dict[str, str]]:
    return [place(i, **overrides) for i in range(1, count + 1)]


def renamed_places() -> list[dict[str, str]]:
    """The next export, with its Email column renamed E-mail (values unchanged)."""
    return [{("E-mail" if k == "Email" else k): v for k, v in r.items()} for r in places()]


# --- the renamed column, as a user runs it -----------------------------------------------------


@pytest.fixture
def cli() -> Any:
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="lpsc-"))
    runner = Cli(home)
    (runner.configs / "coast-csv.yaml").write_text(yaml.safe_dump(COAST))
    yield runner
    runner("db", "stop")
    shutil.rmtree(home, ignore_errors=True)


def test_a_renamed_column_holds_the_job_and_production_keeps_its_emails(
    cli: Cli, tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "1.csv", places())
    assert cli("run", "coast-csv", "--input", str(first)).returncode == 0
    emails = "SELECT count(email) FROM public.contact_info"
    assert cli.sql(emails) == [(N,)]

    # The next export renames Email to E-mail: every email would become null.
    renamed = write_csv(tmp_path / "2.csv", renamed_places(), RENAMED)
    held = cli("run", "coast-csv", "--input", str(renamed), "--json")
    assert held.returncode == 3, held.stderr  # stopped at the review gate, not done
    summary = json.loads(held.stdout)
    assert summary["status"] == "review" and not summary["gate"]["passed"]
    by_subject = {h["subject"]: h for h in summary["gate"]["holds"]}
    email = by_subject["contact_info.email"]
    assert email["kind"] == "source_change" and email["status"] == "pending"
    assert email["evidence"] == {
        "check": "field_missing",
        "field": "contact_info.email",
        "source_fields": ["Email"],
        "filled_before": 1.0,
        "filled_now": 0.0,
        "filled_records_before": N,
        "filled_records_now": 0,
        "clearing_rows": N,
        "previous_job_id": 1,
        "records_before": N,
        "records_now": N,
    }
    assert "missing from every record: filled in 100% → 0%" in email["description"]
    assert by_subject["listings"]["kind"] == "mass_change"  # the breaker trips too
    assert summary["gate"]["waiting"] == {"clears_values": N}
    assert "review accept-change 2" in summary["gate"]["description"]
    assert cli.sql(emails) == [(N,)]

    # No other path promotes it either, and the text output names the hold and the way out.
    # Exit 3: waiting for a person, as `run` (issue 18: promote exits 3 while anything waits).
    refused = cli("promote", "coast-csv")
    assert refused.returncode == 3 and "not promoted: job 2: held (hold 1: source change:" in (
        refused.stdout
    )
    listed = cli("review", "holds", "2")
    assert "contact_info.email (source field 'Email') is missing from every record" in (
        listed.stdout
    )
    assert cli.sql(emails) == [(N,)]

    # The config is fixed: a new run maps E-mail, nothing changes, nothing is held.
    fixed = {**COAST, "transform": {"map_fields": {**COAST["transform"]["map_fields"]}}}
    fixed["transform"]["map_fields"]["contact_info.email"] = "E-mail"  # type: ignore[index]
    (cli.configs / "coast-csv.yaml").write_text(yaml.safe_dump(fixed))
    again = cli("run", "coast-csv", "--input", str(renamed), "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["gate"]["holds"] == []
    assert cli.sql(emails) == [(N,)]
    assert cli.sql("SELECT status FROM pipeline.jobs WHERE id = 2") == [("superseded",)]


# --- filled share, record counts, policies -----------------------------------------------------


def test_a_field_emptied_to_10_percent_is_held_until_a_person_accepts_it(
    engine: Engine, tmp_path: Path
) -> None:
    config = config_with()
    run_job(engine, config, tmp_path, places())
    rows = [place(i, Phone="" if i > 3 else "902-555-0100") for i in range(1, N + 1)]
    job = stage_job(engine, config, tmp_path, rows)

    holds = holds_of(engine, job)
    phone = holds["source_change:contact_info.local_phone"]["evidence"]
    assert (phone["check"], phone["filled_before"], phone["filled_now"]) == (
        "field_emptied",
        1.0,
        0.1,
    )
    assert (phone["records_before"], phone["records_now"], phone["clearing_rows"]) == (N, N, 27)
    assert "contact_info.international_phone" in {h["subject"] for h in holds.values()}
    assert holds["mass_change:listings"]["evidence"]["clearing_rows"] == 27
    assert status_of(engine, job) == "review"

    gate = pipeline.gate(engine, job)
    assert not gate.passed and {h.kind for h in gate.holds} == {"source_change", "mass_change"}
    description = gate.describe()
    assert "contact_info.local_phone (source field 'Phone') was emptied" in description
    assert "100% → 10%" in description and "30 → 30 records" in description
    assert f"listings-pipeline review accept-change {job}" in description
    assert f"/pipeline/jobs/{job}/review" in description

    with pytest.raises(PromotionRefused, match="held at the review gate"):
        pipeline.promote_stage(engine, job, config, promoted_by="test")
    with engine.connect() as conn, pytest.raises(PromotionRefused, match="held"):
        check_promotable(conn, job, config.slug)
    with pytest.raises(PromotionRefused, match="held"):  # the lowest level refuses too
        promote_job(engine, job, config.slug, promoted_by="test", config=config)
    assert sum(v is not None for v in production(engine, "ci.local_phone").values()) == N

    accepted = decide_holds(engine, job, "accept", reviewer="rita", note="phones moved")
    assert len(accepted.holds) == 3 and accepted.approved_rows == 27
    assert pipeline.gate(engine, job).passed
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    phones = production(engine, "ci.local_phone")
    assert sum(v is not None for v in phones.values()) == 3
    with pytest.raises(HoldError, match="already promoted"):
        decide_holds(engine, job, "accept", reviewer="rita")


def test_far_fewer_records_is_held_with_the_counts(engine: Engine, tmp_path: Path) -> None:
    config = config_with()
    run_job(engine, config, tmp_path, places())
    job = stage_job(engine, config, tmp_path, places(10))
    evidence = holds_of(engine, job)["source_change:records"]["evidence"]
    assert evidence["check"] == "fewer_records"
    assert (evidence["records_before"], evidence["records_now"]) == (N, 10)
    assert "far fewer records: 30 → 10" in pipeline.gate(engine, job).describe()
    decide_holds(engine, job, "reject", reviewer="rita", note="truncated export")
    assert status_of(engine, job) == "cancelled"
    with pytest.raises(PromotionRefused):
        pipeline.promote_stage(engine, job, config, promoted_by="test")
    with engine.connect() as conn:
        visible = conn.execute(
            text("SELECT count(*) FROM public.listings WHERE listing_visible")
        ).scalar_one()
    assert visible == N


def test_on_source_change_fail_fails_the_job_with_the_evidence(
    engine: Engine, tmp_path: Path
) -> None:
    config = config_with(on_source_change="fail")
    run_job(engine, config, tmp_path, places())
    with pytest.raises(SourceChangeFailed, match=r"contact_info\.email.*missing.*100% → 0%"):
        stage_job(engine, config, tmp_path, renamed_places(), RENAMED)
    with engine.connect() as conn:
        job = conn.execute(text("SELECT max(id) FROM pipeline.jobs")).scalar_one()
        message = conn.execute(
            text("SELECT error_message FROM pipeline.jobs WHERE id = :j"), {"j": job}
        ).scalar_one()
        errors = conn.execute(
            text(
                "SELECT field_name, original_record FROM pipeline.job_errors"
                " WHERE job_id = :j AND error_type = 'source_change'"
            ),
            {"j": job},
        ).all()
    assert status_of(engine, job) == "failed"
    assert "review.on_source_change: fail" in message and "'Email'" in message
    assert errors[0].field_name == "contact_info.email"
    assert errors[0].original_record["filled_before"] == 1.0
    assert sum(v is not None for v in production(engine, "ci.email").values()) == N


def test_on_source_change_accept_promotes_without_a_hold(engine: Engine, tmp_path: Path) -> None:
    config = config_with(on_source_change="accept")
    first = [place(i, Phone="902-555-0100" if i <= 8 else "") for i in range(1, N + 1)]
    run_job(engine, config, tmp_path, first)
    second = [place(i, Phone="902-555-0100" if i <= 3 else "") for i in range(1, N + 1)]
    job = stage_job(engine, config, tmp_path, second)

    gate = pipeline.gate(engine, job)
    assert gate.passed, gate.describe()  # 5 of 30 listings cleared: under the breaker's 20%
    recorded = holds_of(engine, job)["source_change:contact_info.local_phone"]
    assert recorded["status"] == "accepted" and recorded["decided_by"].startswith("config")
    assert (recorded["evidence"]["filled_before"], recorded["evidence"]["filled_now"]) == (
        0.2667,
        0.1,
    )
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    phones = production(engine, "ci.local_phone")
    assert sum(v is not None for v in phones.values()) == 3


def test_the_mass_change_breaker_holds_whatever_the_review_policy(
    engine: Engine, tmp_path: Path
) -> None:
    config = config_with(require_review=[])  # deletions would be approved automatically
    run_job(engine, config, tmp_path, places())
    job = stage_job(engine, config, tmp_path, places(22))  # 8 of 30 gone: 27%, not "far fewer"
    assert list(kinds(engine, job).values()).count("delete") == 8
    holds = holds_of(engine, job)
    assert set(holds) == {"mass_change:listings"}
    evidence = holds["mass_change:listings"]["evidence"]
    assert (evidence["deleting_rows"], evidence["source_listings"], evidence["share"]) == (
        8,
        N,
        0.2667,
    )
    gate = pipeline.gate(engine, job)
    assert gate.waiting == {} and not gate.passed
    assert "delete 8 of the source's 30 listings (27%" in gate.describe()
    with pytest.raises(PromotionRefused, match="mass change"):
        pipeline.promote_stage(engine, job, config, promoted_by="test")

    decide_holds(engine, job, "accept", reviewer="rita")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    with engine.connect() as conn:
        hidden = conn.execute(
            text("SELECT count(*) FROM public.listings WHERE NOT listing_visible")
        ).scalar_one()
    assert hidden == 8


def test_a_rerun_of_the_transform_keeps_the_decision_on_a_hold(
    engine: Engine, tmp_path: Path
) -> None:
    config = config_with()
    run_job(engine, config, tmp_path, places())
    job = stage_job(engine, config, tmp_path, places(10))
    records = holds_of(engine, job)["source_change:records"]["id"]
    decide_holds(engine, job, "accept", reviewer="rita", hold_ids=[records])
    pipeline.transform_stage(engine, job, config)  # the transform runs again (a retry)
    holds = holds_of(engine, job)
    assert holds["source_change:records"]["status"] == "accepted"
    assert holds["mass_change:listings"]["status"] == "pending"


# --- an automatic decision never clears a value --------------------------------------------------


def test_an_update_that_clears_a_value_waits_for_a_person(engine: Engine, tmp_path: Path) -> None:
    config = config_with()
    run_job(engine, config, tmp_path, places(3))
    rows = [place(1, Description="New words."), place(2, Email=""), place(3, Image1="")]
    job = stage_job(engine, config, tmp_path, rows)
    with engine.connect() as conn:
        staged = {
            r.source_id: r
            for r in conn.execute(
                text(
                    "SELECT source_id, change_kind, review_status, review_reason, clears_fields"
                    " FROM stage.listings_flat WHERE job_id = :j"
                ),
                {"j": job},
            )
        }
    assert staged["P1"].review_status == "auto_approved" and staged["P1"].clears_fields is None
    assert (staged["P2"].change_kind, staged["P2"].review_status) == ("update", "pending")
    assert staged["P2"].review_reason == "clears_values"
    assert staged["P2"].clears_fields == ["contact_info.email"]
    assert staged["P3"].clears_fields == ["listing_images"]
    assert holds_of(engine, job) == {}  # 3 records: too few for shares to mean anything
    assert pipeline.gate(engine, job).waiting == {"clears_values": 2}
    with pytest.raises(PromotionRefused, match="2 rows wait for review"):
        pipeline.promote_stage(engine, job, config, promoted_by="test")

    decide(engine, job, "approve", kind="update", reviewer="rita")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    emails = production(engine, "ci.email")
    assert emails["P2"] is None and emails["P1"] == "info1@example.com"


def test_a_merge_policy_that_never_writes_nulls_does_not_wait(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config(promotion={"merge_policy": "field_level_merge"})
    run_job(engine, config, tmp_path, places(3))
    job = stage_job(engine, config, tmp_path, [place(1), place(2, Email=""), place(3)])
    assert pipeline.gate(engine, job).passed
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert production(engine, "ci.email")["P2"] == "info2@example.com"


# --- deletions per source config ----------------------------------------------------------------


def test_two_configs_of_one_dmo_do_not_delete_each_others_listings(
    engine: Engine, tmp_path: Path
) -> None:
    csv = config_with("dmo1-csv")
    api = config_with("dmo1-api")  # another export of the same DMO (source ids B…)
    run_job(engine, csv, tmp_path / "csv", [place(i) for i in range(1, 6)])
    theirs = [place(i, ID=f"B{i}") for i in (1, 101, 102)]  # place 1 is in both
    api_job = run_job(engine, api, tmp_path / "api", theirs)
    assert "delete" not in kinds(engine, api_job).values()  # P2..P5 are not the API's

    # The CSV drops place 5 and place 1: only its own P5 is missing; place 1 the API still lists.
    csv_job = stage_job(engine, csv, tmp_path / "csv", [place(i) for i in range(2, 5)])
    deleted = {s for s, k in kinds(engine, csv_job).items() if k == "delete"}
    assert deleted == {"P5"}
    promote_all(engine, csv_job, csv)

    # The API's next import still has its own places; place 1 gone from both now: the API,
    # the last to list it, proposes it.
    api_next = stage_job(engine, api, tmp_path / "api", [place(i, ID=f"B{i}") for i in (101, 102)])
    assert {s for s, k in kinds(engine, api_next).items() if k == "delete"} == {"B1"}


# --- the console: the review page and the JSON API ---------------------------------------------


def test_console_shows_holds_with_evidence_and_a_reviewer_accepts_them(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    tmp_path: Path,
) -> None:
    config = config_with()
    run_job(db, config, tmp_path, places())
    job = stage_job(db, config, tmp_path, renamed_places(), RENAMED)
    page = f"/pipeline/jobs/{job}/review"

    viewer = login(app, make_user(db, "vera", "pipeline_viewer"))
    listed = text_of(viewer.get("/pipeline/review").text)
    assert f"#{job} dmo1-csv DMO 1 (1) 30 30 2 holds" in listed
    seen = html.unescape(text_of(viewer.get(page).text))
    assert "Held: the source changed" in seen
    assert (
        "contact_info.email (source field 'Email') is missing from every record:"
        " filled in 100% → 0% of the records (30 → 30 records)"
    ) in seen
    assert "listings-pipeline review accept-change" in seen
    assert 'id="accept-hold-' not in viewer.get(page).text  # looking needs no permission
    assert "Deciding holds needs the permission pipeline:review" in seen
    refused = viewer.post(
        f"/pipeline/jobs/{job}/holds", data={"csrf_token": csrf_of(viewer), "action": "accept"}
    )
    assert refused.status_code == 403

    reviewer = login(app, make_user(db, "rita", "pipeline_reviewer"))
    buttons = reviewer.get(page).text
    email_hold = holds_of(db, job)["source_change:contact_info.email"]["id"]
    assert f'id="accept-hold-{email_hold}"' in buttons and 'id="accept-holds"' in buttons
    done = reviewer.post(
        f"/pipeline/jobs/{job}/holds",
        data={"csrf_token": csrf_of(reviewer), "action": "accept", "hold_id": str(email_hold)},
    )
    assert done.status_code == 303
    after = text_of(reviewer.get(done.headers["location"]).text)
    assert "Accepted 1 hold; 30 rows that clear the accepted fields approved with it." in after
    holds = holds_of(db, job)
    assert holds["source_change:contact_info.email"]["decided_by"] == "rita"
    assert holds["mass_change:listings"]["status"] == "pending"  # still held by the breaker

    api = TestClient(
        app, headers={"Authorization": f"Bearer {create_api_token(db, 'rita', 'script')}"}
    )
    summary = api.get(f"/api/v1/pipeline/jobs/{job}/review").json()
    assert not summary["gate_passed"] and summary["waiting"] == {}
    by_kind = {h["kind"]: h for h in summary["holds"]}
    assert by_kind["mass_change"]["evidence"]["clearing_rows"] == N
    assert by_kind["source_change"]["status"] == "accepted"
    decided = api.post(
        f"/api/v1/pipeline/jobs/{job}/holds/decisions", json={"decision": "accept", "note": "ok"}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["holds"] == [by_kind["mass_change"]["id"]]
    again = api.post(f"/api/v1/pipeline/jobs/{job}/holds/decisions", json={"decision": "accept"})
    assert again.status_code == 409 and "has no pending hold" in again.json()["detail"]
    assert api.get(f"/api/v1/pipeline/jobs/{job}/review").json()["gate_passed"]


def test_the_promotion_sensor_waits_for_the_holds(
    engine: Engine,
    config_dir: Path,
    instance: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    write_source(config_dir, "dmo1-csv", review={"require_review": []})
    instance.add_dynamic_partitions(source_configs.name, ["dmo1-csv"])
    config = config_with(require_review=[])
    run_job(engine, config, tmp_path, places())
    job = stage_job(engine, config, tmp_path, places(22))  # the breaker holds; no row waits
    assert pipeline.gate(engine, job).waiting == {} and status_of(engine, job) == "review"
    assert tick(promotion_after_review_sensor, instance).run_requests == []
    decide_holds(engine, job, "accept", reviewer="ana")
    requests = tick(promotion_after_review_sensor, instance).run_requests
    assert [r.run_key for r in requests] == [f"promote:{job}"]
