"""What the code location shows in the Dagster UI — assets, checks, jobs, schedules, sensors,
resources — compared with a reviewed snapshot, so a change to the Dagster layer is a visible
diff (`LISTINGS_UPDATE_SNAPSHOTS=1 pytest -k snapshot` rewrites it after a deliberate change)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg

from listings_pipeline.definitions import build_definitions
from listings_pipeline_tests.dagster_support import write_source

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def describe(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "group": node.group_name,
            "pools": sorted(node.pools or []),
            "automation": node.automation_condition.get_label()
            if node.automation_condition
            else None,
        }
    checks = {
        f"{c.asset_key.to_user_string()}:{c.name}": {"blocking": graph.get_check_spec(c).blocking}
        for c in sorted(graph.asset_check_keys, key=str)
    }
    repo = defs.get_repository_def()
    jobs = {
        j.name: {
            "partitions": type(j.partitions_def).__name__ if j.partitions_def else None,
            "tags": dict(j.tags),
        }
        for j in sorted(repo.get_all_jobs(), key=lambda j: j.name)
        if not j.name.startswith("__")
    }
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name, "status": s.default_status.value}
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    sensors = {
        s.name: {"type": s.sensor_type.value, "status": s.default_status.value}
        for s in sorted(repo.sensor_defs, key=lambda s: s.name)
    }
    resources = {name: sorted(type(r).model_fields) for name, r in sorted(defs.resources.items())}
    return {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules,
            "sensors": sensors, "resources": resources}  # fmt: skip


def test_definitions_match_the_snapshot(tmp_path: Path) -> None:
    write_source(tmp_path, "harbour-csv", schedule="0 6 * * *")
    write_source(tmp_path, "coast-csv")  # no schedule: no schedule definition
    write_source(tmp_path, "dormant-csv", schedule="0 7 * * *", active=False)
    found = describe(build_definitions(tmp_path))
    if os.environ.get("LISTINGS_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    assert found == json.loads(SNAPSHOT.read_text())
