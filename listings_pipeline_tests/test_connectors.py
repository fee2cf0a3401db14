"""Every connector against real inputs: files written here, and a real HTTP server on 127.0.0.1
for the API, WordPress and website connectors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.importing.connectors import (
    ImportFailed,
    RecordProblem,
    SourceRecord,
    iter_source,
)
from listings_pipeline_tests.local_http import (
    LocalServer,
    Reply,
    Seen,
    html_reply,
    json_reply,
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")  # the server is on loopback
    with LocalServer() as srv:
        yield srv


FAST_RETRIES = {"backoff_seconds": 0.01, "max_backoff_seconds": 2, "max_retries": 2}


def cfg(source_type: str, **import_: Any) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "slug": "test-source",
            "dmo_id": 7,
            "dmo_name": "Test DMO",
            "name": "Test source",
            "source_type": source_type,
            "import": import_,
            "transform": {"map_fields": {"listings.name": "Name"}},
        }
    )


def run(config: SourceConfig, path: Path | None = None) -> tuple[list[SourceRecord], list]:
    items = list(iter_source(config, path))
    records = [i for i in items if isinstance(i, SourceRecord)]
    problems = [i for i in items if isinstance(i, RecordProblem)]
    assert len(records) + len(problems) == len(items)
    return records, problems


# ---------------------------------------------------------------- CSV


def test_csv_utf8_bom_quoting_and_multiline_fields(tmp_path: Path) -> None:
    path = tmp_path / "listings.csv"
    path.write_bytes(
        "\ufeffName,City,Description\n"
        'Harbour Inn,Charlottetown,"Rooms, views and ""the"" best\nbreakfast"\n'
        "\n"
        "Dune Café,Cavendish,Ice cream\n".encode()
    )
    records, problems = run(cfg("csv"), path)
    assert problems == []
    assert [r.data["Name"] for r in records] == ["Harbour Inn", "Dune Café"]
    assert records[0].data["Description"] == 'Rooms, views and "the" best\nbreakfast'
    assert records[0].locator == "listings.csv line 2"
    assert records[1].locator == "listings.csv line 5"  # after a 2-line record and a blank line


def test_csv_latin1_is_detected_and_can_be_configured(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("Name;City\nCafé Crème;Montréal\n".encode("latin-1"))
    records, _ = run(cfg("csv", delimiter=";"), path)
    assert records[0].data == {"Name": "Café Crème", "City": "Montréal"}
    records, _ = run(cfg("csv", delimiter=";", encoding="latin-1"), path)
    assert records[0].data["City"] == "Montréal"


def test_csv_windows_1252_smart_quotes_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("Name,Note\nBob\u2019s Diner,\u201cbest\u201d fries\n".encode("cp1252"))
    records, _ = run(cfg("csv"), path)
    assert records[0].data == {"Name": "Bob\u2019s Diner", "Note": "\u201cbest\u201d fries"}


def test_csv_utf16_with_bom_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    path.write_bytes("Name\tCity\nÉcole\tQuébec\n".encode("utf-16"))
    records, _ = run(cfg("csv", delimiter="\t"), path)
    assert records[0].data == {"Name": "École", "City": "Québec"}


def test_csv_wrong_configured_encoding_fails_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("Name\nok\nCafé\n".encode("latin-1"))
    with pytest.raises(ImportFailed, match=r"latin.csv: line 3: not valid utf-8"):
        run(cfg("csv", encoding="utf-8"), path)


def test_csv_ragged_and_unparseable_rows_are_problems_and_the_rest_imports(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "Name,City\n"
        "A,One\n"
        "B\n"  # too few
        "C,Three,extra\n"  # too many
        "D,Four,,\n"  # trailing empty cells: a spreadsheet habit, accepted
        'E,"Fi"ve\n'  # text after a closing quote
        "F,Six\n",
        encoding="utf-8",
    )
    records, problems = run(cfg("csv"), path)
    assert [r.data["Name"] for r in records] == ["A", "D", "F"]
    assert records[1].data == {"Name": "D", "City": "Four"}
    assert [(p.locator, p.original) for p in problems[:2]] == [
        ("ragged.csv line 3", ["B"]),
        ("ragged.csv line 4", ["C", "Three", "extra"]),
    ]
    assert "expected 2 fields, found 1" in problems[0].message
    assert problems[2].locator == "ragged.csv line 6"
    assert "cannot parse CSV" in problems[2].message


def test_csv_header_problems_fail_the_import(tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    path.write_text("Name,City,Name\nA,B,C\n")
    with pytest.raises(ImportFailed, match=r"duplicate column names \['Name'\]"):
        run(cfg("csv"), path)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(ImportFailed, match="no header row"):
        run(cfg("csv"), blank)
    with pytest.raises(ImportFailed, match="input file not found"):
        run(cfg("csv"), tmp_path / "missing.csv")


def test_csv_without_header_names_columns(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("A,One\nB,Two\n")
    records, _ = run(cfg("csv", skip_header=False), path)
    assert records[1].data == {"col1": "B", "col2": "Two"}


def test_csv_blank_header_cells_get_positional_names(tmp_path: Path) -> None:
    path = tmp_path / "blankhead.csv"
    path.write_text("Name,,City\nA,x,B\n")
    records, _ = run(cfg("csv"), path)
    assert records[0].data == {"Name": "A", "col2": "x", "City": "B"}


# ---------------------------------------------------------------- JSON, JSON lines


def test_jsonl_invalid_lines_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "listings.jsonl"
    path.write_text(
        '{"Name": "A"}\n{not json}\n\n[1, 2]\n{"Name": "B", "tags": ["x"]}\n',
        encoding="utf-8",
    )
    records, problems = run(cfg("jsonl"), path)
    assert [r.data["Name"] for r in records] == ["A", "B"]
    assert [(p.locator, p.original) for p in problems] == [
        ("listings.jsonl line 2", "{not json}"),
        ("listings.jsonl line 4", [1, 2]),
    ]
    assert problems[0].message.startswith("not valid JSON")
    assert problems[1].message == "record is not a JSON object"


def test_json_array_and_records_path(tmp_path: Path) -> None:
    top = tmp_path / "top.json"
    top.write_text(json.dumps([{"Name": "A", "lat": 46.25}, "oops", {"Name": "B"}]))
    records, problems = run(cfg("json"), top)
    assert [r.data for r in records] == [{"Name": "A", "lat": 46.25}, {"Name": "B"}]
    assert isinstance(records[0].data["lat"], float)  # not Decimal: raw files are plain JSON
    assert problems[0].locator == "top.json record 2"

    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"meta": {"n": 1}, "data": {"items": [{"Name": "C"}]}}))
    records, _ = run(cfg("json", records_path="data.items"), nested)
    assert [r.data for r in records] == [{"Name": "C"}]

    with pytest.raises(ImportFailed, match="records_path 'data.rows' not found"):
        run(cfg("json", records_path="data.rows"), nested)
    with pytest.raises(ImportFailed, match="found an object .set import.records_path"):
        run(cfg("json"), nested)


def test_json_cut_short_keeps_its_complete_records_and_broken_envelope_fails(
    tmp_path: Path,
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"Name": "A"}, {"Name": ')
    records, problems = run(cfg("json"), path)
    assert [r.data for r in records] == [{"Name": "A"}]
    assert [p.locator for p in problems] == ["broken.json record 2"]
    assert "ends inside this record (was it cut short?)" in problems[0].message
    envelope = tmp_path / "envelope.json"
    envelope.write_text('{"meta": 1 "data": [{"Name": "A"}]}')
    with pytest.raises(ImportFailed, match="envelope.json: not valid JSON at line 1: expected"):
        run(cfg("json", records_path="data"), envelope)


def test_json_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes('[{"Name": "Café"}]'.encode("latin-1"))
    records, _ = run(cfg("json"), path)
    assert records[0].data == {"Name": "Café"}


def test_json_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    description = "x" * 1000
    with path.open("w") as fh:
        fh.write('{"data": [')
        fh.write(",".join(json.dumps({"Name": f"L{i}", "d": description}) for i in range(8000)))
        fh.write("]}")
    assert path.stat().st_size > 8_000_000
    config = cfg("json", records_path="data")
    iter_source(config, path)  # imports the connector modules before measuring
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_source(config, path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8000
    assert peak < 2_000_000  # json.load would hold the whole 8 MB file and its objects


# ---------------------------------------------------------------- Excel


def _workbook(path: Path) -> None:
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["this sheet is not the data"])
    sheet = wb.create_sheet("Listings")
    sheet.append([])  # a blank row above the header
    sheet.append(["Name", "City", "Opened", "Rooms", None])
    sheet.append(["Harbour Inn ", "Charlottetown", dt.date(2020, 5, 1), 12])
    sheet.append([None, None, None, None])
    sheet.append(["Dune Café", "Cavendish", dt.datetime(2021, 6, 1, 9, 30), 3.5])
    sheet.append(["Stray", "Nowhere", None, 1, "value without header"])
    wb.save(path)


def test_xlsx_named_sheet_streams_rows(tmp_path: Path) -> None:
    path = tmp_path / "listings.xlsx"
    _workbook(path)
    records, problems = run(cfg("xlsx", sheet="Listings"), path)
    assert [r.data for r in records] == [
        {
            "Name": "Harbour Inn",
            "City": "Charlottetown",
            "Opened": "2020-05-01T00:00:00",
            "Rooms": 12,
        },
        {"Name": "Dune Café", "City": "Cavendish", "Opened": "2021-06-01T09:30:00", "Rooms": 3.5},
    ]
    assert records[0].locator == "listings.xlsx sheet Listings row 3"
    assert problems[0].locator == "listings.xlsx sheet Listings row 6"
    assert "column 5 which has no header" in problems[0].message


def test_xlsx_first_sheet_by_default_and_missing_sheet(tmp_path: Path) -> None:
    path = tmp_path / "listings.xlsx"
    _workbook(path)
    records, _ = run(cfg("xlsx"), path)
    assert records == []  # "Notes" has a header and no rows
    with pytest.raises(
        ImportFailed, match=r"no sheet named 'Data' \(sheets: \['Notes', 'Listings'\]\)"
    ):
        run(cfg("xlsx", sheet="Data"), path)


def test_xlsx_rejects_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0 an old .xls file")
    with pytest.raises(ImportFailed, match="not a readable .xlsx workbook"):
        run(cfg("xlsx"), path)


def test_upload_format_overrides_the_file_reader(tmp_path: Path) -> None:
    path = tmp_path / "upload.jsonl"
    path.write_text('{"Name": "A"}\n')
    records, _ = run(cfg("csv", format="jsonl"), path)
    assert records[0].data == {"Name": "A"}


# ---------------------------------------------------------------- API


def _pages(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


ITEMS = [{"id": i, "name": f"Listing {i}"} for i in range(1, 8)]


def test_api_page_number_pagination(server: LocalServer) -> None:
    pages = _pages(ITEMS, 3)

    def listings(req: Seen) -> Reply:
        page = int(req.query["page"])
        return json_reply({"results": pages[page - 1] if page <= len(pages) else []})

    server.routes["/v1/listings"] = listings
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/v1/listings",
            "records_path": "results",
            "pagination": {"style": "page", "size_param": "per_page", "size": 3},
        },
    )
    records, problems = run(config)
    assert [r.data["id"] for r in records] == list(range(1, 8))
    assert problems == []
    assert [s.query for s in server.seen] == [
        {"page": str(p), "per_page": "3"} for p in (1, 2, 3, 4)
    ]
    assert records[3].locator.startswith("page 2 item 1 (http://127.0.0.1:")


def test_api_page_number_pagination_stops_at_total_pages(server: LocalServer) -> None:
    pages = _pages(ITEMS, 3)
    server.routes["/v1/listings"] = lambda req: json_reply(
        {"data": pages[int(req.query["p"])], "meta": {"pages": 3}}
    )
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/v1/listings",
            "records_path": "data",
            "pagination": {
                "style": "page",
                "page_param": "p",
                "start_page": 0,
                "total_pages_path": "meta.pages",
            },
        },
    )
    records, _ = run(config)
    assert len(records) == 7
    assert len(server.seen) == 3  # no probe for an empty 4th page


def test_api_offset_pagination_advances_by_records_received(server: LocalServer) -> None:
    def listings(req: Seen) -> Reply:
        offset, limit = int(req.query["offset"]), min(int(req.query["limit"]), 2)  # server cap
        return json_reply({"items": ITEMS[offset : offset + limit], "total": len(ITEMS)})

    server.routes["/listings"] = listings
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/listings",
            "records_path": "items",
            "pagination": {"style": "offset", "limit": 5, "total_path": "total"},
        },
    )
    records, _ = run(config)
    assert [r.data["id"] for r in records] == list(range(1, 8))
    assert [s.query["offset"] for s in server.seen] == ["0", "2", "4", "6"]


def test_api_cursor_pagination(server: LocalServer) -> None:
    pages = _pages(ITEMS, 4)

    def listings(req: Seen) -> Reply:
        index = int(req.query.get("after", "0"))
        more = index + 1 < len(pages)
        return json_reply(
            {"data": pages[index], "paging": {"next": str(index + 1) if more else None}}
        )

    server.routes["/listings"] = listings
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/listings",
            "records_path": "data",
            "pagination": {
                "style": "cursor",
                "cursor_param": "after",
                "cursor_path": "paging.next",
            },
        },
    )
    records, _ = run(config)
    assert len(records) == 7
    assert [s.query.get("after") for s in server.seen] == [None, "1"]


def test_api_next_link_in_body_and_in_link_header(server: LocalServer) -> None:
    pages = _pages(ITEMS, 3)

    def body_links(req: Seen) -> Reply:
        n = int(req.query.get("n", "0"))
        nxt = f"/body?n={n + 1}" if n + 1 < len(pages) else None  # relative links resolve
        return json_reply({"items": pages[n], "links": {"next": nxt}})

    def header_links(req: Seen) -> Reply:
        n = int(req.query.get("n", "0"))
        headers = {"Link": f'<{server.url}/header?n={n + 1}>; rel="next"'} if n < 2 else {}
        return json_reply(pages[n], **headers)

    server.routes["/body"] = body_links
    server.routes["/header"] = header_links
    by_body = cfg(
        "api",
        api={
            "url": f"{server.url}/body",
            "records_path": "items",
            "pagination": {"style": "next_link", "next_path": "links.next"},
        },
    )
    by_header = cfg(
        "api", api={"url": f"{server.url}/header", "pagination": {"style": "next_link"}}
    )
    assert [r.data["id"] for r in run(by_body)[0]] == list(range(1, 8))
    assert [r.data["id"] for r in run(by_header)[0]] == list(range(1, 8))


def test_api_next_link_to_another_host_is_refused(server: LocalServer) -> None:
    server.routes["/x"] = lambda req: json_reply(
        {"items": [{"id": 1}], "next": "http://localhost:1/steal"}
    )
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/x",
            "records_path": "items",
            "pagination": {"style": "next_link", "next_path": "next"},
        },
    )
    with pytest.raises(ImportFailed, match="leaves 127.0.0.1"):
        run(config)


def test_api_retries_after_429_honouring_retry_after(server: LocalServer) -> None:
    answers = iter([Reply(429, "slow down", {"Retry-After": "1"}), json_reply([{"id": 1}])])
    server.routes["/rl"] = lambda req: next(answers)
    config = cfg("api", api={"url": f"{server.url}/rl", **FAST_RETRIES})
    records, _ = run(config)
    assert [r.data for r in records] == [{"id": 1}]
    first, second = server.seen
    assert second.at - first.at >= 0.95  # waited as asked, not our 10 ms backoff


def test_api_that_keeps_failing_fails_the_import_naming_url_and_page(
    server: LocalServer,
) -> None:
    server.routes["/down"] = lambda req: Reply(503, "maintenance")
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/down",
            "pagination": {"style": "page"},
            **FAST_RETRIES,
        },
    )
    with pytest.raises(ImportFailed) as err:
        run(config)
    assert f"page 1: GET {server.url}/down?page=1" in str(err.value)
    assert "still failing after 3 attempts: HTTP 503" in str(err.value)
    assert len(server.seen) == 3


def test_api_server_errors_then_success_is_retried(server: LocalServer) -> None:
    answers = iter([Reply(500, "oops"), Reply(502, "bad gateway"), json_reply([{"id": 1}])])
    server.routes["/flaky"] = lambda req: next(answers)
    records, _ = run(cfg("api", api={"url": f"{server.url}/flaky", **FAST_RETRIES}))
    assert len(records) == 1


def test_api_connection_refused_fails_after_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTINGS_EGRESS_ALLOW", "127.0.0.1/32")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    config = cfg("api", api={"url": f"http://127.0.0.1:{port}/x", **FAST_RETRIES})
    with pytest.raises(ImportFailed, match="still failing after 3 attempts: ConnectError"):
        run(config)


def test_api_timeouts_are_retried_then_fail(server: LocalServer) -> None:
    def slow(req: Seen) -> Reply:
        time.sleep(0.4)
        return json_reply([])

    server.routes["/slow"] = slow
    options = {**FAST_RETRIES, "max_retries": 1, "timeout_seconds": 0.1}
    config = cfg("api", api={"url": f"{server.url}/slow", **options})
    with pytest.raises(ImportFailed, match="still failing after 2 attempts: ReadTimeout"):
        run(config)


def test_api_html_instead_of_json_fails_clearly(server: LocalServer) -> None:
    server.routes["/api"] = lambda req: html_reply("<!DOCTYPE html><html><body>Login</body>")
    with pytest.raises(ImportFailed) as err:
        run(cfg("api", api={"url": f"{server.url}/api"}))
    message = str(err.value)
    assert f"page 1: GET {server.url}/api" in message
    # The body is not quoted (issue 16): it may echo credentials or be another site's page.
    assert "expected JSON, got 'text/html; charset=utf-8' (39 bytes)" in message
    assert "DOCTYPE" not in message and "Login" not in message


def test_api_client_errors_fail_at_once(server: LocalServer) -> None:
    server.routes["/private"] = lambda req: json_reply({"error": "no"}, status=401)
    with pytest.raises(ImportFailed, match="HTTP 401 Unauthorized .check the credentials"):
        run(cfg("api", api={"url": f"{server.url}/private", **FAST_RETRIES}))
    assert len(server.seen) == 1


def test_api_secrets_come_from_env_and_never_show(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LISTINGS_ALLOWED_SECRET_ENV", "DMO_TOKEN,DMO_KEY,DMO_TENANT")
    monkeypatch.setenv("DMO_TOKEN", "tok-s3cr3t")
    monkeypatch.setenv("DMO_KEY", "key-s3cr3t")
    monkeypatch.setenv("DMO_TENANT", "tenant-9")
    answers = iter([Reply(500, "oops"), json_reply({"error": "gone"}, status=404)])
    server.routes["/secure"] = lambda req: next(answers)
    config = cfg(
        "api",
        api={
            "url": f"{server.url}/secure",
            "bearer_token_env": "DMO_TOKEN",
            "headers_from_env": {"X-Tenant": "DMO_TENANT"},
            "params_from_env": {"api_key": "DMO_KEY"},
            "params": {"lang": "en"},
            **FAST_RETRIES,
        },
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ImportFailed) as err:
        run(config)
    seen = server.seen[0]
    assert seen.headers["Authorization"] == "Bearer tok-s3cr3t"
    assert seen.headers["X-Tenant"] == "tenant-9"
    assert seen.query == {"lang": "en", "api_key": "key-s3cr3t"}
    assert "api_key=***" in str(err.value)
    for secret in ("tok-s3cr3t", "key-s3cr3t", "tenant-9"):
        assert secret not in str(err.value)
        assert secret not in caplog.text
    assert "api_key=***" in caplog.text  # httpx's own request log, masked


def test_api_missing_env_var_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTINGS_SECRET_NOT_SET", raising=False)
    config = cfg(
        "api", api={"url": "http://127.0.0.1:9/x", "bearer_token_env": "LISTINGS_SECRET_NOT_SET"}
    )
    with pytest.raises(
        ImportFailed, match="environment variable LISTINGS_SECRET_NOT_SET .bearer token. is"
    ):
        run(config)


def test_api_max_pages_fails_rather_than_truncating(server: LocalServer) -> None:
    server.routes["/endless"] = lambda req: json_reply([{"id": req.query["page"]}])
    config = cfg(
        "api", api={"url": f"{server.url}/endless", "pagination": {"style": "page"}, "max_pages": 3}
    )
    with pytest.raises(ImportFailed, match="more than max_pages=3 pages"):
        run(config)
    server.routes["/three"] = lambda req: json_reply([{"id": 1}] if req.query["page"] < "4" else [])
    exactly = cfg(
        "api", api={"url": f"{server.url}/three", "pagination": {"style": "page"}, "max_pages": 3}
    )
    assert len(run(exactly)[0]) == 3  # the empty 4th page that ends the import is no excess


def test_api_config_errors_name_the_key() -> None:
    with pytest.raises(ValidationError, match="cursor_path"):
        cfg("api", api={"url": "http://x", "pagination": {"style": "cursor"}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        cfg("api", api={"url": "http://x", "token": "inline secrets are refused"})


# ---------------------------------------------------------------- WordPress


POSTS = [
    {"id": i, "slug": f"place-{i}", "title": {"rendered": f"Place {i}"}, "acf": {"city": "PEI"}}
    for i in range(1, 6)
]


def _wordpress(server: LocalServer, *, headers: bool) -> None:
    def posts(req: Seen) -> Reply:
        per_page, page = int(req.query["per_page"]), int(req.query["page"])
        chunk = POSTS[(page - 1) * per_page : page * per_page]
        if not chunk and page > 1:
            return json_reply(
                {"code": "rest_post_invalid_page_number", "data": {"status": 400}}, status=400
            )
        extra = {"X-WP-Total": str(len(POSTS)), "X-WP-TotalPages": "3"} if headers else {}
        return json_reply(chunk, **extra)

    server.routes["/wp-json/wp/v2/listings"] = posts


def test_wordpress_reads_all_pages_by_total_pages_header(server: LocalServer) -> None:
    _wordpress(server, headers=True)
    config = cfg(
        "wordpress",
        wordpress={"base_url": f"{server.url}/", "post_type": "listings", "per_page": 2},
    )
    records, problems = run(config)
    assert problems == []
    assert [r.data["title"]["rendered"] for r in records] == [f"Place {i}" for i in range(1, 6)]
    assert records[0].data["acf"] == {"city": "PEI"}  # nested fields stay nested
    assert records[4].locator.startswith("page 3 item 1 id 5 (")
    assert [s.query for s in server.seen] == [
        {"orderby": "id", "order": "asc", "per_page": "2", "page": str(p)} for p in (1, 2, 3)
    ]


def test_wordpress_without_headers_stops_at_invalid_page(server: LocalServer) -> None:
    _wordpress(server, headers=False)
    config = cfg(
        "wordpress",
        wordpress={"base_url": server.url, "post_type": "listings", "per_page": 2},
    )
    records, _ = run(config)
    assert len(records) == 5
    assert len(server.seen) == 4


@pytest.mark.parametrize("headers", [True, False])
def test_wordpress_max_pages_fails_rather_than_truncating(
    server: LocalServer, headers: bool
) -> None:
    _wordpress(server, headers=headers)
    options = {"base_url": server.url, "post_type": "listings", "per_page": 2}
    with pytest.raises(ImportFailed, match="more than max_pages=2 pages"):
        run(cfg("wordpress", wordpress={**options, "max_pages": 2}))
    assert len(run(cfg("wordpress", wordpress={**options, "max_pages": 3}))[0]) == 5


def test_wordpress_with_rest_api_disabled_fails_clearly(server: LocalServer) -> None:
    server.routes["/wp-json/wp/v2/posts"] = lambda req: html_reply("<html>Home page</html>")
    with pytest.raises(ImportFailed, match=r"page 1: GET .*/wp-json/wp/v2/posts\?.*expected JSON"):
        run(cfg("wordpress", wordpress={"base_url": server.url}))


# ---------------------------------------------------------------- website


def _page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"


def _site(server: LocalServer) -> None:
    routes = {
        "/robots.txt": Reply(
            200, "User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}
        ),
        "/places": html_reply(
            _page(
                '<a class="place" href="/place/1">One</a>'
                '<div class="place"><a href="place/2#top">Two</a></div>'
                '<a class="place" href="/private/3">Three</a>'
                '<a rel="next" href="/places?page=2">Next</a>'
            )
        ),
        "/place/1": html_reply(
            _page(
                "<h1> Harbour\n Inn </h1><img class=hero src='/img/1.jpg'>"
                "<ul class=tags><li>Hotel</li><li>Sea view</li></ul>"
                "<div class=desc><p>Rooms &amp; <b>breakfast</b></p></div>"
            )
        ),
        "/place/2": html_reply(_page("<h1>Dune Café</h1><ul class=tags><li>Café</li></ul>")),
        "/place/4": html_reply(
            _page("<h1>Lighthouse</h1><img class=hero src='https://cdn.example/4.jpg'>")
        ),
        "/place/5": html_reply(_page("<p>We moved! This page has none of the fields.</p>")),
    }
    for path, reply in routes.items():
        server.routes[path] = lambda req, reply=reply: reply

    def places(req: Seen) -> Reply:
        if req.query.get("page") == "2":
            return html_reply(
                _page(
                    '<a class="place" href="/place/4">4</a><a class="place" href="/place/5">5</a>'
                )
            )
        return routes["/places"]

    server.routes["/places"] = places


def website(server: LocalServer, **overrides: Any) -> SourceConfig:
    options = {
        "start_urls": [f"{server.url}/places"],
        "link_selector": ".place",
        "next_selector": "a[rel=next]",
        "fields": {
            "name": "h1",
            "image": "img.hero@src",
            "tags": "ul.tags li",
            "description": "div.desc@html",
        },
        "contact_url": "https://dmo.example/contact",
        "rate_limit_per_second": 20,
        **FAST_RETRIES,
        **overrides,
    }
    return cfg("website", website=options)


def test_website_scrapes_list_and_detail_pages(server: LocalServer) -> None:
    _site(server)
    records, problems = run(website(server))
    assert [r.data for r in records] == [
        {
            "url": f"{server.url}/place/1",
            "name": "Harbour Inn",
            "image": f"{server.url}/img/1.jpg",
            "tags": ["Hotel", "Sea view"],
            "description": "<p>Rooms &amp; <b>breakfast</b></p>",
        },
        {
            "url": f"{server.url}/place/2",
            "name": "Dune Café",
            "image": None,
            "tags": "Café",
            "description": None,
        },
        {
            "url": f"{server.url}/place/4",
            "name": "Lighthouse",
            "image": "https://cdn.example/4.jpg",
            "tags": None,
            "description": None,
        },
    ]
    assert records[0].locator == f"{server.url}/place/1"
    robots, mismatch = problems
    assert robots.locator == f"{server.url}/private/3"
    assert "robots.txt disallows it" in robots.message
    assert mismatch.locator == f"{server.url}/place/5"
    assert mismatch.message == (
        "no selector matched on the detail page: name ('h1'), image ('img.hero@src'),"
        " tags ('ul.tags li'), description ('div.desc@html')"
    )
    paths = [s.path for s in server.seen]
    assert "/private/3" not in paths  # robots.txt honoured: never requested
    assert paths.count("/robots.txt") == 1
    assert all(
        s.headers["User-Agent"] == "listings-pipeline/0.1 (+https://dmo.example/contact)"
        for s in server.seen
    )


def test_website_rate_limit_spaces_requests(server: LocalServer) -> None:
    _site(server)
    run(website(server, rate_limit_per_second=10))
    times = [s.at for s in server.seen]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 6
    # 10 requests/s: starts are 0.1 s apart. Arrival times jitter on a busy machine, so the
    # rate is judged over the whole crawl, and no single gap may be far below the interval.
    assert times[-1] - times[0] >= 0.1 * len(gaps) - 0.03
    assert min(gaps) >= 0.05


def test_website_crawl_delay_in_robots_slows_down(server: LocalServer) -> None:
    server.routes["/robots.txt"] = lambda req: Reply(
        200, "User-agent: listings-pipeline\nCrawl-delay: 1\nDisallow: /private/\n"
    )
    server.routes["/places"] = lambda req: html_reply(_page("<p>no listings today</p>"))
    run(website(server))
    robots, places = server.seen
    assert places.at - robots.at >= 0.95  # 1 s, not the configured 20 requests/s


def test_website_disallowed_start_url_fails(server: LocalServer) -> None:
    server.routes["/robots.txt"] = lambda req: Reply(200, "User-agent: *\nDisallow: /\n")
    with pytest.raises(ImportFailed, match="robots.txt disallows start URL"):
        run(website(server))
    assert [s.path for s in server.seen] == ["/robots.txt"]


def test_website_required_fields_and_missing_pages_are_problems(server: LocalServer) -> None:
    _site(server)
    server.routes["/places"] = lambda req: html_reply(
        _page('<a class="place" href="/place/2">2</a><a class="place" href="/place/404">x</a>')
    )
    records, problems = run(website(server, next_selector=None, required_fields=["image"]))
    assert records == []
    assert problems[0].field == "image"
    assert problems[0].message == "required fields matched nothing: image ('img.hero@src')"
    assert problems[1].locator == f"{server.url}/place/404"
    assert problems[1].message == "detail page answered HTTP 404"


def test_website_list_page_without_links_is_reported(server: LocalServer) -> None:
    server.routes["/places"] = lambda req: html_reply(_page("<p>redesigned</p>"))
    records, problems = run(website(server))
    assert records == []
    assert "link_selector '.place' matched nothing" in problems[0].message


def test_website_max_pages_fails_rather_than_truncating(server: LocalServer) -> None:
    _site(server)
    with pytest.raises(ImportFailed, match="more than max_pages=3 pages"):
        run(website(server, max_pages=3))


def test_website_config_is_checked() -> None:
    with pytest.raises(ValidationError, match="fields.name: not a valid CSS selector"):
        cfg(
            "website",
            website={
                "start_urls": ["http://x/"],
                "link_selector": "a",
                "fields": {"name": "h1[["},
                "contact_url": "https://dmo.example",
            },
        )
    with pytest.raises(ValidationError, match="contact_url"):
        cfg(
            "website",
            website={"start_urls": ["http://x/"], "link_selector": "a", "fields": {"n": "h1"}},
        )


def test_network_source_without_its_options_block_fails() -> None:
    with pytest.raises(ImportFailed, match="source_type website needs an import.website block"):
        run(cfg("website"))
