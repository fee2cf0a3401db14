"""Keep pipeline.configs in step with the YAML files (version bumped when one changes)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries

Q = load_queries(__file__, "sync.sql")


@dataclass(frozen=True)
class StoredConfig:
    id: int
    version: int


def config_hash(config: SourceConfig) -> str:
    canonical = json.dumps(config.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.md5(canonical.encode()).hexdigest()


def sync_config(conn: Connection, config: SourceConfig) -> StoredConfig:
    """Upsert one config (and its DMO); return its id and current version."""
    conn.execute(text(Q["upsert_dmo"]), {"dmo_id": config.dmo_id, "dmo_name": config.dmo_name})
    body = config.to_json()
    conn.execute(
        text(Q["upsert_config"]),
        {
            "slug": config.slug,
            "dmo_id": config.dmo_id,
            "name": config.name,
            "data_domain": config.data_domain,
            "source_type": config.source_type,
            "source_url": config.source_url,
            "schedule": config.schedule,
            "config": json.dumps(body),
            "field_mappings": json.dumps(body["transform"]["map_fields"]),
            "validation_rules": json.dumps(body["validation"]),
            "config_hash": config_hash(config),
            "active": config.active,
        },
    )
    row = conn.execute(text(Q["get_config"]), {"slug": config.slug}).one()
    return StoredConfig(id=row.id, version=row.version)


def sync_all(
    conn: Connection, configs: dict[str, SourceConfig], *, unreadable: Iterable[str] = ()
) -> list[str]:
    """Sync every config; deactivate stored configs whose file is gone; return those slugs.

    `unreadable`: slugs whose file exists but cannot be loaded right now (a typo being fixed);
    they keep their stored state instead of counting as deleted.
    """
    for config in configs.values():
        sync_config(conn, config)
    keep = [*configs, *unreadable]
    return list(conn.execute(text(Q["deactivate_missing"]), {"slugs": keep}).scalars())
