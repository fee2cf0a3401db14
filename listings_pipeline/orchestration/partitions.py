"""One partition per source config, keyed by its slug."""

from __future__ import annotations

import dagster as dg

source_configs = dg.DynamicPartitionsDefinition(name="source_configs")
