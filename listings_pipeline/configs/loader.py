"""Read source configs from YAML files; every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from listings_pipeline.configs.model import SourceConfig


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


def _describe(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid config"]
    for problem in err.errors():
        key = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        message = problem["msg"]
        if problem["type"] == "missing":
            message = "required key is missing"
        elif problem["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def load_config(path: Path) -> SourceConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: file not found") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level")
    try:
        config = SourceConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(path, err)) from err
    if config.slug != path.stem:
        raise ConfigError(f"{path}: slug {config.slug!r} must match the file name {path.stem!r}")
    return config


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
