"""Which local files a config may make the pipeline read.

A config's `source_url` may be a local path, and configs are written by console users with
`pipeline:admin`, who have no shell on the server: without a limit, `source_url: /etc/passwd`
with `delimiter: ":"` imports the server's account list as listings. So a path a config names
must lie, after resolving symlinks and `..`, under an allowed root: the uploads inbox and the
console's upload store under LISTINGS_HOME, plus the operator's LISTINGS_ALLOWED_INPUT_ROOTS.

The CLI's `--input PATH` is not limited: it is the operator's own shell.
"""

from __future__ import annotations

import os
from pathlib import Path

from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.settings import Settings, get_settings


class InputNotAllowed(ImportFailed):
    """A local path outside the allowed roots; refused before anything is read."""


def path_problem(path: str | Path, settings: Settings | None = None) -> str | None:
    """Why a config may not name the local file `path`, or None when it may."""
    roots = (settings or get_settings()).input_roots
    resolved = Path(os.path.realpath(path))  # symlinks and `..` resolved, existing or not
    if any(resolved.is_relative_to(Path(os.path.realpath(root))) for root in roots):
        return None
    shown = str(path) if str(path) == str(resolved) else f"{path} (resolved: {resolved})"
    return (
        f"{shown} is outside the directories a config may read"
        f" ({', '.join(str(root) for root in roots)}); put the file in the uploads inbox,"
        " upload it in the console, or ask the operator to add its directory to"
        " LISTINGS_ALLOWED_INPUT_ROOTS"
    )


def config_path(path: str, source: str) -> Path:
    """`path` resolved, if a config may name it; InputNotAllowed otherwise."""
    if (problem := path_problem(path)) is not None:
        raise InputNotAllowed(f"{source}: source_url {problem}")
    return Path(os.path.realpath(path))
