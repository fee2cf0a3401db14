"""Uploads inbox: files dropped for a source config wait in a folder named by its slug.

Local: `LISTINGS_HOME/inbox/<slug>/<file>`; S3 (LISTINGS_RAW_STORE=s3):
`s3://<bucket>/<prefix>inbox/<slug>/<file>`. Once imported, a file is moved aside to
`<slug>/done/` or `<slug>/failed/` (with `<file>.error.txt` saying why) under a name stamped
with the time and job id, so it is never imported twice and a re-upload of the same file name
is a new file. Moving checks the file is still the one that was listed (its fingerprint): a
file replaced meanwhile is left in the inbox for the next import.

Files still being written are not offered: hidden files, Office lock files (`~$…`), partial
download suffixes, and (locally) files changed in the last `min_age_seconds`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from botocore.exceptions import ClientError

from listings_pipeline.configs.model import SLUG
from listings_pipeline.importing.input_roots import InputNotAllowed
from listings_pipeline.importing.raw_store import S3Client, is_missing, s3_client, s3_prefix
from listings_pipeline.private_files import make_private, open_private, private_dir
from listings_pipeline.settings import Settings, get_settings

Outcome = Literal["done", "failed"]
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", ".download")


class InboxFileChanged(Exception):
    """The file was replaced or removed after it was listed; it was not moved."""


@dataclass(frozen=True)
class InboxFile:
    slug: str
    name: str
    location: str  # a local path, or the S3 object key
    size: int
    modified: datetime
    fingerprint: str  # changes when the content is replaced: use it in sensor run keys


def waiting(name: str) -> bool:
    """Whether a file of this name is a finished upload (not a hidden or partial file)."""
    return not (
        name.startswith((".", "~$")) or name.lower().endswith(_PARTIAL_SUFFIXES) or not name
    )


def _changed(err: Exception) -> bool:
    """Whether an S3 error says the object is not the listed version (or is gone)."""
    return is_missing(err) or (
        isinstance(err, ClientError)
        and err.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412")
    )


def _slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise ValueError(f"not a source config slug: {slug!r}")
    return slug


def _aside_name(name: str, job_id: int | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-job-{job_id:06d}-{name}" if job_id is not None else f"{stamp}-{name}"


class Inbox(Protocol):
    def slugs(self) -> list[str]: ...
    def pending(self, slug: str, *, min_age_seconds: float = 10.0) -> list[InboxFile]: ...
    def local_copy(self, item: InboxFile) -> AbstractContextManager[Path]: ...
    def move_aside(
        self,
        item: InboxFile,
        outcome: Outcome,
        *,
        job_id: int | None = None,
        reason: str | None = None,
    ) -> str: ...
    def uri(self, item: InboxFile) -> str: ...


class LocalInbox:
    def __init__(self, root: Path) -> None:
        self.root = root

    def slugs(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            d.name
            for d in self.root.iterdir()
            if d.is_dir() and SLUG.match(d.name) and self.pending(d.name, min_age_seconds=0)
        )

    def _stat(self, slug: str, path: Path) -> InboxFile:
        st = path.stat()
        return InboxFile(
            slug=slug,
            name=path.name,
            location=str(path),
            size=st.st_size,
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
            fingerprint=f"{st.st_size}-{st.st_mtime_ns}",
        )

    def pending(self, slug: str, *, min_age_seconds: float = 10.0) -> list[InboxFile]:
        folder = self.root / _slug(slug)
        if not folder.is_dir():
            return []
        now = datetime.now(UTC)
        items = [self._stat(slug, p) for p in folder.iterdir() if p.is_file() and waiting(p.name)]
        fresh = [i for i in items if (now - i.modified).total_seconds() >= min_age_seconds]
        return sorted(fresh, key=lambda i: (i.modified, i.name))

    @contextmanager
    def local_copy(self, item: InboxFile) -> Iterator[Path]:
        path = Path(item.location)
        # A symlink dropped in the inbox must not make the pipeline read a file elsewhere.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InputNotAllowed(
                f"{path}: leads outside the inbox (to {path.resolve()}); inbox files must be"
                " regular files, not links"
            )
        yield path

    def move_aside(
        self,
        item: InboxFile,
        outcome: Outcome,
        *,
        job_id: int | None = None,
        reason: str | None = None,
    ) -> str:
        source = Path(item.location)
        try:
            current = self._stat(item.slug, source)
        except FileNotFoundError as err:
            raise InboxFileChanged(f"{source}: no longer in the inbox") from err
        if current.fingerprint != item.fingerprint:
            raise InboxFileChanged(f"{source}: replaced since it was listed; left for next time")
        folder = private_dir(self.root / _slug(item.slug) / outcome)
        target = folder / _aside_name(item.name, job_id)
        if target.exists():
            raise FileExistsError(f"{target}: already exists")
        os.rename(source, target)  # same file system: atomic
        make_private(target)  # it keeps the uploader's mode otherwise
        if reason is not None:
            with open_private(target.with_name(target.name + ".error.txt")) as out:
                out.write((reason + "\n").encode("utf-8"))
        return str(target)

    def uri(self, item: InboxFile) -> str:
        return item.location


class S3Inbox:
    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket = client, bucket
        self.root = f"{s3_prefix(prefix)}inbox/"

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            yield from ({"folder": p["Prefix"]} for p in page.get("CommonPrefixes", []))
            yield from page.get("Contents", [])

    def slugs(self) -> list[str]:
        found = []
        for entry in self._list(self.root):
            slug = entry.get("folder", "")[len(self.root) :].rstrip("/")
            if SLUG.match(slug) and self.pending(slug, min_age_seconds=0):
                found.append(slug)
        return sorted(found)

    def pending(self, slug: str, *, min_age_seconds: float = 10.0) -> list[InboxFile]:
        folder = f"{self.root}{_slug(slug)}/"
        now = datetime.now(UTC)
        items = []
        for entry in self._list(folder):
            name = entry.get("Key", "")[len(folder) :]
            if "Key" not in entry or not waiting(name):
                continue
            modified: datetime = entry["LastModified"]
            if (now - modified).total_seconds() < min_age_seconds:
                continue
            items.append(
                InboxFile(
                    slug=slug,
                    name=name,
                    location=entry["Key"],
                    size=entry["Size"],
                    modified=modified,
                    fingerprint=entry["ETag"].strip('"'),
                )
            )
        return sorted(items, key=lambda i: (i.modified, i.name))

    @contextmanager
    def local_copy(self, item: InboxFile) -> Iterator[Path]:
        """A temporary local copy of exactly the listed version (the connectors read files)."""
        with tempfile.TemporaryDirectory(prefix="inbox-") as tmp:
            path = Path(tmp) / item.name
            try:
                answer = self.client.get_object(
                    Bucket=self.bucket, Key=item.location, IfMatch=f'"{item.fingerprint}"'
                )
            except Exception as err:
                if not _changed(err):
                    raise
                raise InboxFileChanged(
                    f"{self.uri(item)}: replaced or removed since it was listed"
                ) from err
            with answer["Body"] as body, open_private(path) as fh:
                shutil.copyfileobj(body, fh, 1 << 20)
            yield path

    def move_aside(
        self,
        item: InboxFile,
        outcome: Outcome,
        *,
        job_id: int | None = None,
        reason: str | None = None,
    ) -> str:
        """S3 has no rename: copy (only if unchanged), then delete the original. A crash
        between the two leaves the file in both places; `fingerprint` in the sensor's run key
        keeps it from being imported again."""
        target = f"{self.root}{_slug(item.slug)}/{outcome}/{_aside_name(item.name, job_id)}"
        try:
            # CopySourceIfMatch makes this atomic on AWS; the HEAD first also covers
            # S3-compatible servers that ignore that condition.
            etag = f'"{item.fingerprint}"'
            self.client.head_object(Bucket=self.bucket, Key=item.location, IfMatch=etag)
            self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": item.location},
                CopySourceIfMatch=etag,
            )
        except Exception as err:
            if not _changed(err):
                raise
            raise InboxFileChanged(
                f"{self.uri(item)}: replaced or removed since it was listed; left for next time"
            ) from err
        self.client.delete_object(Bucket=self.bucket, Key=item.location)
        if reason is not None:
            self.client.put_object(
                Bucket=self.bucket,
                Key=f"{target}.error.txt",
                Body=(reason + "\n").encode("utf-8"),
                ContentType="text/plain; charset=utf-8",
            )
        return f"s3://{self.bucket}/{target}"

    def uri(self, item: InboxFile) -> str:
        return f"s3://{self.bucket}/{item.location}"


def get_inbox(settings: Settings | None = None) -> Inbox:
    """The inbox beside the raw store: S3 when LISTINGS_RAW_STORE=s3, else the local folder."""
    settings = settings or get_settings()
    if settings.raw_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("LISTINGS_RAW_STORE=s3 needs LISTINGS_S3_BUCKET (the bucket name)")
        return S3Inbox(s3_client(settings), settings.s3_bucket, settings.s3_prefix)
    return LocalInbox(settings.inbox_dir)
