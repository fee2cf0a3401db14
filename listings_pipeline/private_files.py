"""Files only the service user may read: raw files, uploads, inbox moves and stored images.

They hold partners' data (raw files and uploads may hold personal data the review gate has not
seen yet), so directories are created 0700 and files 0600 — set explicitly, whatever the
process umask, and not inherited from `mkdir(parents=True)`, which ignores the mode for the
parents it creates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
READ_ONLY_FILE = 0o400  # raw files: never modified, read by the service user only


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents with mode 0700; an existing `path` is tightened
    to 0700 too (left as it is if another user owns it)."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current.parent != current:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by another worker
            os.mkdir(directory, PRIVATE_DIR)
            os.chmod(directory, PRIVATE_DIR)  # the umask may have taken bits away
    with contextlib.suppress(PermissionError):
        if path.stat().st_mode & 0o777 != PRIVATE_DIR:
            os.chmod(path, PRIVATE_DIR)
    return path


@contextlib.contextmanager
def open_private(path: Path) -> Iterator[BinaryIO]:
    """A new file (never an existing one: O_EXCL) opened for writing, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # the umask may have taken bits away; set exactly
    with os.fdopen(fd, "wb") as fh:
        yield fh


def make_private(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Set a file the pipeline made or moved (keeping another process's mode) to `mode`."""
    os.chmod(path, mode)
