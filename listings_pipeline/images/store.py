"""Where image variants are written: a local directory or an S3 bucket, behind one interface.

Keys follow seed 000's image naming, `{dmo_id}/{listing_id}/{filename}.{ext}`, with the filename
derived from the content hash and the variant name. A key's content therefore never changes,
which makes writes idempotent and lets S3 objects be cached forever.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from listings_pipeline.images.settings import ImageSettings
from listings_pipeline.private_files import PRIVATE_FILE, private_dir

_CACHE_CONTROL = "public, max-age=31536000, immutable"


class ImageStore(Protocol):
    location: str  # where the store is, for messages

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def uri(self, key: str) -> str: ...


def variant_key(dmo_id: int, listing_id: int, content_hash: str, variant: str, ext: str) -> str:
    return f"{dmo_id}/{listing_id}/{content_hash[:32]}-{variant}.{ext}"


class LocalImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.location = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"image key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        private_dir(self.root)
        private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, PRIVATE_FILE)  # whoever serves the images runs as the service user
            os.replace(tmp, path)  # atomic: readers never see half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def uri(self, key: str) -> str:
        return str(self._path(key))


class S3ImageStore:
    """Credentials, region and endpoint come from boto3's usual sources (AWS_* variables,
    profiles, instance roles; AWS_ENDPOINT_URL for S3-compatible servers)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, connections: int = 10):
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                config=Config(max_pool_connections=connections, retries={"mode": "standard"}),
            )
        self._client = client  # boto3 clients are thread-safe
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            CacheControl=_CACHE_CONTROL,
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def get_image_store(settings: ImageSettings) -> ImageStore:
    if settings.store == "s3":
        assert settings.s3_bucket  # the settings validator guarantees it
        return S3ImageStore(
            settings.s3_bucket, settings.s3_prefix, connections=settings.concurrency
        )
    return LocalImageStore(settings.images_dir())
