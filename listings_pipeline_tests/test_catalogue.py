"""The published catalogue (seed 003 "Egress"): the versioned view egress.listings_v1 under
schema.org names, the read-only catalogue API (pages, filters, changes feed, ETags, token
auth, OpenAPI) and the JSON-LD export — on catalogues built by the pipeline itself."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from listings_pipeline.catalogue.claims import claim
from listings_pipeline.cli import main
from listings_pipeline.console import add_user, grant_role
from listings_pipeline.console.users import create_api_token
from listings_pipeline_tests.helpers import csv_config, fresh_console, place
from listings_pipeline_tests.review_helpers import listing, run_job

PASSWORD = "correct horse battery"
# The consumers' contract, in order: changing it breaks them (a new shape is listings_v2).
V1_COLUMNS = [
    ("identifier", "integer"),
    ("type", "text"),
    ("name", "text"),
    ("description", "text"),
    ("address_street_address", "text"),
    ("address_locality", "text"),
    ("address_region", "text"),
    ("address_postal_code", "text"),
    ("address_country", "text"),
    ("contained_in_place", "text"),
    ("latitude", "numeric"),
    ("longitude", "numeric"),
    ("telephone", "text"),
    ("email", "text"),
    ("url", "text"),
    ("same_as", "jsonb"),
    ("image", "ARRAY"),
    ("opening_hours_specification", "jsonb"),
    ("keywords", "ARRAY"),
    ("google_place_id", "text"),
    ("dmo_info", "jsonb"),
    ("date_created", "timestamp with time zone"),
    ("date_modified", "timestamp with time zone"),
]


@pytest.fixture
def app(engine: Engine, config_dir: Path) -> Any:
    return fresh_console(engine)


def _token(engine: Engine, username: str, role: str) -> dict[str, str]:
    add_user(engine, username, PASSWORD)
    grant_role(engine, username, role)
    return {"Authorization": f"Bearer {create_api_token(engine, username, 'test')}"}


@pytest.fixture
def consumer(app: Any, engine: Engine) -> TestClient:
    client = TestClient(app)
    client.headers.update(_token(engine, "website", "catalogue_reader"))
    return client


def _published(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM egress.listings_v1 ORDER BY identifier"))
        return [dict(r) for r in rows.mappings()]


def _walk(client: TestClient, limit: int, **params: Any) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        query = {**params, "limit": limit, **({"after": after} if after else {})}
        page = client.get("/api/v1/catalogue/listings", params=query)
        assert page.status_code == 200, page.text
        seen += [i["identifier"] for i in page.json()["items"]]
        after = page.json()["next_after"]
        if after is None:
            return seen


# --- the view --------------------------------------------------------------------------------


def test_the_view_has_exactly_the_v1_columns(engine: Engine) -> None:
    with engine.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'egress' AND table_name = 'listings_v1'"
                " ORDER BY ordinal_position"
            )
        ).all()
    assert [tuple(c) for c in columns] == V1_COLUMNS


def test_a_listing_under_schema_org_names(engine: Engine, tmp_path: Path) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1, Image2="http://127.0.0.1/img/1b.jpg")])
    other = csv_config(slug="dmo2-csv", dmo_id=2)  # DMO 2 lists the same place
    run_job(engine, other, tmp_path, [place(1, ID="X1", Description="Seen by DMO 2.")])
    [row] = _published(engine)
    assert row["identifier"] == listing(engine, "P1")["id"]
    assert {k: row[k] for k in ("type", "name", "description", "address_street_address")} == {
        "type": "TouristAttraction",  # its attributes include Tours
        "name": "Place 1",
        "description": "Description of place 1.",  # the first DMO's
        "address_street_address": "1 Water Street",
    }
    assert (row["address_locality"], row["address_country"]) == ("Halifax", "CA")
    assert (float(row["latitude"]), float(row["longitude"])) == (44.6001, -63.5701)
    assert (row["email"], row["telephone"]) == ("info1@example.com", "+19025550100")
    assert row["image"] == ["http://127.0.0.1/img/1.jpg", "http://127.0.0.1/img/1b.jpg"]
    assert row["opening_hours_specification"] == [
        {"dayOfWeek": "Monday", "opens": "09:00", "closes": "17:00"}
    ]
    assert row["keywords"] == ["Food", "Tours"]
    assert [(e["publisher"], e["description"]) for e in row["dmo_info"]] == [
        ({"identifier": 1, "name": "DMO 1"}, "Description of place 1."),
        ({"identifier": 2, "name": "DMO 2"}, "Seen by DMO 2."),
    ]
    assert row["date_modified"] >= row["date_created"]


def test_hidden_deleted_and_unpublished_listings_are_left_out(
    engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 6)])
    run_job(engine, config, tmp_path, [place(i) for i in (1, 2, 3, 4)])  # P5 deleted (soft)
    with engine.begin() as conn:
        conn.execute(  # a person hides P2, archives P3 and hides P4's only listing_info
            text(
                "UPDATE public.listings SET listing_visible = (id <> :two),"
                " listing_status = CASE WHEN id = :three THEN 'archived' ELSE listing_status END"
            ),
            {"two": listing(engine, "P2")["id"], "three": listing(engine, "P3")["id"]},
        )
        conn.execute(
            text("UPDATE public.listing_info SET info_visible = false WHERE id = :i"),
            {"i": listing(engine, "P4")["info_id"]},
        )
    assert [r["name"] for r in _published(engine)] == ["Place 1"]


# --- the API ---------------------------------------------------------------------------------


def test_the_catalogue_needs_a_token_with_catalogue_read(
    app: Any, engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1)])
    client = TestClient(app)
    paths = ["/api/v1/catalogue/listings", "/api/v1/catalogue/changes"]
    for path in paths:
        assert client.get(path).status_code == 401
    viewer = _token(engine, "vic", "pipeline_viewer")  # may read the pipeline, not this
    for path in paths:
        refused = client.get(path, headers=viewer)
        assert refused.status_code == 403 and "catalogue:read" in refused.text
    reader = _token(engine, "website", "catalogue_reader")
    for path in paths:
        assert client.get(path, headers=reader).status_code == 200
    assert client.get("/api/v1/pipeline/jobs", headers=reader).status_code == 403
    schema = client.get("/api/v1/catalogue/openapi.json", headers=reader).json()
    assert set(schema["paths"]) == {
        "/api/v1/catalogue/listings",
        "/api/v1/catalogue/listings/{listing_id}",
        "/api/v1/catalogue/changes",
    }
    assert "catalogue:read" in schema["paths"]["/api/v1/catalogue/changes"]["get"]["description"]


def test_pages_are_stable_while_the_catalogue_changes(
    consumer: TestClient, engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 8)])
    ids = [r["identifier"] for r in _published(engine)]
    first = consumer.get("/api/v1/catalogue/listings", params={"limit": 3}).json()
    assert [i["identifier"] for i in first["items"]] == ids[:3]
    assert first["next_after"] == ids[2]

    # Between two pages, a new listing arrives and one already served is hidden.
    run_job(engine, config, tmp_path, [place(i) for i in range(1, 9)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE public.listings SET listing_visible = false WHERE id = :i"),
                     {"i": ids[1]})  # fmt: skip
    rest: list[int] = []
    after = first["next_after"]
    while after is not None:
        page = consumer.get("/api/v1/catalogue/listings", params={"limit": 3, "after": after})
        rest += [i["identifier"] for i in page.json()["items"]]
        after = page.json()["next_after"]
    new = listing(engine, "P8")["id"]
    assert rest == [*ids[3:], new]  # nothing served twice, nothing skipped
    assert _walk(consumer, 2) == [ids[0], *ids[2:], new]


def test_filters_by_dmo_modification_time_and_bbox(
    consumer: TestClient, engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1), place(2), place(3, Lat="45.1", Lng="-62.0")])
    run_job(engine, csv_config(slug="dmo2-csv", dmo_id=2), tmp_path, [place(4, ID="Y4")])
    one, two, three = (listing(engine, f"P{i}")["id"] for i in (1, 2, 3))
    four = listing(engine, "Y4", dmo_id=2)["id"]
    with engine.connect() as conn:
        since = conn.execute(text("SELECT now()")).scalar_one()
    far = place(3, Lat="45.1", Lng="-62.0")
    run_job(engine, config, tmp_path, [place(1), place(2, Name="Renamed"), far])

    assert _walk(consumer, 2, dmo_id=2) == [four]
    assert _walk(consumer, 2, dmo_id=1) == [one, two, three]
    assert _walk(consumer, 2, updated_since=since.isoformat()) == [two]
    assert _walk(consumer, 2, bbox="-64,44.5,-63,44.7") == [one, two, four]
    assert _walk(consumer, 2, bbox="-64,44.5,-63,44.7", dmo_id=1) == [one, two]
    bad = consumer.get("/api/v1/catalogue/listings", params={"bbox": "1,2,3"})
    assert bad.status_code == 422 and "min_lng,min_lat,max_lng,max_lat" in bad.text

    dmo2 = consumer.get(f"/api/v1/catalogue/listings/{four}", params={"dmo_id": 2}).json()
    assert dmo2["description"] == "Description of place 4."
    assert [e["publisher"]["identifier"] for e in dmo2["dmo_info"]] == [2]
    assert (
        consumer.get(f"/api/v1/catalogue/listings/{four}", params={"dmo_id": 1}).status_code == 404
    )


def test_etags_answer_304_until_the_listing_changes(
    consumer: TestClient, engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1)])
    path = f"/api/v1/catalogue/listings/{listing(engine, 'P1')['id']}"
    first = consumer.get(path)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"')
    same = consumer.get(path, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    page = consumer.get("/api/v1/catalogue/listings")
    unchanged = {"If-None-Match": page.headers["etag"]}
    assert consumer.get("/api/v1/catalogue/listings", headers=unchanged).status_code == 304

    run_job(engine, csv_config(), tmp_path, [place(1, Name="New name")])
    changed = consumer.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["name"] == "New name"
    assert changed.headers["etag"] != etag


# --- the changes feed --------------------------------------------------------------------------


def _feed(client: TestClient, cursor: str | None, limit: int = 2) -> tuple[list[dict], str]:
    items: list[dict] = []
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/catalogue/changes", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if not body["items"]:
            return items, body["next_cursor"]
        cursor = body["next_cursor"]


def test_the_changes_feed_resumes_from_its_cursor(
    consumer: TestClient, engine: Engine, tmp_path: Path
) -> None:
    config = csv_config()
    run_job(engine, config, tmp_path, [place(1), place(2)])
    one, two = listing(engine, "P1")["id"], listing(engine, "P2")["id"]
    everything, cursor = _feed(consumer, None)
    assert {(c["identifier"], c["change_type"]) for c in everything} == {
        (one, "create"),
        (two, "create"),
    }
    assert len(everything) == 8  # listing, location, listing_info, contact per listing

    run_job(engine, config, tmp_path, [place(1, Name="Renamed")])  # P2 gone from the source
    claim(engine, one, by="carol")  # claims are not in the feed
    news, cursor = _feed(consumer, cursor)
    assert sorted((c["identifier"], c["change_type"], c["part"]) for c in news) == sorted(
        [(one, "update", "listings"), (two, "delete", "listing_info"), (two, "delete", "listings")]
    )
    renamed = next(c for c in news if c["identifier"] == one)
    assert renamed["fields"] == ["name"] and renamed["in_catalogue"]
    assert not next(c for c in news if c["identifier"] == two)["in_catalogue"]
    assert _feed(consumer, cursor) == ([], cursor)  # nothing new: the same cursor back

    now = consumer.get("/api/v1/catalogue/changes", params={"cursor": "now"}).json()
    assert now["items"] == []  # "now": only what comes next
    run_job(engine, config, tmp_path, [place(1, Name="Renamed"), place(3)])
    three = listing(engine, "P3")["id"]
    from_now, _ = _feed(consumer, now["next_cursor"])
    assert {(c["identifier"], c["change_type"]) for c in from_now} == {(three, "create")}
    assert _feed(consumer, cursor)[0] == from_now
    bad = consumer.get("/api/v1/catalogue/changes", params={"cursor": "nonsense"})
    assert bad.status_code == 400 and "cursor" in bad.text


def test_a_change_committed_late_is_not_skipped(
    consumer: TestClient, engine: Engine, tmp_path: Path
) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1), place(2)])
    one, two = listing(engine, "P1")["id"], listing(engine, "P2")["id"]
    _, cursor = _feed(consumer, None)

    slow = engine.connect()  # a long transaction edits P1 first...
    slow_tx = slow.begin()
    slow.execute(text("UPDATE public.listings SET name = 'Slow edit' WHERE id = :i"), {"i": one})
    with engine.begin() as conn:  # ...another edits P2 and commits before it
        conn.execute(
            text("UPDATE public.listings SET name = 'Quick edit' WHERE id = :i"), {"i": two}
        )
    try:
        held, held_cursor = _feed(consumer, cursor)
        assert held == [] and held_cursor == cursor  # P2's waits until P1's is decided
    finally:
        slow_tx.commit()
        slow.close()
    items, _ = _feed(consumer, cursor)
    assert [c["identifier"] for c in items] == [one, two]  # both, in commit-safe order


# --- the JSON-LD export ------------------------------------------------------------------------


def test_jsonld_export_of_one_dmo(engine: Engine, tmp_path: Path) -> None:
    run_job(engine, csv_config(), tmp_path, [place(1), place(2, Attributes="Food")])
    run_job(engine, csv_config(slug="dmo2-csv", dmo_id=2), tmp_path, [place(3, ID="Z3")])
    result = CliRunner().invoke(main, ["export", "jsonld", "--dmo", "1",
                                       "--base-url", "https://example.org/l"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["@context"] == "https://schema.org"
    nodes = document["@graph"]
    assert [n["name"] for n in nodes] == ["Place 1", "Place 2"]
    first = nodes[0]
    lid = listing(engine, "P1")["id"]
    assert first["@type"] == "TouristAttraction" and nodes[1]["@type"] == "LocalBusiness"
    assert first["@id"] == f"https://example.org/l/{lid}"
    assert first["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "1 Water Street",
        "addressLocality": "Halifax",
        "addressCountry": "CA",
    }
    assert first["geo"] == {"@type": "GeoCoordinates", "latitude": 44.6001, "longitude": -63.5701}
    assert first["openingHoursSpecification"] == [
        {"@type": "OpeningHoursSpecification", "dayOfWeek": "Monday", "opens": "09:00",
         "closes": "17:00"}
    ]  # fmt: skip
    assert first["identifier"][0] == {
        "@type": "PropertyValue",
        "propertyID": "listing_id",
        "value": str(lid),
    }
    assert datetime.fromisoformat(first["dateModified"])
    assert "exported 2 listings" in result.stderr
