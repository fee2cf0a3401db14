"""The raw store contract — whole or nothing, never overwritten — for the local store and for S3
against a real S3-compatible server on 127.0.0.1."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from listings_pipeline.importing.raw_store import (
    LocalRawStore,
    RawStore,
    S3RawStore,
    get_raw_store,
)
from listings_pipeline.settings import get_settings

if TYPE_CHECKING:
    from listings_pipeline_tests.s3_server import S3

pytest_plugins = ["listings_pipeline_tests.s3_server"]

KEY = "dev/raw/listings/7/20260101/job-000042-01.jsonl.gz"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RawStore:
    if request.param == "local":
        return LocalRawStore(tmp_path / "raw")
    s3: S3 = request.getfixturevalue("s3")
    return S3RawStore(s3.client, s3.bucket, "lp/")


def _read(store: RawStore, key: str) -> bytes:
    with store.reader(key) as fh:
        return fh.read()


def test_written_file_reads_back_and_exists(store: RawStore) -> None:
    assert not store.exists(KEY)
    with store.writer(KEY) as fh, gzip.GzipFile(fileobj=fh, mode="wb") as gz:
        gz.write(b'{"rec_num": 1}\n')
    assert store.exists(KEY)
    with store.reader(KEY) as fh, gzip.GzipFile(fileobj=fh) as gz:
        assert gz.read() == b'{"rec_num": 1}\n'


def test_existing_file_is_never_overwritten(store: RawStore, tmp_path: Path) -> None:
    with store.writer(KEY) as fh:
        fh.write(b"first")
    with pytest.raises(FileExistsError, match="immutable"), store.writer(KEY) as fh:
        fh.write(b"second")
    other = tmp_path / "other.gz"
    other.write_bytes(b"third")
    with pytest.raises(FileExistsError):
        store.put_file(other, KEY)
    assert _read(store, KEY) == b"first"


def test_failed_write_leaves_nothing(store: RawStore) -> None:
    with pytest.raises(RuntimeError), store.writer(KEY) as fh:
        fh.write(b"half a file")
        raise RuntimeError("connector died")
    assert not store.exists(KEY)


def test_put_file_copies_a_local_file(store: RawStore, tmp_path: Path) -> None:
    local = tmp_path / "f.gz"
    local.write_bytes(b"payload")
    store.put_file(local, KEY)
    assert _read(store, KEY) == b"payload"


def test_keys_cannot_escape_the_store(store: RawStore) -> None:
    for key in ("../outside.gz", "/abs/key.gz"):
        with pytest.raises(ValueError):
            store.exists(key)


def test_s3_race_between_two_writers_keeps_the_first(s3: S3) -> None:
    store = S3RawStore(s3.client, s3.bucket, "lp")
    # Both writers pass the up-front existence check; the conditional completion decides.
    first, second = store.writer(KEY), store.writer(KEY)
    a, b = first.__enter__(), second.__enter__()
    a.write(b"from worker A")
    b.write(b"from worker B")
    first.__exit__(None, None, None)
    with pytest.raises(FileExistsError):
        second.__exit__(None, None, None)
    assert _read(store, KEY) == b"from worker A"
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_s3_failed_write_leaves_no_object_and_no_pending_upload(s3: S3) -> None:
    store = S3RawStore(s3.client, s3.bucket, "lp")

    class Broken:
        def read(self, size: int) -> bytes:
            raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        store._upload(Broken(), KEY)  # type: ignore[arg-type]
    assert not store.exists(KEY)
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_s3_large_file_uploads_in_parts(s3: S3) -> None:
    store = S3RawStore(s3.client, s3.bucket, "lp", part_bytes=5 << 20, spool_bytes=1 << 20)
    data = os.urandom(6 << 20)
    with store.writer(KEY) as fh:
        fh.write(data)
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"lp/{KEY}")
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert head["ContentType"] == "application/gzip"
    assert _read(store, KEY) == data
    assert store.uri(KEY) == f"s3://{s3.bucket}/lp/{KEY}"


def test_get_raw_store_selects_s3_from_settings(
    s3: S3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LISTINGS_RAW_STORE", "s3")
    monkeypatch.setenv("LISTINGS_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("LISTINGS_S3_PREFIX", "pipeline")
    monkeypatch.setenv("LISTINGS_S3_ENDPOINT_URL", s3.endpoint)
    store = get_raw_store(get_settings())
    assert isinstance(store, S3RawStore)
    with store.writer(KEY) as fh:
        fh.write(b"x")
    listed = s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"pipeline/{KEY}"]

    monkeypatch.delenv("LISTINGS_S3_BUCKET")
    with pytest.raises(ValueError, match="LISTINGS_S3_BUCKET"):
        get_raw_store(get_settings())
    monkeypatch.setenv("LISTINGS_RAW_STORE", "local")
    monkeypatch.setenv("LISTINGS_HOME", str(tmp_path))
    assert isinstance(get_raw_store(get_settings()), LocalRawStore)
