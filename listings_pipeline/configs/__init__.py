"""Source configs: one DMO + one import type, a YAML file each, a Dagster partition each."""

from listings_pipeline.configs.loader import ConfigError, load_config, load_configs, parse_config
from listings_pipeline.configs.model import SourceConfig

__all__ = ["ConfigError", "SourceConfig", "load_config", "load_configs", "parse_config"]
