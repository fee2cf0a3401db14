"""Where raw files live: a local directory (default) or S3, behind one interface.

Keys follow seed 000's naming: {environment}/raw/{data_domain}/{dmo_id}/{YYYYMMDD}/job-…jsonl.gz.
A write is all-or-nothing: the object appears only when its writer closes without error,
which is what keeps a raw file immutable and never half-written. Neither store ever replaces
an existing object.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from listings_pipeline.private_files import READ_ONLY_FILE, private_dir
from listings_pipeline.settings import Settings, get_settings

S3Client = Any  # a boto3 S3 client (boto3 ships no static types)


class RawStore(Protocol):
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def reader(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...  # only for objects never registered in pipeline.files
    def put_file(self, local_path: Path, key: str) -> None: ...
    def uri(self, key: str) -> str: ...
    # What a killed import can leave under its prefix: whole objects it never registered...
    def keys(self, prefix: str) -> list[str]: ...
    # ...and writes that never completed (temporary files, S3 multipart uploads): removed.
    def discard_partial(self, prefix: str) -> int: ...


class LocalRawStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"raw store key escapes the store: {key!r}")
        return path

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        if path.exists():
            raise FileExistsError(f"{path}: raw files are immutable and this one already exists")
        private_dir(self.root)
        private_dir(path.parent)
        # Named after the key, so a killed writer's temporary file can be found by its prefix.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
            # Read-only (raw files are never modified) and for the service user only.
            os.chmod(tmp, READ_ONLY_FILE)
            os.link(tmp, path)  # fails if the key appeared meanwhile: never overwrite
        finally:
            Path(tmp).unlink(missing_ok=True)

    @contextmanager
    def reader(self, key: str) -> Iterator[BinaryIO]:
        with self._path(key).open("rb") as fh:
            yield fh

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def put_file(self, local_path: Path, key: str) -> None:
        with local_path.open("rb") as src, self.writer(key) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def _matching(self, prefix: str, pattern: str) -> list[Path]:
        base = self._path(prefix)
        if not base.parent.is_dir():
            return []
        return sorted(p for p in base.parent.glob(pattern.format(base.name)) if p.is_file())

    def keys(self, prefix: str) -> list[str]:
        root = self.root.resolve()
        return [p.relative_to(root).as_posix() for p in self._matching(prefix, "{}*")]

    def discard_partial(self, prefix: str) -> int:
        partial = self._matching(prefix, ".tmp-{}*")
        for path in partial:
            path.unlink(missing_ok=True)
        return len(partial)


def s3_client(settings: Settings) -> S3Client:
    """An S3 client: credentials and region from boto3's usual chain (AWS_* variables, shared
    config, instance role); LISTINGS_S3_ENDPOINT_URL for an S3-compatible server."""
    import boto3
    from botocore.config import Config

    # Self-hosted S3 servers rarely have per-bucket DNS names: address buckets by path there.
    style = "path" if settings.s3_endpoint_url else "auto"
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        config=Config(s3={"addressing_style": style}, retries={"mode": "standard"}),
    )


def s3_prefix(prefix: str) -> str:
    """LISTINGS_S3_PREFIX as a key prefix: '' or ending in exactly one '/'."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def is_missing(err: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") in (
        "404",
        "NoSuchKey",
        "NotFound",
    )


class S3RawStore:
    """Raw files as S3 objects under s3://bucket/prefix.

    A write goes to a spooled temporary file (memory up to `spool_bytes`, then disk) and is
    uploaded when the writer closes, as a multipart upload completed with `If-None-Match: *`:
    the object appears whole or not at all, and never replaces one that exists — even one
    written meanwhile by another worker. A failed upload is aborted, leaving nothing behind.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        part_bytes: int = 8 << 20,
        spool_bytes: int = 8 << 20,
    ) -> None:
        if part_bytes < 5 << 20:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.client, self.bucket, self.prefix = client, bucket, s3_prefix(prefix)
        self.part_bytes, self.spool_bytes = part_bytes, spool_bytes

    def _key(self, key: str) -> str:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a valid raw store key: {key!r}")
        return self.prefix + key

    def _refuse_existing(self, key: str) -> None:
        if self.exists(key):
            raise FileExistsError(
                f"{self.uri(key)}: raw files are immutable and this one already exists"
            )

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        self._refuse_existing(key)
        with tempfile.SpooledTemporaryFile(max_size=self.spool_bytes) as spool:
            yield spool  # type: ignore[misc]
            spool.seek(0)
            self._upload(spool, key)  # type: ignore[arg-type]

    def _upload(self, source: BinaryIO, key: str) -> None:
        from botocore.exceptions import ClientError

        full = self._key(key)
        kind = "application/gzip" if key.endswith(".gz") else "application/octet-stream"
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full, ContentType=kind
        )["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            while True:
                chunk = source.read(self.part_bytes)
                if not chunk and parts:
                    break
                answer = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    PartNumber=len(parts) + 1,
                    Body=chunk,
                )
                part = {"PartNumber": len(parts) + 1, "ETag": answer["ETag"]}
                part.update({k: v for k, v in answer.items() if k.startswith("Checksum")})
                parts.append(part)
                if len(chunk) < self.part_bytes:
                    break
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",  # never replace an object, even one written meanwhile
            )
        except BaseException as err:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            if isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "412",
            ):
                raise FileExistsError(
                    f"{self.uri(key)}: raw files are immutable and this one already exists"
                ) from err
            raise

    @contextmanager
    def reader(self, key: str) -> Iterator[BinaryIO]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except Exception as err:
            if is_missing(err):
                raise FileNotFoundError(f"{self.uri(key)}: no such raw file") from err
            raise
        try:
            yield body  # type: ignore[misc]
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as err:
            if is_missing(err):
                return False
            raise
        return True

    def put_file(self, local_path: Path, key: str) -> None:
        self._refuse_existing(key)
        with local_path.open("rb") as source:
            self._upload(source, key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            found += [o["Key"][len(self.prefix) :] for o in page.get("Contents", [])]
        return sorted(found)

    def discard_partial(self, prefix: str) -> int:
        """Abort multipart uploads a killed writer left open (invisible, but stored and billed)."""
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self._key(prefix))
        uploads = answer.get("Uploads", [])
        for upload in uploads:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        return len(uploads)


def get_raw_store(settings: Settings | None = None) -> RawStore:
    settings = settings or get_settings()
    if settings.raw_store == "local":
        return LocalRawStore(settings.raw_dir)
    if settings.raw_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("LISTINGS_RAW_STORE=s3 needs LISTINGS_S3_BUCKET (the bucket name)")
        return S3RawStore(s3_client(settings), settings.s3_bucket, settings.s3_prefix)
    raise ValueError(
        f"LISTINGS_RAW_STORE={settings.raw_store!r} is not supported (expected 'local' or 's3')"
    )
