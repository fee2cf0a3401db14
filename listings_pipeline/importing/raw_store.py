"""Where raw files live: a local directory (default) or S3, behind one interface.

Keys follow seed 000's naming: {environment}/raw/{data_domain}/{dmo_id}/{YYYYMMDD}/job-…jsonl.gz.
A write is all-or-nothing: the object appears only when its writer closes without error,
which is what keeps a raw file immutable and never half-written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from listings_pipeline.settings import Settings, get_settings


class RawStore(Protocol):
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def reader(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...  # only for objects never registered in pipeline.files
    def put_file(self, local_path: Path, key: str) -> None: ...
    def uri(self, key: str) -> str: ...


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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                yield fh
            os.chmod(tmp, 0o444)  # read-only: raw files are never modified
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


def get_raw_store(settings: Settings | None = None) -> RawStore:
    settings = settings or get_settings()
    if settings.raw_store == "local":
        return LocalRawStore(settings.raw_dir)
    raise ValueError(
        f"LISTINGS_RAW_STORE={settings.raw_store!r} is not supported (expected 'local' or 's3')"
    )
