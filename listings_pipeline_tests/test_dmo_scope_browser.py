"""A DMO-scoped reviewer in a real browser (headless Chromium against the console on
127.0.0.1): the review queue and the jobs list show their DMO's jobs only, they decide their
DMO's rows, and another DMO's review page does not exist for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from listings_pipeline.console import add_user, grant_role
from listings_pipeline_tests.test_console import PASSWORD, db, seed  # noqa: F401 - fixture
from listings_pipeline_tests.test_console_browser import SHOTS, browser, console  # noqa: F401


def test_dmo_scoped_reviewer_sees_and_decides_only_their_dmos_jobs(
    console: tuple[str, Any],  # noqa: F811
    browser: Any,  # noqa: F811
    db: Engine,  # noqa: F811
    config_dir: Path,
) -> None:
    from playwright.sync_api import expect

    base, _app = console
    theirs = seed(db)["job_id"]  # DMO 1's job: a new row and a deletion wait for a person
    with db.begin() as conn:
        mine = conn.execute(
            text(
                "INSERT INTO pipeline.jobs (dmo_id, slug, current_stage, status, records_total)"
                " VALUES (2, 'coast-feed', 'review', 'review', 1) RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO stage.listings_flat (job_id, rec_num, dmo_id, source_id,"
                " listing_name, loc_city, listing_action, listing_info_action, change_kind,"
                " review_status) VALUES"
                " (:j, 1, 2, 'C-1', 'Dune Shack', 'Shelbyville', 'insert', 'insert', 'insert',"
                "  'pending')"
            ),
            {"j": mine},
        )
    add_user(db, "cora", PASSWORD)
    grant_role(db, "cora", "pipeline_reviewer", 2)  # reviewer for DMO 2 (Coast) only

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login")
    page.fill("#username", "cora")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/pipeline/jobs")

    # The jobs list and the review queue: Coast's job, not DMO 1's.
    jobs = page.locator("main table")
    expect(jobs).to_contain_text("coast-feed")
    expect(jobs).not_to_contain_text("demo-csv")
    page.goto(f"{base}/pipeline/review")
    queue = page.locator("main")
    expect(queue).to_contain_text("coast-feed")
    expect(queue).not_to_contain_text("demo-csv")
    expect(page.locator(f"a[href='/pipeline/jobs/{theirs}/review']")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "dmo_scope_01_review_queue.png"), full_page=True)

    # Decide their own job's row.
    page.click(f"a[href='/pipeline/jobs/{mine}/review']")
    expect(page.locator("h1")).to_contain_text(f"Review job #{mine}")
    row = page.locator("article.review-row").first
    expect(row).to_contain_text("Dune Shack")
    page.check("#select-all")
    page.click("#approve-selected")
    expect(page.locator("#notice")).to_contain_text("Approved 1 row.")
    expect(page.locator("article.review-row").first).to_contain_text("by cora")
    page.screenshot(path=str(SHOTS / "dmo_scope_02_decided.png"), full_page=True)

    # Another DMO's review page, typed in by hand, does not exist for them.
    response = page.goto(f"{base}/pipeline/jobs/{theirs}/review")
    assert response is not None and response.status == 404
    expect(page.locator("body")).not_to_contain_text("Hilltop Camp")

    with db.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT listing_name, review_status || '/' || coalesce(reviewed_by, '')"
                    " FROM stage.listings_flat"
                )
            ).all()
        )
    assert rows["Dune Shack"] == "approved/cora"
    assert rows["Hilltop Camp"] == "pending/" and rows["Old Mill"] == "pending/"
