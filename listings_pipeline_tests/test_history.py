"""Versioned history (seeds 002 + 004): what changed in a job, what a listing looked like at a
time, lifecycle change types (create, update, delete, reactivate) and edits made outside."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from listings_pipeline.promotion.history import (
    job_change_summary,
    job_changes,
    listing_as_of,
    listing_history,
)
from listings_pipeline.review import decide
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, place
from listings_pipeline_tests.review_helpers import listing, run_job, stage_job, stage_row


def now(engine: Engine):  # the database's clock, which stamps the history
    with engine.connect() as conn:
        return conn.execute(text("SELECT clock_timestamp()")).scalar_one()


def test_what_changed_in_a_job_and_the_listing_as_of_a_time(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    first = run_job(engine, config, tmp_path, [place(1), place(2)])
    created = listing(engine, "P1")
    with engine.connect() as conn:
        summary = job_change_summary(conn, first)
        assert summary == {
            "listings": {"create": 2},
            "listing_info": {"create": 2},
            "locations": {"create": 2},
            "contact_info": {"create": 2},
        }
        new = [c for c in job_changes(conn, first) if c.target_table == "listing_info"][0]
    assert (new.version, new.change_type, new.reviewer) == (1, "create", "auto")
    # The 10 KB description is not copied into a create: it is the row's until it changes.
    assert new.changes["description"] == {"old": None, "elided": True}
    assert new.changes["images"]["new"] == ["http://127.0.0.1/img/1.jpg"]
    before_update = now(engine)

    job = stage_job(
        engine,
        config,
        tmp_path,
        [place(1, Description="Now with a terrace.", Image1="http://127.0.0.1/img/new.jpg"),
         place(2)],
    )  # fmt: skip
    row = stage_row(engine, job, "P1")
    decide(engine, job, "approve", row_ids=[row["id"]], reviewer="rita", note="checked the site")
    from listings_pipeline import pipeline

    pipeline.promote_stage(engine, job, config, promoted_by="test")
    with engine.connect() as conn:
        changes = job_changes(conn, job)
        assert [(c.target_table, c.target_id, c.version, c.change_type) for c in changes] == [
            ("listing_info", created["info_id"], 2, "update")
        ]
        change = changes[0]
        assert change.changed_fields == ["description", "images"]
        assert change.changes["description"] == {
            "old": "Description of place 1.",
            "new": "Now with a terrace.",
        }
        assert change.changes["images"] == {
            "old": ["http://127.0.0.1/img/1.jpg"],
            "new": ["http://127.0.0.1/img/new.jpg"],
        }
        assert (change.reviewer, change.job_id, change.stage_id) == ("rita", job, row["id"])
        assert change.change_reason == "changed at the source; checked the site"

        then = listing_as_of(conn, created["id"], before_update)
        current = listing_as_of(conn, created["id"], now(engine))
        assert listing_as_of(conn, created["id"], before_update - timedelta(days=1)) is None
        assert listing_as_of(conn, created["id"], before_update.date() - timedelta(days=1)) is None
        assert len(listing_history(conn, created["id"])) == 5  # 4 creates, 1 update
    assert then is not None and current is not None
    assert then["name"] == current["name"] == "Place 1"
    assert then["location"]["city"] == "Halifax"
    assert then["location"]["address1"] == "1 Water Street"
    assert then["listing_info"][0]["description"] == "Description of place 1."
    assert then["listing_info"][0]["contact_info"]["email"] == "info1@example.com"
    assert current["listing_info"][0]["description"] == "Now with a terrace."
    assert current["listing_info"][0]["images"] == ["http://127.0.0.1/img/new.jpg"]
    assert current["attributes"] == ["Food", "Tours"]
    with engine.connect() as conn:  # never changed: the create's description is the current one
        other = listing_as_of(conn, listing(engine, "P2")["id"], before_update)
    assert other is not None
    assert other["listing_info"][0]["description"] == "Description of place 2."


def test_a_listing_back_after_a_soft_delete_is_reactivated(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1), place(2), place(3)])
    original = listing(engine, "P3")
    run_job(engine, config, tmp_path, [place(1), place(2)])  # P3 gone (approved by rita)
    assert listing(engine, "P3")["listing_status"] == "missing_from_import"
    back = run_job(engine, config, tmp_path, [place(1), place(2), place(3)])
    returned = listing(engine, "P3")
    assert returned["id"] == original["id"]
    assert (returned["listing_status"], returned["listing_visible"]) == ("active", True)
    assert (returned["info_status"], returned["info_visible"]) == ("active", True)
    assert count(engine, "public.listings") == 3
    with engine.connect() as conn:
        versions = [
            (c.target_table, c.change_type, c.change_reason, c.reviewer)
            for c in listing_history(conn, original["id"])
            if c.target_table in ("listings", "listing_info")
        ]
        summary = job_change_summary(conn, back)
    assert versions == [
        ("listings", "create", "new in the source", "auto"),
        ("listing_info", "create", "new in the source", "auto"),
        ("listings", "delete", "missing from the import", "rita"),
        ("listing_info", "delete", "missing from the import", "rita"),
        ("listings", "reactivate", "back in the source", "auto"),
        ("listing_info", "reactivate", "back in the source", "auto"),
    ]
    assert summary == {"listing_info": {"reactivate": 1}, "listings": {"reactivate": 1}}


def test_edits_outside_the_pipeline_are_versions_too(engine: Engine, tmp_path: Path) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1)])
    created = listing(engine, "P1")
    before_edit = now(engine)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL listings.editor = 'editor@dmo'"))
        conn.execute(
            text("UPDATE public.listing_info SET description = 'Edited by hand.' WHERE id = :i"),
            {"i": created["info_id"]},
        )
        conn.execute(text("UPDATE public.listings SET updated_at = now()"))  # no real change
    with engine.connect() as conn:
        edits = [c for c in listing_history(conn, created["id"]) if c.job_id is None]
        then = listing_as_of(conn, created["id"], before_edit)
        current = listing_as_of(conn, created["id"], now(engine))
    assert [(e.target_table, e.version, e.change_type, e.reviewer) for e in edits] == [
        ("listing_info", 2, "update", "editor@dmo")
    ]
    assert edits[0].change_reason == "edited outside the pipeline"
    assert then is not None and current is not None
    assert then["listing_info"][0]["description"] == "Description of place 1."
    assert current["listing_info"][0]["description"] == "Edited by hand."

    # The next import keeps the person's text; nothing changed, so no version is written.
    job = run_job(engine, config, tmp_path, [place(1, Description="From the source.")])
    assert listing(engine, "P1")["description"] == "Edited by hand."
    with engine.connect() as conn:
        assert job_changes(conn, job) == []


def test_history_from_the_command_line(engine: Engine, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from listings_pipeline.cli import main

    config = csv_config()
    run_job(engine, config, tmp_path, [place(1)])
    day_one = now(engine)
    job = run_job(engine, config, tmp_path, [place(1, Description="Second text.")])
    listing_id = listing(engine, "P1")["id"]
    runner = CliRunner()
    changed = runner.invoke(main, ["history", "job", str(job)])
    assert changed.exit_code == 0, changed.output
    assert f"listing {listing_id} listing_info" in changed.output
    assert "v2 update by auto: description" in changed.output
    as_of = ["--as-of", day_one.isoformat()]
    then = runner.invoke(main, ["history", "listing", str(listing_id), *as_of])
    assert then.exit_code == 0, then.output
    assert json.loads(then.output)["listing_info"][0]["description"] == "Description of place 1."
    before = runner.invoke(main, ["history", "listing", str(listing_id), "--as-of", "2001-01-01"])
    assert before.exit_code != 0 and "did not exist at 2001-01-01" in before.output
