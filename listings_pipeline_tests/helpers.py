"""Small builders for tests: CSV files, configs, a console without accounts."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from listings_pipeline.configs import SourceConfig

CSV_FIELDS = ["ID", "Name", "Address1", "City", "Country", "Lat", "Lng", "Description", "Email",
              "Phone", "Image1", "Image2", "Attributes", "MonOpen", "MonClose"]  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, str]], fields: list[str] | None = None) -> Path:
    fields = fields or CSV_FIELDS
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({f: row.get(f, "") for f in fields})
    return path


def csv_config(slug: str = "dmo1-csv", dmo_id: int = 1, **overrides: object) -> SourceConfig:
    data: dict[str, object] = {
        "slug": slug,
        "dmo_id": dmo_id,
        "dmo_name": f"DMO {dmo_id}",
        "name": f"{slug} listings",
        "source_type": "csv",
        "import": {"source_id": {"field": "ID"}},
        "transform": {
            "map_fields": {
                "listings.name": "Name",
                "locations.address1": "Address1",
                "locations.city": "City",
                "locations.country": "Country",
                "locations.lat": "Lat",
                "locations.lng": "Lng",
                "listing_info.description": "Description",
                "contact_info.email": "Email",
                "contact_info.local_phone": "Phone",
                "listing_images.image_1": "Image1",
                "listing_images.image_2": "Image2",
                "bridge_attributes_listings.attributes": "Attributes",
                "opening_hours.mon_open": "MonOpen",
                "opening_hours.mon_close": "MonClose",
            },
            "round_lat_lng": 5,
        },
    }
    data.update(overrides)
    return SourceConfig.model_validate(data)


def place(i: int, **overrides: str) -> dict[str, str]:
    row = {
        "ID": f"P{i}",
        "Name": f"Place {i}",
        "Address1": f"{i} Water Street",
        "City": "Halifax",
        "Country": "CA",
        "Lat": f"44.{6000 + i}",
        "Lng": f"-63.{5700 + i}",
        "Description": f"Description of place {i}.",
        "Email": f"info{i}@example.com",
        "Phone": "902-555-0100",
        "Image1": f"http://127.0.0.1/img/{i}.jpg",
        "Attributes": "Tours, Food",
        "MonOpen": "09:00",
        "MonClose": "17:00",
    }
    row.update(overrides)
    return row


def cli_env(home: Path, configs: Path, **extra: str) -> dict[str, str]:
    """The environment of a `listings-pipeline` subprocess with its own state under `home`
    (embedded PostgreSQL, raw files, Dagster instance) unless `extra` names a database: none of
    the developer's own LISTINGS_*/DAGSTER_HOME settings leak in."""
    env = {**os.environ, "LISTINGS_HOME": str(home / "state"), "LISTINGS_CONFIG_DIR": str(configs)}
    for name in (
        "DAGSTER_HOME",
        "LISTINGS_DATABASE_URL",
        "LISTINGS_DAGSTER_DATABASE_URL",
        "LISTINGS_WORKER_MEMORY_MB",
    ):
        env.pop(name, None)
    return env | extra


AUTH_TABLES = (
    "auth.users, auth.sessions, auth.api_tokens, auth.user_roles, auth.login_throttle,"
    " auth.login_devices"
)


def clear_accounts(engine: Engine) -> None:
    """`engine` empties public/pipeline/stage; console accounts live in auth."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {AUTH_TABLES}"))


def fresh_console(engine: Engine) -> Any:
    """The console app over `engine`, with no accounts, sessions or tokens yet."""
    from listings_pipeline.console import create_app

    clear_accounts(engine)
    return create_app(engine_factory=lambda: engine)
