"""The uploads inbox, locally and on a real S3-compatible server on 127.0.0.1: what waits, and
moving a file aside once imported so it is never imported twice."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from listings_pipeline.importing.inbox import (
    Inbox,
    InboxFileChanged,
    LocalInbox,
    S3Inbox,
    get_inbox,
)
from listings_pipeline.settings import get_settings

if TYPE_CHECKING:
    from listings_pipeline_tests.s3_server import S3

pytest_plugins = ["listings_pipeline_tests.s3_server"]

Upload = Callable[[str, bytes], None]


@pytest.fixture(params=["local", "s3"])
def inbox_and_upload(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Inbox, Upload, Callable[[str], bytes]]:
    if request.param == "local":
        root = tmp_path / "inbox"

        def upload(rel: str, data: bytes) -> None:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)

        return LocalInbox(root), upload, lambda rel: (root / rel).read_bytes()
    s3: S3 = request.getfixturevalue("s3")

    def put(rel: str, data: bytes) -> None:
        s3.client.put_object(Bucket=s3.bucket, Key=f"lp/inbox/{rel}", Body=data)

    def get(rel: str) -> bytes:
        return s3.client.get_object(Bucket=s3.bucket, Key=f"lp/inbox/{rel}")["Body"].read()

    return S3Inbox(s3.client, s3.bucket, "lp"), put, get


def test_pending_lists_finished_uploads_only(inbox_and_upload: tuple) -> None:
    inbox, upload, _ = inbox_and_upload
    upload("demo-csv/listings.csv", b"Name\nA\n")
    upload("demo-csv/more.jsonl", b'{"Name": "B"}\n')
    upload("demo-csv/.listings.csv.swp", b"editor")
    upload("demo-csv/big.csv.part", b"still uploading")
    upload("demo-csv/~$book.xlsx", b"office lock file")
    upload("demo-csv/done/old.csv", b"imported before")
    upload("other/x.csv", b"Name\nC\n")
    assert [f.name for f in inbox.pending("demo-csv", min_age_seconds=0)] == [
        "listings.csv",
        "more.jsonl",
    ]
    item = inbox.pending("demo-csv", min_age_seconds=0)[0]
    assert (item.slug, item.size) == ("demo-csv", 7)
    assert item.fingerprint
    assert inbox.pending("no-such-slug", min_age_seconds=0) == []
    assert inbox.slugs() == ["demo-csv", "other"]


def test_files_just_written_wait_until_settled(inbox_and_upload: tuple) -> None:
    inbox, upload, _ = inbox_and_upload
    upload("demo-csv/listings.csv", b"Name\nA\n")
    assert inbox.pending("demo-csv", min_age_seconds=3600) == []
    assert len(inbox.pending("demo-csv", min_age_seconds=0)) == 1


def test_imported_file_moves_to_done_and_is_not_pending_again(inbox_and_upload: tuple) -> None:
    inbox, upload, read = inbox_and_upload
    upload("demo-csv/listings.csv", b"Name\nA\n")
    (item,) = inbox.pending("demo-csv", min_age_seconds=0)
    with inbox.local_copy(item) as path:
        assert path.read_bytes() == b"Name\nA\n"
        assert path.name == "listings.csv"  # the suffix still tells the format
    moved = inbox.move_aside(item, "done", job_id=42)
    assert "/demo-csv/done/" in moved
    assert moved.endswith("-job-000042-listings.csv")
    assert inbox.pending("demo-csv", min_age_seconds=0) == []
    assert read(moved.split("/inbox/", 1)[1]) == b"Name\nA\n"
    with pytest.raises(InboxFileChanged, match="no longer|replaced or removed"):
        inbox.move_aside(item, "done", job_id=43)  # a second attempt finds nothing to move


def test_failed_file_moves_to_failed_with_its_reason(inbox_and_upload: tuple) -> None:
    inbox, upload, read = inbox_and_upload
    upload("demo-csv/bad.csv", b"\x00\x01")
    (item,) = inbox.pending("demo-csv", min_age_seconds=0)
    moved = inbox.move_aside(item, "failed", job_id=7, reason="bad.csv: line 1: no header row")
    relative = moved.split("/inbox/", 1)[1]
    assert relative.startswith("demo-csv/failed/")
    assert read(relative + ".error.txt") == b"bad.csv: line 1: no header row\n"
    assert inbox.pending("demo-csv", min_age_seconds=0) == []


def test_file_replaced_after_listing_is_left_for_next_time(inbox_and_upload: tuple) -> None:
    inbox, upload, read = inbox_and_upload
    upload("demo-csv/listings.csv", b"Name\nA\n")
    (item,) = inbox.pending("demo-csv", min_age_seconds=0)
    time.sleep(0.01)  # a later modification time for the local file
    upload("demo-csv/listings.csv", b"Name\nA\nB\n")
    with pytest.raises(InboxFileChanged, match="replaced"):
        inbox.move_aside(item, "done", job_id=1)
    (again,) = inbox.pending("demo-csv", min_age_seconds=0)
    assert again.fingerprint != item.fingerprint
    assert read("demo-csv/listings.csv") == b"Name\nA\nB\n"


def test_slug_must_be_a_config_slug(inbox_and_upload: tuple) -> None:
    inbox, _, _ = inbox_and_upload
    with pytest.raises(ValueError, match="not a source config slug"):
        inbox.pending("../etc")


def test_get_inbox_follows_the_raw_store_setting(
    s3: S3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LISTINGS_HOME", str(tmp_path))
    monkeypatch.setenv("LISTINGS_RAW_STORE", "local")
    local = get_inbox(get_settings())
    assert isinstance(local, LocalInbox)
    assert local.root == tmp_path.resolve() / "inbox"

    monkeypatch.setenv("LISTINGS_RAW_STORE", "s3")
    monkeypatch.setenv("LISTINGS_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("LISTINGS_S3_ENDPOINT_URL", s3.endpoint)
    monkeypatch.setenv("LISTINGS_S3_PREFIX", "")
    remote = get_inbox(get_settings())
    s3.client.put_object(Bucket=s3.bucket, Key="inbox/demo-csv/a.csv", Body=b"Name\nA\n")
    assert [f.location for f in remote.pending("demo-csv", min_age_seconds=0)] == [
        "inbox/demo-csv/a.csv"
    ]


def test_local_fingerprint_follows_content_changes(tmp_path: Path) -> None:
    inbox = LocalInbox(tmp_path)
    path = tmp_path / "demo-csv" / "a.csv"
    path.parent.mkdir()
    path.write_bytes(b"one")
    (before,) = inbox.pending("demo-csv", min_age_seconds=0)
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(an_hour_ago, an_hour_ago))  # as `cp -p` or an rsync would leave it
    (after,) = inbox.pending("demo-csv", min_age_seconds=0)
    assert before.fingerprint != after.fingerprint
