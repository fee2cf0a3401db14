"""Source config files for the console: list, read, create, replace and delete them safely.

Configs stay YAML files in LISTINGS_CONFIG_DIR (one per slug, reviewed in git like code); the
console edits the file text as is, so comments and layout survive. Nothing invalid is ever
written: text is validated by the pipeline's own loader first. Writes are atomic (temporary
file, fsync, rename) and an edit only lands on the version the editor started from.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from listings_pipeline.configs import ConfigError, SourceConfig, parse_config
from listings_pipeline.configs.loader import config_paths
from listings_pipeline.configs.model import SLUG

_LOCK_NAME = ".console.lock"


@dataclass(frozen=True)
class Problem:
    """One validation message; `key` is a dotted key path ("" for the whole file)."""

    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.key or '(file)'}: {self.message}"


@dataclass
class ConfigFile:
    slug: str
    path: Path
    text: str
    sha256: str
    config: SourceConfig | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.config is not None


class ConfigInvalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class ConfigNotYours(Exception):
    """The config is for a DMO the caller may not manage (DMO-scoped roles)."""

    def __init__(self, dmo_id: int) -> None:
        super().__init__(f"you may not manage the configs of DMO {dmo_id}")
        self.dmo_id = dmo_id


class ConfigExists(Exception):
    """A config with this slug already exists."""


class ConfigChanged(Exception):
    """The file changed (or went away) since the editor read it."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_text(text: str) -> str:
    """Browser textareas send CRLF; files keep LF and end with one newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip("\n") + "\n"


def _key_line(text: str, key: str) -> int | None:
    """1-based line of the deepest part of dotted `key` found in the YAML `text`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in key.split(".") if key else []:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _problems(text: str, err: ConfigError) -> list[Problem]:
    problems = []
    for key, message in err.problems:
        line = _key_line(text, key)
        if not key and isinstance(err.__cause__, yaml.MarkedYAMLError):
            mark = err.__cause__.problem_mark or err.__cause__.context_mark
            line = mark.line + 1 if mark else None
        problems.append(Problem(key, message, line))
    return problems


def validate(
    config_dir: Path,
    text: str,
    slug: str | None = None,
    dmo_allowed: Callable[[int], bool] | None = None,
) -> SourceConfig:
    """Validate config `text` as the file for `slug` (new configs: the slug in the text);
    `dmo_allowed` refuses a config for a DMO the caller may not manage (ConfigNotYours)."""
    if slug is None:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
        found = data.get("slug") if isinstance(data, dict) else None
        # An invalid or missing slug is reported by the model; the name only has to be safe.
        slug = found if isinstance(found, str) and SLUG.match(found) else "_new"
    try:
        config = parse_config(text, config_dir / f"{slug}.yaml")
    except ConfigError as err:
        raise ConfigInvalid(_problems(text, err)) from err
    if dmo_allowed is not None and not dmo_allowed(config.dmo_id):
        raise ConfigNotYours(config.dmo_id)
    return config


def _path(config_dir: Path, slug: str) -> Path | None:
    if not SLUG.match(slug):
        return None
    for suffix in (".yaml", ".yml"):
        path = config_dir / f"{slug}{suffix}"
        if path.is_file():
            return path
    return None


def _read(path: Path) -> ConfigFile:
    text = path.read_text(encoding="utf-8")
    try:
        config, problems = parse_config(text, path), []
    except ConfigError as err:
        config, problems = None, _problems(text, err)
    return ConfigFile(path.stem, path, text, digest(text), config, problems)


def list_configs(config_dir: Path) -> list[ConfigFile]:
    """Every config file, valid or not (an invalid file is listed with its problems)."""
    if not config_dir.is_dir():
        return []
    return [_read(path) for path in config_paths(config_dir)]


def read_config(config_dir: Path, slug: str) -> ConfigFile | None:
    path = _path(config_dir, slug)
    return _read(path) if path else None


@contextmanager
def _locked(config_dir: Path) -> Iterator[None]:
    # Serialises the console's own check-then-write steps across workers.
    config_dir.mkdir(parents=True, exist_ok=True)
    with open(config_dir / _LOCK_NAME, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, text: str, *, exclusive: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        if exclusive:
            os.link(tmp, path)  # FileExistsError rather than overwrite
        else:
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def create_config(
    config_dir: Path, text: str, dmo_allowed: Callable[[int], bool] | None = None
) -> ConfigFile:
    text = clean_text(text)
    config = validate(config_dir, text, dmo_allowed=dmo_allowed)
    with _locked(config_dir):
        if _path(config_dir, config.slug):
            raise ConfigExists(f"a config with slug {config.slug!r} already exists")
        path = config_dir / f"{config.slug}.yaml"
        try:
            _write(path, text, exclusive=True)
        except FileExistsError as err:
            raise ConfigExists(f"a config with slug {config.slug!r} already exists") from err
    return ConfigFile(config.slug, path, text, digest(text), config)


def update_config(
    config_dir: Path,
    slug: str,
    text: str,
    base_sha256: str | None,
    dmo_allowed: Callable[[int], bool] | None = None,
) -> ConfigFile:
    """Replace the config `slug`; `base_sha256` is the version the editor read (None: any)."""
    text = clean_text(text)
    config = validate(config_dir, text, slug, dmo_allowed)
    with _locked(config_dir):
        current = _path(config_dir, slug)
        if current is None:
            raise ConfigChanged(f"config {slug!r} was deleted meanwhile")
        if base_sha256 is not None and digest(current.read_text(encoding="utf-8")) != base_sha256:
            raise ConfigChanged(
                f"config {slug!r} was changed by someone else since you opened it;"
                " reload it and apply your change again"
            )
        _write(current, text, exclusive=False)
    return ConfigFile(slug, current, text, digest(text), config)


def delete_config(config_dir: Path, slug: str, base_sha256: str | None) -> None:
    with _locked(config_dir):
        current = _path(config_dir, slug)
        if current is None:
            raise ConfigChanged(f"config {slug!r} was deleted meanwhile")
        if base_sha256 is not None and digest(current.read_text(encoding="utf-8")) != base_sha256:
            raise ConfigChanged(f"config {slug!r} changed since you opened it; reload it first")
        current.unlink()
