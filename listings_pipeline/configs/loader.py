"""Read source configs from YAML files; every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from listings_pipeline.configs.model import SourceConfig


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key.

    `problems` holds the same as (key path, message) pairs, key path "" for the whole file,
    so an editor can show each message beside its key.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [("", message)]


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for problem in err.errors():
        key = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"]
        if problem["type"] == "missing":
            message = "required key is missing"
        elif problem["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append((key, message))
    return problems


def parse_config(text: str, path: Path) -> SourceConfig:
    """Validate the YAML `text` of the config file `path` (which need not exist yet)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(
            f"{path}: not valid YAML: {err}", [("", f"not valid YAML: {err}")]
        ) from err
    if not isinstance(data, dict):
        message = "expected a mapping of config keys at the top level"
        raise ConfigError(f"{path}: {message}", [("", message)])
    try:
        config = SourceConfig.model_validate(data)
    except ValidationError as err:
        problems = _problems(err)
        lines = [f"{path}: invalid config"]
        lines += [f"  {key or '(top level)'}: {message}" for key, message in problems]
        raise ConfigError("\n".join(lines), problems) from err
    if config.slug != path.stem:
        message = f"slug {config.slug!r} must match the file name {path.stem!r}"
        raise ConfigError(f"{path}: {message}", [("slug", message)])
    return config


def load_config(path: Path) -> SourceConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: file not found") from err
    return parse_config(text, path)


def config_paths(config_dir: Path) -> list[Path]:
    return sorted([*config_dir.glob("*.yaml"), *config_dir.glob("*.yml")])


def load_configs(config_dir: Path) -> tuple[dict[str, SourceConfig], list[str]]:
    """All valid configs by slug, and one message per invalid file (never raises for one)."""
    configs: dict[str, SourceConfig] = {}
    errors: list[str] = []
    if not config_dir.is_dir():
        return configs, [f"{config_dir}: config directory not found"]
    for path in config_paths(config_dir):
        try:
            config = load_config(path)
        except ConfigError as err:
            errors.append(str(err))
            continue
        configs[config.slug] = config
    return configs, errors
