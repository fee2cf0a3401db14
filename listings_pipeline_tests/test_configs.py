from __future__ import annotations

from pathlib import Path

import pytest

from listings_pipeline.configs import ConfigError, load_config
from listings_pipeline_tests.conftest import write_config


def test_valid_config_gets_defaults(config_dir: Path) -> None:
    config = load_config(write_config(config_dir))
    assert config.import_.format == "csv"
    assert config.review.require_review == ["delete", "duplicate", "error", "uncertain_match"]
    assert config.promotion.merge_policy == "latest_wins"


def test_missing_key_names_file_and_key(config_dir: Path) -> None:
    path = write_config(config_dir)
    path.write_text(path.read_text().replace("dmo_name: Demo DMO\n", ""))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert "dmo_name: required key is missing" in str(err.value)


def test_unknown_mapping_target_is_named(config_dir: Path) -> None:
    path = write_config(
        config_dir, transform={"map_fields": {"listings.name": "Name", "listings.colour": "C"}}
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "transform.map_fields" in str(err.value)
    assert "listings.colour" in str(err.value)


@pytest.mark.parametrize("slug", ["Has Caps", "a,b", "a|b", "-lead"])
def test_slug_must_be_partition_safe(config_dir: Path, slug: str) -> None:
    path = write_config(config_dir)
    path.write_text(path.read_text().replace("slug: demo-csv", f"slug: '{slug}'"))
    with pytest.raises(ConfigError, match="slug"):
        load_config(path)


def test_invalid_cron_is_refused(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match="cron"):
        load_config(write_config(config_dir, schedule="every day"))
