"""Console phase 2: review tabs and decisions, Promote, Run now, and the config-save dialog,
in process (FastAPI TestClient) against the real database and a real Dagster instance."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.cli import main as cli_main
from listings_pipeline.configs import load_config
from listings_pipeline.console import launcher
from listings_pipeline.console.users import create_api_token
from listings_pipeline.orchestration.instance import get_instance
from listings_pipeline_tests.conftest import count
from listings_pipeline_tests.helpers import csv_config, place, write_csv
from listings_pipeline_tests.test_console import (  # noqa: F401 - fixtures
    app,
    csrf_of,
    db,
    hidden,
    login,
    make_user,
)

SLUG = "dmo1-csv"


def config_text(**overrides: Any) -> str:
    data = csv_config(SLUG).to_json()
    data.update(overrides)
    return yaml.safe_dump(data, sort_keys=False)


def run_job(engine: Engine, config_dir: Path, path: Path) -> int:
    config = load_config(config_dir / f"{SLUG}.yaml")
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    pipeline.transform_stage(engine, job_id, config)
    return job_id


@pytest.fixture
def story(db: Engine, config_dir: Path, tmp_path: Path) -> dict[str, Any]:  # noqa: F811
    """Job 1 imported and promoted places 1-5; someone edited place 3's description by hand;
    job 2 (waiting for review) renames place 1, rewrites 3, drops 4, repeats 5, adds 6 and
    brings 7 without a name."""
    (config_dir / f"{SLUG}.yaml").write_text(config_text())
    config = load_config(config_dir / f"{SLUG}.yaml")
    job1 = run_job(db, config_dir, write_csv(tmp_path / "1.csv", [place(i) for i in range(1, 6)]))
    pipeline.promote_stage(db, job1, config, promoted_by="test")
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE public.listing_info SET description = 'Edited by hand.'"
                " WHERE description = 'Description of place 3.'"
            )
        )
    rows = [
        place(1, Name="Place One Renamed", Description="Fresh words."),
        place(2),
        place(3, Description="Import words for 3."),
        place(5),
        place(5, Name="Five again"),
        place(6),
        place(7, Name=""),
    ]
    job2 = run_job(db, config_dir, write_csv(tmp_path / "2.csv", rows))
    with db.connect() as conn:
        ids = dict(
            conn.execute(
                text(
                    "SELECT CASE WHEN duplicate_of IS NULL THEN source_id ELSE 'P5dup' END, id"
                    " FROM stage.listings_flat WHERE job_id = :j"
                ),
                {"j": job2},
            ).all()
        )
        listings = dict(conn.execute(text("SELECT name, id FROM public.listings")).all())
    return {"job1": job1, "job2": job2, "rows": ids, "listings": listings}


def text_of(html: str) -> str:
    """The page's main text, tags dropped, whitespace collapsed (what a reader sees)."""
    main = html[html.index("<main>") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&#34;", '"')


def tab_counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="tab-(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', html))


def row_state(engine: Engine, row_id: int) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT review_status, reviewed_by, ok_to_promote, force_overwrite,"
                    " listing_action FROM stage.listings_flat WHERE id = :id"
                ),
                {"id": row_id},
            ).one()
        )


# --- review pages ----------------------------------------------------------------------------


def test_review_tabs_show_each_kind_and_the_update_diff_against_production(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    story: dict[str, Any],
) -> None:
    make_user(db, "vic", "pipeline_viewer")
    client = login(app, "vic")
    job = story["job2"]
    url = f"/pipeline/jobs/{job}/review"

    first = client.get(url)
    assert first.status_code == 200
    assert tab_counts(first.text) == {
        "new": "1",
        "updates": "2",
        "matches": "0",
        "duplicates": "1",
        "deletions": "1",
        "errors": "1",
    }
    assert 'id="tab-duplicates" aria-current="page"' in first.text  # first tab needing a person
    assert "3 rows wait for a person" in text_of(first.text)
    assert "deciding needs the permission pipeline:review" in first.text
    assert 'name="row_id"' not in first.text and "Promote</button>" not in first.text

    updates = text_of(client.get(url, params={"tab": "updates"}).text)
    assert "Listing update name Place 1 Place One Renamed" in updates
    assert "description Description of place 1. Fresh words." in updates
    # Place 3's description was edited by hand: promotion keeps it unless overridden.
    assert "description Edited by hand. Edited by hand. kept: edited by hand" in updates
    assert "this import has Import words for 3." in updates
    html = client.get(url, params={"tab": "updates"}).text
    assert '<tr class="changed">' in html and "<del>Place 1</del>" in html
    assert "<ins>Place One Renamed</ins>" in html

    deletions = text_of(client.get(url, params={"tab": "deletions"}).text)
    assert "Place 4" in deletions
    assert "listing_visible yes no" in deletions
    assert "listing_status active missing_from_import" in deletions
    assert "info_visible yes no" in deletions

    duplicates = text_of(client.get(url, params={"tab": "duplicates"}).text)
    assert "Five again" in duplicates and "Duplicate of record 4 ( P5 , Place 5)" in duplicates
    with db.begin() as conn:  # a record the import could not read at all
        conn.execute(
            text(
                "INSERT INTO pipeline.job_errors (dmo_id, job_id, job_stages_id, record_id,"
                " error_type, error_message) SELECT 1, :j, id, 'line 9', 'parse', 'bad quote'"
                " FROM pipeline.job_stages WHERE job_id = :j AND name = 'import'"
            ),
            {"j": job},
        )
    errors = text_of(client.get(url, params={"tab": "errors"}).text)
    assert "listings.name: required but empty" in errors
    assert "Besides these rows, 1 record was set aside by the import or transform" in errors
    new = text_of(client.get(url, params={"tab": "new"}).text)
    assert "Place 6" in new and "Place 1" not in new

    searched = text_of(client.get(url, params={"tab": "updates", "q": "one ren"}).text)
    assert "Place One Renamed" in searched and "Place 3" not in searched
    by_source = text_of(client.get(url, params={"tab": "updates", "q": "P3"}).text)
    assert "Place 3" in by_source and "Place One" not in by_source
    assert client.get(url, params={"tab": "nope"}).status_code == 400
    assert client.get(url, params={"status": "maybe"}).status_code == 400

    listed = client.get("/pipeline/review")
    assert f'href="/pipeline/jobs/{job}/review"' in listed.text
    assert re.search(r'<td class="num">3</td>', listed.text)  # rows waiting
    assert 'href="/pipeline/review"' in listed.text  # in the sidebar


def test_suggested_match_shows_both_records_and_the_score(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    story: dict[str, Any],
) -> None:
    listing = story["listings"]["Place 2"]
    with db.begin() as conn:  # a suggestion as fuzzy matching leaves it for a person
        conn.execute(
            text(
                "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id, listing_name,"
                " loc_address1, loc_city, match_method, match_score, match_candidate_id,"
                " change_kind, review_status, review_reason) VALUES (:j, 99, 1, 'P2b',"
                " 'Place Two', '2 Water St', 'Halifax', 'suggested', 0.8123, :l,"
                " 'uncertain_match', 'pending', 'uncertain_match')"
            ),
            {"j": story["job2"], "l": listing},
        )
    make_user(db, "una", "pipeline_reviewer")
    client = login(app, "una")
    html = client.get(f"/pipeline/jobs/{story['job2']}/review", params={"tab": "matches"}).text
    page = text_of(html)
    assert "Suggested match, score 0.81" in page
    assert f'Suggested listing <a href="/pipeline/listings/{listing}">#{listing}</a>' in html
    assert "name Place 2 Place Two" in page
    assert "address1 2 Water Street 2 Water St" in page
    assert "Approve all 1 undecided uncertain_match" in page


def test_decisions_by_row_and_kind_and_a_stale_page_reports_what_others_decided(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    story: dict[str, Any],
) -> None:
    make_user(db, "ann", "pipeline_reviewer")
    make_user(db, "bob", "pipeline_reviewer")
    ann, bob = login(app, "ann"), login(app, "bob")
    job, rows = story["job2"], story["rows"]
    url = f"/pipeline/jobs/{job}/review"

    page = ann.get(url, params={"tab": "deletions"}).text
    assert hidden(page, f"seen_{rows['P4']}") == "open"
    form = {
        "csrf_token": csrf_of(ann),
        "tab": "deletions",
        "row_id": [str(rows["P4"])],
        f"seen_{rows['P4']}": "open",
    }
    # Bob decides the deletion first, from his own page.
    bob_page = bob.get(url, params={"tab": "deletions"}).text
    done = bob.post(
        url,
        data={
            "csrf_token": hidden(bob_page, "csrf_token"),
            "tab": "deletions",
            "action": "reject",
            "row_id": [str(rows["P4"])],
            f"seen_{rows['P4']}": "open",
            "note": "still open in summer",
        },
    )
    assert done.status_code == 303
    assert "Rejected 1 row." in text_of(bob.get(done.headers["location"]).text)
    # Ann's page is stale: her approval leaves Bob's decision alone and says so.
    stale = ann.post(url, data={**form, "action": "approve"})
    assert stale.status_code == 303 and "stale=1" in stale.headers["location"]
    shown = text_of(ann.get(stale.headers["location"]).text)
    assert "Approved 0 rows." in shown
    assert "1 row was already decided by someone else" in shown
    assert f"#{rows['P4']} rejected by bob" in shown
    assert row_state(db, rows["P4"])[:3] == ("rejected", "bob", False)

    # All of a kind: the page said 1 undecided duplicate; Ann approves it.
    kind = ann.post(
        url,
        data={
            "csrf_token": csrf_of(ann),
            "tab": "duplicates",
            "action": "approve_kind",
            "kind": "duplicate",
            "expected": "1",
        },
    )
    assert kind.status_code == 303 and "n=1" in kind.headers["location"]
    assert row_state(db, rows["P5dup"])[:3] == ("approved", "ann", True)
    again = ann.post(
        url,
        data={
            "csrf_token": csrf_of(ann),
            "tab": "duplicates",
            "action": "reject_kind",
            "kind": "duplicate",
            "expected": "1",
        },
    )
    assert "1 row was already decided" in text_of(ann.get(again.headers["location"]).text)
    assert row_state(db, rows["P5dup"])[0] == "approved"

    # Overrides: skip turns a change into nothing; force_overwrite replaces manual edits.
    for row, override in ((rows["P1"], "skip"), (rows["P3"], "force_overwrite")):
        response = ann.post(
            url,
            data={
                "csrf_token": csrf_of(ann),
                "tab": "updates",
                "action": "approve",
                "override": override,
                "row_id": [str(row)],
                f"seen_{row}": "open",
            },
        )
        assert response.status_code == 303
    assert row_state(db, rows["P1"]) == ("approved", "ann", True, False, "skip")
    assert row_state(db, rows["P3"])[:4] == ("approved", "ann", True, True)
    forced = text_of(ann.get(url, params={"tab": "updates"}).text)
    assert "description Edited by hand. Import words for 3." in forced  # no longer kept

    nothing = ann.post(url, data={"csrf_token": csrf_of(ann), "tab": "new", "action": "approve"})
    assert nothing.status_code == 400 and "Select at least one row" in nothing.text
    foreign = ann.post(
        url,
        data={"csrf_token": csrf_of(ann), "action": "approve", "row_id": "999999"},
    )
    assert foreign.status_code == 409 and "do not belong to job" in foreign.text


def test_promote_is_refused_while_rows_wait_then_runs_in_the_background(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    story: dict[str, Any],
) -> None:
    make_user(db, "pia", "pipeline_reviewer")
    client = login(app, "pia")
    job = story["job2"]

    refused = client.post(f"/pipeline/jobs/{job}/promote", data={"csrf_token": csrf_of(client)})
    assert refused.status_code == 409
    assert (
        "Not promoted. Review gate: job 2: 3 rows wait for review"
        " (1 delete, 1 duplicate, 1 error)" in text_of(refused.text)
    )
    assert app.state.launcher.last(SLUG) is None
    assert count(db, "public.listings") == 5
    with db.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM public.listings")).scalars())
    assert "Place One Renamed" not in names

    url = f"/pipeline/jobs/{job}/review"
    for kind, action in (("delete", "approve_kind"), ("duplicate", "reject_kind")):
        client.post(url, data={"csrf_token": csrf_of(client), "action": action, "kind": kind})
    client.post(url, data={"csrf_token": csrf_of(client), "action": "reject_kind", "kind": "error"})
    job_page = client.get(f"/pipeline/jobs/{job}")
    assert "The review gate is open" in job_page.text

    started = client.post(f"/pipeline/jobs/{job}/promote", data={"csrf_token": csrf_of(client)})
    assert started.status_code == 303
    assert started.headers["location"] == f"/pipeline/jobs/{job}#promotion"
    task = app.state.launcher.wait(SLUG, 600)
    assert task is not None and task.success, (task.failures, task.error)
    done = client.get(f"/pipeline/jobs/{job}")
    page = text_of(done.text)
    assert "Promoted: 8 of 8 rows" in page
    assert "Promotion started by pia" in page and "succeeded" in page
    assert 'http-equiv="refresh"' not in done.text  # nothing left to follow

    with db.connect() as conn:
        listings = dict(
            conn.execute(text("SELECT name, listing_visible FROM public.listings")).all()
        )
    assert listings["Place One Renamed"] is True and listings["Place 4"] is False
    assert "Place 6" in listings
    with get_instance() as instance:
        run = instance.get_run_by_id(task.run_id)
    assert run is not None and run.job_name == "promote_listings"
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/partition"] == SLUG

    again = client.post(f"/pipeline/jobs/{job}/promote", data={"csrf_token": csrf_of(client)})
    assert again.status_code == 409 and "was already promoted" in again.text


# --- run now ---------------------------------------------------------------------------------


def test_run_now_checks_the_upload_and_runs_the_file(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (config_dir / f"{SLUG}.yaml").write_text(config_text())
    (config_dir / "dmo1-api.yaml").write_text(
        config_text(slug="dmo1-api", source_type="api", source_url="http://127.0.0.1:9/x")
    )
    make_user(db, "ada", "super_admin")
    client = login(app, "ada")
    url = f"/pipeline/configs/{SLUG}/run"
    page = client.get(f"/pipeline/configs/{SLUG}").text
    assert 'type="file" name="input_file"' in page and 'accept=".csv,.txt,.tsv"' in page

    def post(name: str, body: bytes, target: str = url) -> Any:
        return client.post(
            target,
            data={"csrf_token": csrf_of(client)},
            files={"input_file": (name, body, "application/octet-stream")},
        )

    good = write_csv(config_dir.parent / "in.csv", [place(1), place(2)]).read_bytes()
    for name, body, message in (
        ("listings.exe", good, "the file name must end with .csv or .txt or .tsv"),
        ("empty.csv", b"", "empty.csv is empty."),
        ("", good, "choose a file to upload"),
    ):
        response = post(name, body)
        assert response.status_code == 400, (name, response.status_code)
        assert message in text_of(response.text), (name, text_of(response.text))
    api_page = client.get("/pipeline/configs/dmo1-api").text
    assert 'id="run-now"' in api_page and 'type="file"' not in api_page  # nothing to upload
    wrong_source = post("x.csv", good, "/pipeline/configs/dmo1-api/run")
    assert wrong_source.status_code == 400 and "it takes no uploaded file" in wrong_source.text
    monkeypatch.setattr(launcher, "MAX_UPLOAD_BYTES", 100)
    too_big = post("big.csv", good)  # counted while saving
    assert too_big.status_code == 400
    assert "big.csv is larger than the upload limit (100 bytes)" in too_big.text
    huge = post("huge.csv", good * 400)  # refused from its Content-Length, before reading it
    assert huge.status_code == 413 and "Uploads are limited to 100 bytes" in huge.text
    monkeypatch.setattr(launcher, "MAX_UPLOAD_BYTES", len(good) + 10_000)
    assert count(db, "pipeline.jobs") == 0
    assert list((Path(launcher.get_settings().home) / "uploads").glob("*")) == []

    started = post("partner feed.csv", good)
    assert started.status_code == 303 and started.headers["location"].endswith("#run")
    task = app.state.launcher.wait(SLUG, 600)
    assert task is not None and task.success, (task.failures, task.error)
    shown = text_of(client.get(f"/pipeline/configs/{SLUG}").text)
    assert "Run of partner_feed.csv started by ada" in shown
    assert f"done · job #{task.job_id}" in shown
    with db.connect() as conn:
        job = conn.execute(
            text("SELECT status, triggered_by, records_total FROM pipeline.jobs WHERE id = :j"),
            {"j": task.job_id},
        ).one()
    assert tuple(job) == ("completed", "console:ada", 2)
    assert count(db, "public.listings") == 2
    # The run was submitted to the Dagster instance (queued, then launched as a process of its
    # own by the run launcher), not executed inside the console's web process.
    with get_instance() as instance:
        run = instance.get_run_by_id(task.run_id)
        assert run is not None and run.tags["dagster/partition"] == SLUG
        events = [
            r.event_log_entry.dagster_event.event_type_value
            for r in instance.get_records_for_run(task.run_id).records
            if r.event_log_entry.dagster_event is not None
        ]
        pids = {
            r.event_log_entry.dagster_event.pid
            for r in instance.get_records_for_run(task.run_id).records
            if r.event_log_entry.dagster_event is not None
        } - {None}
    assert events.index("PIPELINE_ENQUEUED") < events.index("PIPELINE_STARTING")
    assert pids and os.getpid() not in pids  # the steps ran in another process
    # The upload is gone once imported; the raw store keeps the imported copy.
    assert list((Path(launcher.get_settings().home) / "uploads").glob("*/*")) == []


# --- config save while work of the old version is unfinished ---------------------------------


def queue_run(slug: str) -> dg.DagsterRun:
    """A run of the partition waiting in the run queue, as the UI or a schedule leaves it."""
    # Queued runs must name their code location; Dagster has no public helper for tests.
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from listings_pipeline.definitions import defs

    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(
                LoadableTargetOrigin(module_name="listings_pipeline.definitions")
            ),
            repository_name="__repository__",
        ),
        job_name="listings_pipeline",
    )
    with get_instance() as instance:
        return instance.create_run_for_job(
            job_def=defs.resolve_job_def("listings_pipeline"),
            tags={"dagster/partition": slug},
            status=dg.DagsterRunStatus.QUEUED,
            remote_job_origin=origin,
        )


def test_config_save_offers_to_keep_or_cancel_unfinished_jobs_and_queued_runs(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    story: dict[str, Any],
    config_dir: Path,
) -> None:
    queued = queue_run(SLUG)
    make_user(db, "eli", "super_admin")
    client = login(app, "eli")
    path = config_dir / f"{SLUG}.yaml"
    before = path.read_text()
    edit = client.get(f"/pipeline/configs/{SLUG}/edit").text
    changed = config_text(schedule="0 4 * * *")
    form = {
        "csrf_token": csrf_of(client),
        "yaml_text": changed,
        "base_sha256": hidden(edit, "base_sha256"),
    }

    ask = client.post(f"/pipeline/configs/{SLUG}/edit", data=form)
    assert ask.status_code == 200 and 'id="confirm"' in ask.text
    shown = text_of(ask.text)
    assert "Nothing is saved yet." in shown
    assert f"#{story['job2']} review" in shown and queued.run_id in shown
    assert path.read_text() == before
    back = client.post(f"/pipeline/configs/{SLUG}/edit", data={**form, "on_active": "back"})
    assert back.status_code == 200 and "0 4 * * *" in back.text and path.read_text() == before

    keep = client.post(
        f"/pipeline/configs/{SLUG}/edit",
        data={
            **form,
            "on_active": "keep",
            "seen_jobs": hidden(ask.text, "seen_jobs"),
            "seen_runs": hidden(ask.text, "seen_runs"),
        },
    )
    assert keep.status_code == 303 and load_config(path).schedule == "0 4 * * *"
    with get_instance() as instance:
        assert instance.get_run_by_id(queued.run_id).status == dg.DagsterRunStatus.QUEUED
    with db.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM pipeline.jobs WHERE id = :j"), {"j": story["job2"]}
        ).scalar_one()
    assert status == "review"

    edit = client.get(f"/pipeline/configs/{SLUG}/edit").text
    form.update(
        yaml_text=config_text(schedule="0 5 * * *"), base_sha256=hidden(edit, "base_sha256")
    )
    ask = client.post(f"/pipeline/configs/{SLUG}/edit", data=form)
    cancel = client.post(
        f"/pipeline/configs/{SLUG}/edit",
        data={
            **form,
            "on_active": "cancel",
            "seen_jobs": hidden(ask.text, "seen_jobs"),
            "seen_runs": hidden(ask.text, "seen_runs"),
        },
    )
    assert cancel.status_code == 303
    assert load_config(path).schedule == "0 5 * * *"
    page = text_of(client.get(cancel.headers["location"]).text)
    assert f"Saved. Cancelled job #{story['job2']} . Cancelled 1 queued Dagster run." in page
    with get_instance() as instance:
        assert instance.get_run_by_id(queued.run_id).status == dg.DagsterRunStatus.CANCELED
    with db.connect() as conn:
        job = conn.execute(
            text("SELECT status, error_message FROM pipeline.jobs WHERE id = :j"),
            {"j": story["job2"]},
        ).one()
    assert tuple(job) == ("cancelled", f"cancelled by eli: config {SLUG} changed")

    # A cancelled job takes no decisions and is not promoted.
    review = f"/pipeline/jobs/{story['job2']}/review"
    decided = client.post(
        review, data={"csrf_token": csrf_of(client), "action": "approve_kind", "kind": "delete"}
    )
    assert decided.status_code == 409 and "is cancelled" in decided.text
    promote = client.post(
        f"/pipeline/jobs/{story['job2']}/promote", data={"csrf_token": csrf_of(client)}
    )
    assert promote.status_code == 409 and "is cancelled" in promote.text
    # With nothing unfinished, a save needs no question.
    edit = client.get(f"/pipeline/configs/{SLUG}/edit").text
    form.update(yaml_text=config_text(), base_sha256=hidden(edit, "base_sha256"))
    assert client.post(f"/pipeline/configs/{SLUG}/edit", data=form).status_code == 303


# --- paging a large tab ----------------------------------------------------------------------


def test_a_tab_pages_by_row_id_both_ways(app: Any, db: Engine) -> None:  # noqa: F811
    with db.begin() as conn:
        conn.execute(text("INSERT INTO public.dmos (id, name) VALUES (1, 'D')"))
        job = conn.execute(
            text(
                "INSERT INTO pipeline.jobs (dmo_id, slug, current_stage, status)"
                " VALUES (1, 'big', 'review', 'review') RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id, listing_name,"
                " listing_action, change_kind, review_status)"
                " SELECT :j, i, 1, 'S' || i, 'Listing ' || i,"
                "  CASE WHEN i % 2 = 0 THEN 'insert' ELSE 'skip' END,"
                "  CASE WHEN i % 2 = 0 THEN 'insert' ELSE 'skip' END, 'auto_approved'"
                " FROM generate_series(1, 240) i"
            ),
            {"j": job},
        )
    make_user(db, "pat", "pipeline_viewer")
    client = login(app, "pat")
    url = f"/pipeline/jobs/{job}/review"

    def names(html: str) -> list[int]:
        return [int(n) for n in re.findall(r"<strong>Listing (\d+)</strong>", html)]

    first = client.get(url, params={"tab": "new"}).text
    assert names(first) == list(range(2, 101, 2)) and 'rel="prev"' not in first
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following
    second = client.get(following.group(1).replace("&amp;", "&")).text
    assert names(second) == list(range(102, 201, 2))
    third = client.get(
        re.search(r'href="([^"]+)" rel="next"', second).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    ).text
    assert names(third) == list(range(202, 241, 2)) and 'rel="next"' not in third
    back = re.search(r'href="([^"]+)" rel="prev"', third)
    assert back
    assert names(client.get(back.group(1).replace("&amp;", "&")).text) == names(second)
    assert tab_counts(first)["new"] == "120"


# --- JSON API ----------------------------------------------------------------------------------


def test_api_review_summary_rows_decisions_and_promotion(
    app: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    story: dict[str, Any],
) -> None:
    make_user(db, "api", "pipeline_reviewer")
    bearer = {"Authorization": f"Bearer {create_api_token(db, 'api', 'script')}"}
    client = TestClient(app, headers=bearer)
    job, rows = story["job2"], story["rows"]
    base = f"/api/v1/pipeline/jobs/{job}"

    summary = client.get(f"{base}/review").json()
    assert summary["tabs"]["updates"]["total"] == 2
    assert summary["waiting"] == {"delete": 1, "duplicate": 1, "error": 1}
    assert summary["promotion"]["state"] == "waiting_for_review"
    assert not summary["gate_passed"]

    updates = client.get(f"{base}/review/rows", params={"tab": "updates", "limit": 1}).json()
    assert [r["source_id"] for r in updates["items"]] == ["P1"]
    changed = {
        (f["entity"], f["field"]): (f["before"], f["after"])
        for f in updates["items"][0]["fields"]
        if f["changed"]
    }
    assert changed == {
        ("listing", "name"): ("Place 1", "Place One Renamed"),
        ("listing_info", "description"): ("Description of place 1.", "Fresh words."),
    }
    more = client.get(
        f"{base}/review/rows", params={"tab": "updates", "after": updates["next_after"]}
    ).json()
    assert [r["source_id"] for r in more["items"]] == ["P3"] and more["next_after"] is None
    lat = next(f for f in more["items"][0]["fields"] if f["field"] == "lat")
    assert lat["before"] == lat["after"] == 44.6003  # numbers stay numbers
    kept = [f for f in more["items"][0]["fields"] if f["kept"]]
    assert [(f["field"], f["before"]) for f in kept] == [("description", "Edited by hand.")]

    refused = client.post(f"{base}/promotion")
    assert refused.status_code == 409 and "3 rows wait for review" in refused.json()["detail"]

    bad = client.post(f"{base}/review/decisions", json={"decision": "approve"})
    assert bad.status_code == 422
    assert "give exactly one of row_ids, kind or all_rows" in bad.json()["detail"][0]["msg"]
    first = client.post(
        f"{base}/review/decisions",
        json={"decision": "approve", "row_ids": [rows["P4"]], "note": "gone for good"},
    ).json()
    assert first["decided"] == [rows["P4"]] and first["already_decided"] == 0
    stale = client.post(
        f"{base}/review/decisions",
        json={"decision": "reject", "row_ids": [rows["P4"]], "seen": {str(rows["P4"]): "open"}},
    ).json()
    assert stale["decided"] == [] and stale["already_decided"] == 1
    assert stale["already_decided_rows"][0]["reviewed_by"] == "api"
    duplicate = client.post(
        f"{base}/review/decisions", json={"decision": "reject", "kind": "duplicate"}
    )
    assert duplicate.json()["decided"] == [rows["P5dup"]]
    rest = client.post(f"{base}/review/decisions", json={"decision": "approve", "all_rows": True})
    assert rest.json()["decided"] == [rows["P7"]]  # the only row still waiting
    with db.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM stage.listings_flat WHERE job_id = :j AND review_status ="
                " 'pending'"
            ),
            {"j": job},
        ).scalar_one()
    assert waiting == 0

    started = client.post(f"{base}/promotion")
    assert started.status_code == 202 and started.json()["started_by"] == "api"
    app.state.launcher.wait(SLUG, 120)
    promotion = client.get(f"{base}/promotion").json()
    assert promotion["state"] == "completed" and promotion["run_succeeded"] is True
    assert promotion["progress"]["done"] == promotion["progress"]["total"] == 8

    viewer = make_user(db, "vera", "pipeline_viewer")
    as_viewer = TestClient(
        app, headers={"Authorization": f"Bearer {create_api_token(db, viewer, 'x')}"}
    )
    assert (
        as_viewer.post(
            f"{base}/review/decisions", json={"decision": "approve", "all_rows": True}
        ).status_code
        == 403
    )

    schema = TestClient(app, headers=bearer).get("/openapi.json").json()
    for path in ("/review", "/review/rows", "/review/decisions", "/promotion"):
        assert f"/api/v1/pipeline/jobs/{{job_id}}{path}" in schema["paths"], path
    post = schema["paths"]["/api/v1/pipeline/jobs/{job_id}/review/decisions"]["post"]
    assert "Requires: `pipeline:review`" in post["description"]


def test_cli_has_console_and_users_commands(db: Engine) -> None:  # noqa: F811
    runner = CliRunner()
    help_text = runner.invoke(cli_main, ["console", "--help"]).output
    assert "--host" in help_text and "--port" in help_text and "127.0.0.1" in help_text
    added = runner.invoke(
        cli_main,
        ["users", "add", "zoe", "--password-stdin", "--role", "pipeline_reviewer"],
        input="correct horse battery\n",
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli_main, ["users", "list"])
    assert "zoe\tactive\tpipeline_reviewer" in listed.output
