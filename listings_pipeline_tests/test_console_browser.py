"""The reviewer's whole story in a real browser: Debian's headless Chromium driven by Playwright
against the console served by uvicorn on 127.0.0.1, with the real database and Dagster
instance. Screenshots of each page go to test-artifacts/screenshots/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from listings_pipeline.console import create_app
from listings_pipeline_tests.helpers import place, write_csv
from listings_pipeline_tests.test_console import PASSWORD, db, make_user  # noqa: F401 - fixture

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
RUN_TIMEOUT_MS = 120_000

CONFIG_YAML = """\
# Halifax partner feed, uploaded by hand
slug: halifax-csv
dmo_id: 1
dmo_name: Discover Halifax
name: Halifax partner CSV
source_type: csv
import:
  source_id:
    field: ID
transform:
  map_fields:
    listings.name: Name
    locations.address1: Address1
    locations.city: City
    listing_info.description: Description
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def console(db: Engine, config_dir: Path) -> Iterator[tuple[str, Any]]:  # noqa: F811
    import uvicorn

    app = create_app(engine_factory=lambda: db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium"
            " (apt-get install -y chromium; .ci/run installs it)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="browser tests need playwright (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def test_reviewer_story_upload_review_approve_promote(
    console: tuple[str, Any],
    browser: Any,
    db: Engine,  # noqa: F811
    config_dir: Path,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    base, app = console
    SHOTS.mkdir(parents=True, exist_ok=True)
    make_user(db, "rita", "super_admin")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(15_000)

    taken: list[Path] = []

    def shot(name: str) -> None:
        taken.append(SHOTS / f"{name}.png")
        page.screenshot(path=str(taken[-1]), full_page=True)

    # Log in (the login page asks first, then returns to where we were going).
    page.goto(f"{base}/pipeline/configs")
    expect(page).to_have_url(f"{base}/login?next=%2Fpipeline%2Fconfigs")
    page.fill("#username", "rita")
    page.fill("#password", PASSWORD)
    shot("01_login")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/pipeline/configs")

    # Create the config from YAML through the page.
    page.click("text=New config")
    page.fill("#yaml_text", CONFIG_YAML)
    shot("02_config_new")
    page.click("button:has-text('Create')")
    expect(page.locator(".notice.ok")).to_contain_text("Saved.")

    # Run it with an uploaded CSV: three new places, promoted straight away.
    first = write_csv(tmp_path / "halifax.csv", [place(1), place(2), place(3)])
    page.set_input_files("#input_file", str(first))
    page.click("#run-now")
    expect(page.locator("#run-status")).to_contain_text("done", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#run-status")).to_contain_text("Run of halifax.csv started by rita")
    shot("03_config_first_run")

    # Run again: place 1 changed, place 3 missing; the deletion waits for a person.
    second = write_csv(
        tmp_path / "halifax-2.csv",
        [place(1, Name="Harbour View Inn", Description="Renovated in 2026."), place(2)],
    )
    page.set_input_files("#input_file", str(second))
    page.click("#run-now")
    status = page.locator("#run-status")
    expect(status).to_contain_text("stopped at the review gate", timeout=RUN_TIMEOUT_MS)
    expect(status).to_contain_text("1 rows wait for review (1 delete)")
    shot("04_config_second_run_at_gate")

    # Edit the config while job 2 waits: the save asks whether to keep or cancel it.
    page.click("a:has-text('Edit')")
    page.fill("#yaml_text", CONFIG_YAML + 'schedule: "0 3 * * *"\n')
    page.click("button:has-text('Save')")
    expect(page.locator("#confirm")).to_contain_text("Nothing is saved yet.")
    expect(page.locator("#confirm")).to_contain_text("#2")
    shot("05_config_save_dialog")
    page.click("#keep")
    expect(page.locator(".notice.ok")).to_have_text("Saved.")
    expect(page.locator("main")).to_contain_text("0 3 * * *")
    assert (config_dir / "halifax-csv.yaml").read_text() == CONFIG_YAML + 'schedule: "0 3 * * *"\n'

    # Review: the update's field-level diff against production, and the deletion.
    page.click("#review-link")
    expect(page.locator("h1")).to_contain_text("Review job #2")
    expect(page.locator("#tab-deletions")).to_have_attribute("aria-current", "page")
    page.click("#tab-updates")
    update = page.locator("article.review-row").first
    expect(update.locator("tr.changed").first).to_contain_text("Place 1")
    expect(update.locator("tr.changed").first.locator("ins")).to_have_text("Harbour View Inn")
    expect(update).to_contain_text("Renovated in 2026.")
    shot("06_review_update_diff")

    page.click("#tab-deletions")
    deletion = page.locator("article.review-row").first
    expect(deletion).to_contain_text("Place 3")
    expect(deletion).to_contain_text("missing_from_import")
    page.check("#select-all")  # the page's script ticks every row that can be decided
    expect(deletion.locator("input.row-select")).to_be_checked()
    shot("07_review_deletion")
    page.click("#approve-selected")
    expect(page.locator("#notice")).to_contain_text("Approved 1 row.")
    expect(page.locator("article.review-row").first).to_contain_text("by rita")
    shot("08_review_approved")

    # Promote, and follow the promotion on the job page until it is done.
    page.click("#promote")
    expect(page).to_have_url(f"{base}/pipeline/jobs/2#promotion")
    expect(page.locator("#promotion-status")).to_contain_text(
        "Promoted: 3 of 3 rows", timeout=RUN_TIMEOUT_MS
    )
    shot("09_job_promoted")

    # The Listings pages show the change and the deleted listing hidden.
    page.click("nav.sidebar >> text=Listings")
    table = page.locator("main table")
    renamed = table.locator("tr", has_text="Harbour View Inn")
    expect(renamed).to_contain_text("yes")
    gone = table.locator("tr", has_text="Place 3")
    expect(gone).to_contain_text("missing_from_import")
    expect(gone.locator("td").nth(6)).to_have_text("no")  # Visible
    expect(table).not_to_contain_text("Place 1")
    shot("10_listings")
    gone.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("Place 3")
    expect(page.locator("main")).to_contain_text("missing_from_import")
    shot("11_listing_hidden")

    with db.connect() as conn:
        rows = dict(conn.execute(text("SELECT name, listing_visible FROM public.listings")).all())
    assert rows == {"Harbour View Inn": True, "Place 2": True, "Place 3": False}
    assert len(taken) == 11 and all(p.stat().st_size > 0 for p in taken)
