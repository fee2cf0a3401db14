"""The review gate and promotion on the domain API: decisions (every kind and override, and the
ones that must be refused), merge policies, manual edits, superseded jobs, job counts,
idempotence, interrupted promotions and change notifications."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.db.engine import database_url
from listings_pipeline.promotion.promote import CHANNEL, promote_job
from listings_pipeline.review import ReviewError, decide
from listings_pipeline_tests.conftest import _TRUNCATE, count
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import (
    checksums,
    kinds,
    listing,
    make_uncertain,
    run_job,
    stage_job,
    stage_row,
)

ROOT = Path(__file__).resolve().parents[1]


def stage_state(engine: Engine) -> list:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id, review_status, ok_to_promote, reviewed_by, force_overwrite,"
                    " listing_action, listing_internal_id, match_method, change_kind"
                    " FROM stage.listings_flat ORDER BY id"
                )
            )
        )


def test_gate_blocks_until_a_reviewer_approves(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 4)])
    job = stage_job(engine, config, tmp_path, [place(1), place(2)])
    assert kinds(engine, job)["P3"] == "delete"
    gate = pipeline.gate(engine, job)
    assert not gate.passed and gate.waiting == {"delete": 1}
    with pytest.raises(pipeline.PromotionRefused, match="1 rows wait for review"):
        pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert listing(engine, "P3")["listing_visible"] is True

    result = decide(engine, job, "approve", kind="delete", reviewer="rita", note="closed")
    assert len(result.decided) == 1
    assert pipeline.gate(engine, job).passed
    promoted = pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert promoted.counts.deleted == 1
    gone = listing(engine, "P3")
    assert (gone["listing_status"], gone["listing_visible"]) == ("missing_from_import", False)


def test_refused_decisions_say_why_and_change_nothing(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    first = run_job(engine, config, tmp_path, [place(i) for i in range(1, 4)])
    job = stage_job(engine, config, tmp_path, [place(1), place(2)])
    delete_row = stage_row(engine, job, "P3")["id"]
    other_job_row = stage_row(engine, first, "P1")["id"]
    before = stage_state(engine)

    refused = [
        (dict(job_id=999, row_ids=[delete_row]), "job 999 does not exist"),
        (dict(job_id=job, row_ids=[other_job_row]), f"rows {other_job_row} do not belong to job"),
        (dict(job_id=first, all_rows=True), f"job {first} was already promoted"),
        (dict(job_id=job, kind="duplicate"), f"no rows of job {job} match the selection"),
        (
            dict(job_id=job, row_ids=[delete_row], override="accept_match"),
            "are not uncertain matches",
        ),
        (dict(job_id=job, row_ids=[delete_row], override="merge"), "unknown override 'merge'"),
        (dict(job_id=job, kind="delete", row_ids=[delete_row]), "choose exactly one"),
    ]
    for arguments, message in refused:
        with pytest.raises(ReviewError, match=message):
            decide(engine, decision="approve", reviewer="rita", **arguments)  # type: ignore[arg-type]
    with pytest.raises(ReviewError, match="use approve"):
        decide(engine, job, "reject", row_ids=[delete_row], reviewer="r", override="reject_match")
    assert stage_state(engine) == before

    decide(engine, job, "approve", row_ids=[delete_row], reviewer="rita")
    decided = stage_state(engine)
    with pytest.raises(ReviewError, match="nothing to reject .* 1 were already decided"):
        decide(engine, job, "reject", row_ids=[delete_row], reviewer="sam")
    with pytest.raises(ReviewError, match=f"nothing to approve in job {job}: .* 1 were already"):
        decide(engine, job, "approve", all_rows=True, reviewer="sam")
    assert stage_state(engine) == decided

    pipeline.promote_stage(engine, job, config, promoted_by="test")
    with pytest.raises(ReviewError, match=f"job {job} was already promoted"):
        decide(engine, job, "reject", row_ids=[delete_row], reviewer="sam")


def test_nothing_approved_is_not_promoted(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(review={"require_review": ["insert"]})
    job = stage_job(engine, config, tmp_path, [place(1), place(2)])
    decide(engine, job, "reject", all_rows=True, reviewer="rita")
    with pytest.raises(pipeline.PromotionRefused, match="no row is approved"):
        pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert count(engine, "public.listings") == 0


def test_reject_and_skip_override_leave_production_alone(engine: Engine, tmp_path: Path) -> None:
    config = csv_config(review={"require_review": ["update", "delete"]})
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 4)])
    rows = [place(1, Description="One"), place(2, Description="Two"), place(3, Description="3")]
    job = stage_job(engine, config, tmp_path, rows)
    ids = {s: stage_row(engine, job, s)["id"] for s in ("P1", "P2", "P3")}
    decide(engine, job, "reject", row_ids=[ids["P1"]], reviewer="rita")
    decide(engine, job, "approve", row_ids=[ids["P2"]], reviewer="rita", override="skip")
    decide(engine, job, "approve", row_ids=[ids["P3"]], reviewer="rita")
    result = pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert listing(engine, "P1")["description"] == "Description of place 1."
    assert listing(engine, "P2")["description"] == "Description of place 2."
    assert listing(engine, "P3")["description"] == "3"
    assert result.counts.updated == 1
    assert result.counts.extra["rejected_rows"] == 1


def _dmo2_near_match(engine: Engine, tmp_path: Path) -> tuple[int, int, int]:
    """DMO 1 has place 5; DMO 2 lists it spelled differently (no exact match) — the fuzzy
    matcher would suggest place 5 for review."""
    run_job(engine, csv_config("dmo1-csv", 1), tmp_path, [place(5, Name="Harbour Cafe")])
    candidate = listing(engine, "P5")["id"]
    config2 = csv_config("dmo2-csv", 2)
    row = place(5, ID="X5", Name="The Harbour Café Ltd", Description="DMO 2's words.")
    job = stage_job(engine, config2, tmp_path, [row])
    stage_id = make_uncertain(engine, job, "X5", candidate)
    assert kinds(engine, job) == {"X5": "uncertain_match"}
    assert pipeline.gate(engine, job).waiting == {"uncertain_match": 1}
    return job, stage_id, candidate


def test_accept_match_attaches_the_row_to_the_suggested_listing(
    engine: Engine, tmp_path: Path
) -> None:
    job, stage_id, candidate = _dmo2_near_match(engine, tmp_path)
    decide(engine, job, "approve", kind="uncertain_match", reviewer="rita", override="accept_match")
    row = stage_row(engine, job, "X5")
    assert row["listing_internal_id"] == candidate
    assert (row["match_method"], row["change_kind"], row["review_status"]) == (
        "reviewer",
        "insert",
        "approved",
    )
    # The listing belongs to DMO 1's source: DMO 2 adds its own listing_info only.
    assert (row["listing_action"], row["listing_info_action"], row["location_action"]) == (
        "skip",
        "insert",
        "skip",
    )
    pipeline.promote_stage(engine, job, csv_config("dmo2-csv", 2), promoted_by="test")
    assert count(engine, "public.listings") == 1
    shared = listing(engine, "X5", dmo_id=2)
    assert shared["id"] == candidate and shared["name"] == "Harbour Cafe"
    assert shared["description"] == "DMO 2's words."
    with engine.connect() as conn:
        method = conn.execute(
            text(
                "SELECT match_method FROM pipeline.bridge_source_target"
                " WHERE dmo_id = 2 AND target_type = 'listings'"
            )
        ).scalar_one()
    assert method == "reviewer"


def test_reject_match_makes_a_new_listing(engine: Engine, tmp_path: Path) -> None:
    job, stage_id, candidate = _dmo2_near_match(engine, tmp_path)
    decide(engine, job, "approve", row_ids=[stage_id], reviewer="rita", override="reject_match")
    row = stage_row(engine, job, "X5")
    assert row["listing_internal_id"] is None and row["match_candidate_id"] == candidate
    assert (row["match_method"], row["change_kind"], row["listing_action"]) == (
        "none",
        "insert",
        "insert",
    )
    pipeline.promote_stage(engine, job, csv_config("dmo2-csv", 2), promoted_by="test")
    assert count(engine, "public.listings") == 2
    assert listing(engine, "X5", dmo_id=2)["name"] == "The Harbour Café Ltd"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # (description, email) after a re-import that changes the description and has no email
        ("latest_wins", ("Changed.", None)),
        ("field_level_merge", ("Changed.", "info1@example.com")),
        ("skip_if_exists", ("Description of place 1.", "info1@example.com")),
    ],
)
def test_merge_policies(
    engine: Engine, tmp_path: Path, policy: str, expected: tuple[str, str | None]
) -> None:
    config = csv_config(promotion={"merge_policy": policy})
    run_job(engine, config, tmp_path, [place(1)])
    rows = [place(1, Description="Changed.", Email=""), place(2)]
    job = run_job(engine, config, tmp_path, rows)
    promoted = listing(engine, "P1")
    assert (promoted["description"], promoted["email"]) == expected
    assert listing(engine, "P2")["name"] == "Place 2"  # new listings arrive under every policy
    # The hashes record what the source sent: the same records again (in another order, so
    # not an unchanged file, issue 19) change nothing.
    again = stage_job(engine, config, tmp_path, rows[::-1])
    assert set(kinds(engine, again).values()) == {"skip"}
    assert job < again


def test_changed_collections_are_replaced(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1)])
    changed = place(
        1, Attributes="Tours, Kayaks", Image2="http://127.0.0.1/img/b.jpg", MonClose="18:00"
    )
    run_job(engine, config, tmp_path, [changed])
    promoted = listing(engine, "P1")
    assert promoted["images"] == ["http://127.0.0.1/img/1.jpg", "http://127.0.0.1/img/b.jpg"]
    with engine.connect() as conn:
        attributes = conn.execute(
            text(
                "SELECT array_agg(a.name ORDER BY a.name) FROM public.bridge_attributes_listings b"
                " JOIN public.attributes a ON a.id = b.attribute_id"
            )
        ).scalar_one()
        closes = conn.execute(text("SELECT array_agg(close_time::text) FROM public.opening_hours"))
    assert attributes == ["Kayaks", "Tours"]
    assert closes.scalar_one() == ["18:00:00"]


def test_manual_edit_survives_reimports_until_a_reviewer_forces(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1)])
    with engine.begin() as conn:  # a person renames the listing in production
        conn.execute(text("UPDATE public.listings SET name = 'Place One (edited)'"))
    edited = listing(engine, "P1")
    assert edited["manually_modified"] and edited["manually_modified_fields"] == ["name"]

    run_job(engine, config, tmp_path, [place(1, Name="Place 1 new", Description="New words.")])
    kept = listing(engine, "P1")
    assert (kept["name"], kept["description"]) == ("Place One (edited)", "New words.")
    assert kept["manually_modified"]

    job = stage_job(engine, config, tmp_path, [place(1, Name="Place 1 newer")])
    row = stage_row(engine, job, "P1")
    assert row["change_kind"] == "update" and row["review_status"] == "auto_approved"
    decide(engine, job, "approve", row_ids=[row["id"]], reviewer="rita", override="force_overwrite")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    forced = listing(engine, "P1")
    assert forced["name"] == "Place 1 newer"
    assert not forced["manually_modified"] and forced["manually_modified_fields"] == []


def test_superseded_job_is_refused(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    old = stage_job(engine, config, tmp_path, [place(1)])
    new = stage_job(engine, config, tmp_path, [place(1), place(2)])
    with pytest.raises(pipeline.PromotionRefused, match=f"superseded by job {new}"):
        promote_job(engine, old, config.slug, promoted_by="test", config=config)
    with pytest.raises(ReviewError, match="superseded"):
        decide(engine, old, "approve", all_rows=True, reviewer="rita")
    assert count(engine, "public.listings") == 0
    pipeline.promote_stage(engine, new, config, promoted_by="test")
    assert count(engine, "public.listings") == 2


def test_cancelled_job_is_refused_and_supersedes_nothing(engine: Engine, tmp_path: Path) -> None:
    """The console cancels a source's unfinished jobs when its config changes; the CLI,
    Dagster and the domain API must respect that as the console does."""
    config = csv_config()
    old = stage_job(engine, config, tmp_path, [place(1)])
    cancelled = stage_job(engine, config, tmp_path, [place(1), place(2)])
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE pipeline.jobs SET status = 'cancelled' WHERE id = :id"), {"id": cancelled}
        )
    with pytest.raises(ReviewError, match=f"job {cancelled} is cancelled"):
        decide(engine, cancelled, "approve", all_rows=True, reviewer="rita")
    with pytest.raises(pipeline.PromotionRefused, match=f"job {cancelled} .* is cancelled"):
        pipeline.promote_stage(engine, cancelled, config, promoted_by="test")
    assert count(engine, "public.listings") == 0
    # The cancelled newer job does not supersede the one before it.
    pipeline.promote_stage(engine, old, config, promoted_by="test")
    assert count(engine, "public.listings") == 1


def test_job_counts_are_recorded(engine: Engine, tmp_path: Path) -> None:
    # A latitude out of range is a warning by default (issue 17); this config refuses it.
    config = csv_config(validation={"severities": {"lat_lng": "error"}})
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 5)])
    rows = [
        place(1, Description="changed"),  # update
        place(2),  # unchanged
        place(3),
        place(3, Name="again"),  # duplicate
        place(5),  # new
        place(6, Name=""),  # error: no name
        place(7, Lat="95"),  # error: latitude out of range
    ]  # place 4 missing: delete
    job = stage_job(engine, config, tmp_path, rows)
    decide(engine, job, "approve", kind="delete", reviewer="rita")
    decide(engine, job, "reject", kind="duplicate", reviewer="rita")
    decide(engine, job, "reject", kind="error", reviewer="rita")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    with engine.connect() as conn:
        warnings = conn.execute(
            text(
                "SELECT count(*) FROM stage.listings_flat"
                " WHERE job_id = :j AND validation_warnings IS NOT NULL"
            ),
            {"j": job},
        ).scalar_one()
        jobs = conn.execute(
            text(
                "SELECT status, records_total, records_new, records_updated, records_deleted,"
                " records_duplicates, records_unchanged, records_failed, records_warning"
                " FROM pipeline.jobs WHERE id = :j"
            ),
            {"j": job},
        ).one()
        result = conn.execute(
            text(
                "SELECT r.status, r.records_total, r.records_new, r.records_updated,"
                " r.records_deleted, r.records_duplicates, r.records_unchanged, r.records_failed,"
                " r.records_warning FROM pipeline.stage_results r"
                " JOIN pipeline.job_stages s ON s.id = r.job_stages_id"
                " WHERE s.job_id = :j AND s.name = 'promote'"
            ),
            {"j": job},
        ).one()
    expected = ("completed", 7, 1, 1, 1, 1, 2, 2, warnings)
    assert tuple(jobs) == expected
    assert tuple(result) == expected


def test_promoting_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    job = run_job(engine, config, tmp_path, [place(i) for i in range(1, 4)])
    before = checksums(engine)
    again = promote_job(engine, job, config.slug, promoted_by="again", config=config)
    assert again.batches == 0 and again.counts.new == 3
    with pytest.raises(pipeline.PromotionRefused, match="already promoted"):
        pipeline.promote_stage(engine, job, config, promoted_by="again")
    assert checksums(engine) == before


def test_change_notification_is_received(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    url = database_url().replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        job = run_job(engine, config, tmp_path, [place(i) for i in range(1, 4)])
        first = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
        run_job(engine, config, tmp_path, [place(1, Description="new"), place(2)])
        second = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    ids = sorted(listing(engine, f"P{i}")["id"] for i in range(1, 4))
    assert first == [
        {"job_id": job, "source": config.slug, "part": 1, "parts": 1, "changes": {"create": ids}}
    ]
    p1, p3 = listing(engine, "P1")["id"], listing(engine, "P3")["id"]
    assert second[0]["changes"] == {"update": [p1], "delete": [p3]}


def test_large_batch_notifications_stay_under_the_payload_limit(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    url = database_url().replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with engine.begin() as conn:  # high ids: the longest numbers a payload can carry
            conn.execute(text("SELECT setval('public.listings_id_seq', 2000000000)"))
        run_job(engine, config, tmp_path, [place(i) for i in range(1, 1201)])
        notes = list(listener.notifies(timeout=5, stop_after=3))
    payloads = [json.loads(n.payload) for n in notes]
    assert max(len(n.payload.encode()) for n in notes) < 8000
    assert [(p["part"], p["parts"]) for p in payloads] == [(1, 2), (2, 2), (1, 1)]
    assert sum(len(p["changes"]["create"]) for p in payloads) == 1200


# --- interrupted promotion ---------------------------------------------------------------------
def _scenario_first(engine: Engine, tmp_path: Path) -> int:
    """Production with three listings, then a job of updates, inserts and a deletion."""
    config = csv_config()
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 4)])
    rows = [place(1, Description="new 1"), place(2, Name="Place Two")]
    rows += [place(i) for i in range(4, 9)]
    job = stage_job(engine, config, tmp_path, rows)
    decide(engine, job, "approve", kind="delete", reviewer="rita")
    return job


def _promote_in_subprocess(job_id: int, slug: str, pause_step: str) -> subprocess.Popen:
    script = (
        "import sys, time\n"
        "from listings_pipeline.db import get_engine\n"
        "from listings_pipeline.promotion.promote import promote_job\n"
        "from listings_pipeline_tests.helpers import csv_config\n"
        "def on_step(batch, step):\n"
        f"    if batch == 2 and step == {pause_step!r}:\n"
        "        print('paused', flush=True)\n"
        "        time.sleep(600)\n"
        f"promote_job(get_engine(), {job_id}, {slug!r}, promoted_by='test',"
        f" config=csv_config({slug!r}), batch_rows=2, on_step=on_step,"
        " after_batch=lambda n: print('committed', n, flush=True))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("pause_step", ["replace_images", "notify_changes"])
def test_interrupted_promotion_resumes_to_the_same_state(
    engine: Engine, tmp_path: Path, pause_step: str
) -> None:
    config = csv_config()
    job = _scenario_first(engine, tmp_path / "a")
    pipeline.promote_stage(engine, job, config, promoted_by="test")
    reference = checksums(engine)

    with engine.begin() as conn:  # the same from scratch, killed in the middle of batch 2
        conn.connection.driver_connection.execute(_TRUNCATE)
    job = _scenario_first(engine, tmp_path / "b")
    promoter = _promote_in_subprocess(job, config.slug, pause_step)
    assert promoter.stdout is not None
    assert promoter.stdout.readline().strip() == "committed 1"
    assert promoter.stdout.readline().strip() == "paused"
    after_first_batch = checksums(engine)
    promoter.send_signal(signal.SIGKILL)
    promoter.wait(timeout=10)
    promoter.stdout.close()
    assert checksums(engine) == after_first_batch
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                text(
                    "SELECT promote_status, count(*) FROM stage.listings_flat"
                    " WHERE job_id = :j GROUP BY 1"
                ),
                {"j": job},
            ).all()
        )
    assert states["succeeded"] == 2  # exactly the first batch

    pipeline.promote_stage(engine, job, config, promoted_by="test")
    assert checksums(engine) == reference


def test_rows_another_session_held_are_promoted_when_it_lets_go(
    engine: Engine, tmp_path: Path
) -> None:
    """Batches follow a cursor (next_batch after the previous batch's last id); rows a second
    promoter held and left pending fall behind it and must still be promoted."""
    config = csv_config()
    job = stage_job(engine, config, tmp_path, [place(i) for i in range(1, 11)])
    url = database_url().replace("postgresql+psycopg://", "postgresql://", 1)
    other = psycopg.connect(url)
    held = [
        r[0]
        for r in other.execute(
            "SELECT id FROM stage.listings_flat WHERE job_id = %s ORDER BY id LIMIT 3 FOR UPDATE",
            (job,),
        )
    ]
    try:
        result = promote_job(
            engine,
            job,
            config.slug,
            promoted_by="tester",
            config=config,
            batch_rows=2,
            after_batch=lambda n: other.rollback() if n == 1 else None,
        )
    finally:
        other.close()
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                text("SELECT id, promote_status FROM stage.listings_flat WHERE job_id = :j"),
                {"j": job},
            ).all()
        )
    assert len(held) == 3 and all(states[i] == "succeeded" for i in held)
    assert set(states.values()) == {"succeeded"}
    assert result.counts.new == 10 and result.counts.extra["promoted_rows"] == 10
    assert sorted(listing(engine, f"P{i}")["name"] for i in range(1, 11)) == sorted(
        f"Place {i}" for i in range(1, 11)
    )
