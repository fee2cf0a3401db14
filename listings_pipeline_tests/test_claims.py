"""Claims (seed 003): claim / unclaim a listing (CLI, console, JSON API), recorded in the
history with who and when; the page of a DMO's unclaimed listings; and the claimed-record
policy in promotion: unclaimed → source wins, claimed → selective merge, owned → skip,
deleted at the source → flag only."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline.catalogue.claims import ClaimError, claim, unclaim
from listings_pipeline.cli import main
from listings_pipeline.console import add_user, grant_role
from listings_pipeline.console.users import create_api_token
from listings_pipeline.promotion.history import listing_history
from listings_pipeline_tests.helpers import csv_config, fresh_console, place
from listings_pipeline_tests.review_helpers import kinds, listing, run_job

PASSWORD = "correct horse battery"
CHANGED = dict(Name="Renamed by source", Lat="44.7001", Description="Source text.")


def _history(engine: Engine, listing_id: int) -> list[Any]:
    with engine.connect() as conn:
        return [c for c in listing_history(conn, listing_id) if c.target_table == "listings"]


def test_claim_and_unclaim_are_recorded_with_who_when_and_why(
    engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1)])
    lid = listing(engine, "P1")["id"]

    state = claim(engine, lid, by="carol", note="we run its page now")
    assert (state.claimed, state.claimed_by, state.owned, state.changed) == (
        True,
        "carol",
        False,
        True,
    )
    record = listing(engine, "P1")
    assert record["claimed"] and record["claimed_by"] == "carol" and record["claimed_at"]
    assert not record["manually_modified"]  # a claim is not an edit of a field
    last = _history(engine, lid)[-1]
    assert (last.change_type, last.reviewer, last.change_reason) == (
        "claim",
        "carol",
        "we run its page now",
    )
    assert last.changes == {"claimed": {"old": False, "new": True}}

    again = claim(engine, lid, by="carol")  # idempotent: nothing new in the history
    assert not again.changed and len(_history(engine, lid)) == 2
    with pytest.raises(ClaimError, match="claimed by carol since"):
        claim(engine, lid, by="dave")

    back = unclaim(engine, lid, by="dave")
    assert back.changed and not back.claimed and back.claimed_by is None
    last = _history(engine, lid)[-1]
    assert (last.change_type, last.reviewer, last.change_reason) == (
        "unclaim",
        "dave",
        "unclaimed from carol",
    )
    assert not unclaim(engine, lid, by="dave").changed
    with pytest.raises(ClaimError, match="listing 999999 does not exist"):
        claim(engine, 999999, by="carol")


def test_claimed_records_take_only_status_and_coordinates_by_default(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()  # claimed_records: the seed's selective merge, by default
    run_job(engine, config, tmp_path, [place(1), place(2)])
    claim(engine, listing(engine, "P1")["id"], by="carol")
    with engine.begin() as conn:  # a person fixes P2's description: an edit, not a claim
        conn.execute(
            text("UPDATE public.listing_info SET description = 'Fixed by hand' WHERE id = :i"),
            {"i": listing(engine, "P2")["info_id"]},
        )
    run_job(engine, config, tmp_path, [place(1, **CHANGED), place(2, **CHANGED)])

    claimed = listing(engine, "P1")
    assert (claimed["name"], claimed["description"]) == ("Place 1", "Description of place 1.")
    assert float(claimed["lat"]) == pytest.approx(44.7001)  # coordinates follow the source
    edited = listing(engine, "P2")  # not claimed: the source wins, except the edited field
    assert (edited["name"], edited["description"]) == ("Renamed by source", "Fixed by hand")
    assert float(edited["lat"]) == pytest.approx(44.7001)


def test_owned_records_take_nothing_and_deletions_at_the_source_only_flag(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1), place(2), place(3)])
    owned, claimed_id = listing(engine, "P1")["id"], listing(engine, "P2")["id"]
    claim(engine, owned, by="carol", own=True)
    claim(engine, claimed_id, by="carol")
    assert _history(engine, owned)[-1].change_reason == "claimed; the source no longer changes it"

    run_job(engine, config, tmp_path, [place(1, **CHANGED), place(2), place(3)])
    kept = listing(engine, "P1")
    assert (kept["name"], kept["description"]) == ("Place 1", "Description of place 1.")
    assert float(kept["lat"]) == pytest.approx(44.6001)  # not even the coordinates

    gone = run_job(engine, config, tmp_path, [place(4)])  # the source deleted all three
    assert kinds(engine, gone) == {"P1": "delete", "P2": "delete", "P3": "delete", "P4": "insert"}
    for source_id in ("P1", "P2"):  # claimed or owned: flagged, still published
        record = listing(engine, source_id)
        assert record["origin_deleted"] and record["listing_visible"]
        assert record["listing_status"] == "active" and record["info_visible"]
    unclaimed = listing(engine, "P3")  # nobody claimed it: soft deleted
    assert not unclaimed["listing_visible"] and unclaimed["listing_status"] == "missing_from_import"


def test_cli_claims_and_lists_the_unclaimed(engine: Engine, tmp_path: Path) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1), place(2)])
    one, two = listing(engine, "P1")["id"], listing(engine, "P2")["id"]
    runner = CliRunner()

    listed = runner.invoke(main, ["listings", "unclaimed", "--dmo", "1", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.output)["listings"]] == [one, two]

    claimed = runner.invoke(main, ["listings", "claim", str(one), "--by", "carol", "--own"])
    assert claimed.exit_code == 0, claimed.output
    assert f"listing {one} (Place 1): owned: its source changes nothing, by carol" in claimed.output
    refused = runner.invoke(main, ["listings", "claim", str(one), "--by", "dave"])
    assert refused.exit_code == 1 and "claimed by carol" in refused.output

    listed = runner.invoke(main, ["listings", "unclaimed", "--dmo", "1"])
    assert "Place 2" in listed.output and "Place 1" not in listed.output
    listed = runner.invoke(main, ["listings", "unclaimed", "--dmo", "1", "--claimed"])
    assert "Place 1" in listed.output and "Place 2" not in listed.output

    back = runner.invoke(main, ["listings", "unclaim", str(one), "--by", "dave", "--json"])
    assert back.exit_code == 0 and json.loads(back.output)["claimed"] is False


# --- console ---------------------------------------------------------------------------------


@pytest.fixture
def app(engine: Engine, config_dir: Path) -> Any:
    return fresh_console(engine)


def _login(app: Any, engine: Engine, username: str, role: str) -> TestClient:
    add_user(engine, username, PASSWORD)
    grant_role(engine, username, role)
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert token
    form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    assert client.post("/login", data=form).status_code == 303
    return client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', page)
    assert found
    return found.group(1)


def test_console_page_of_unclaimed_listings_claims_them(
    app: Any, engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1), place(2)])
    one, two = listing(engine, "P1")["id"], listing(engine, "P2")["id"]
    rita = _login(app, engine, "rita", "pipeline_reviewer")

    page = rita.get("/pipeline/claims?dmo_id=1")
    assert page.status_code == 200
    assert f'id="claim-{one}"' in page.text and f'id="claim-{two}"' in page.text
    counts = re.search(r'id="claim-counts".*?</table>', page.text, re.S)
    assert counts and re.search(r"DMO 1 \(1\).*?>2<.*?>0<.*?>2<", counts.group(0), re.S)

    done = rita.post(
        f"/pipeline/listings/{one}/claim",
        data={"csrf_token": _csrf(page.text), "back": "/pipeline/claims?dmo_id=1", "note": "ours"},
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/pipeline/claims?dmo_id=1&claim=claimed")
    after = rita.get(done.headers["location"])
    assert f'id="claim-{one}"' not in after.text and f'id="claim-{two}"' in after.text
    assert f"Listing #{one}: claimed" in after.text
    last = _history(engine, one)[-1]
    assert (last.change_type, last.reviewer, last.change_reason) == ("claim", "rita", "ours")

    detail = rita.get(f"/pipeline/listings/{one}")
    assert "by rita since" in detail.text and 'id="unclaim"' in detail.text
    gone = rita.post(
        f"/pipeline/listings/{one}/unclaim",
        data={"csrf_token": _csrf(detail.text), "back": "https://evil.example/"},
    )
    assert gone.headers["location"] == f"/pipeline/listings/{one}?claim=unclaimed"
    assert not listing(engine, "P1")["claimed"]

    viewer = _login(app, engine, "vic", "pipeline_viewer")
    looked = viewer.get("/pipeline/claims?dmo_id=1")
    assert looked.status_code == 200 and f'id="claim-{two}"' not in looked.text  # no button
    refused = viewer.post(
        f"/pipeline/listings/{two}/claim", data={"csrf_token": _csrf(looked.text)}
    )
    assert refused.status_code == 403 and "listings:claim" in refused.text
    assert not listing(engine, "P2")["claimed"]


def test_claims_through_the_json_api(app: Any, engine: Engine, tmp_path: Path) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1)])
    one = listing(engine, "P1")["id"]
    add_user(engine, "bot", PASSWORD)
    grant_role(engine, "bot", "pipeline_reviewer")
    bearer = {"Authorization": f"Bearer {create_api_token(engine, 'bot', 'ci')}"}
    client = TestClient(app)

    put = client.put(f"/api/v1/pipeline/listings/{one}/claim", json={"own": True}, headers=bearer)
    assert put.status_code == 200, put.text
    assert put.json() | {"claimed_at": None} == {
        "listing_id": one,
        "name": "Place 1",
        "claimed": True,
        "claimed_by": "bot",
        "claimed_at": None,
        "owned": True,
        "changed": True,
    }
    detail = client.get(f"/api/v1/pipeline/listings/{one}", headers=bearer).json()
    assert detail["claimed"] and detail["externally_managed"] is False
    assert client.put("/api/v1/pipeline/listings/999999/claim", headers=bearer).status_code == 404
    deleted = client.delete(f"/api/v1/pipeline/listings/{one}/claim", headers=bearer)
    assert deleted.status_code == 200 and deleted.json()["claimed"] is False
    anonymous = client.put(f"/api/v1/pipeline/listings/{one}/claim")
    assert anonymous.status_code == 401
