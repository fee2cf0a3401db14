"""Check a Dagster instance file (dagster.yaml) the way Dagster loads it, without starting it.

Dagster validates the instance schema when it reads the file but checks each configured
class (storage, run launcher, compute log manager, ...) and resolves its `env:` values only
when that class is first used — for the run launcher, when the first run starts. This runs
both steps up front so a deployment fails in CI, with the file and key named, not later.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClassData

# InstanceRef field -> the dagster.yaml key a person would look for.
_STORAGE_FIELDS = {
    "run_storage_data": "run_storage",
    "event_storage_data": "event_log_storage",
    "schedule_storage_data": "schedule_storage",
}
_CLASS_FIELDS = {
    "local_artifact_storage_data": "local_artifact_storage",
    "compute_logs_data": "compute_logs",
    "scheduler_data": "scheduler",
    "run_coordinator_data": "run_coordinator",
    "run_launcher_data": "run_launcher",
    "secrets_loader_data": "secrets",
    "defs_state_storage_data": "defs_state_storage",
}


def check_instance_config(path: Path) -> list[str]:
    """Every problem Dagster would raise for `path`, env vars taken from this process."""
    if not path.is_file():
        return [f"{path}: file not found"]
    try:
        ref = InstanceRef.from_dir(str(path.parent), config_filename=path.name)
    except DagsterInvalidConfigError as err:
        return [f"{path}: {message}" for message in err.error_messages] or [f"{path}: {err}"]
    problems: list[str] = []
    # A unified `storage:` block also fills the three legacy storage fields; check it once.
    fields = {"storage_data": "storage"} if ref.storage_data else _STORAGE_FIELDS
    for field, key in {**fields, **_CLASS_FIELDS}.items():
        data = getattr(ref, field)
        if data is not None:
            problems += [f"{path}: {key}: {p}" for p in _check_class(data)]
    return problems


def _check_class(data: ConfigurableClassData) -> list[str]:
    where = f"{data.module_name}.{data.class_name}"
    try:
        klass = getattr(importlib.import_module(data.module_name), data.class_name)
    except (ImportError, AttributeError) as err:
        return [f"cannot load {where}: {err}"]
    result = process_config(
        resolve_to_config_type(klass.config_type()), yaml.safe_load(data.config_yaml) or {}
    )
    if result.success:
        return []
    return [f"{where}: {_readable(error.message)}" for error in result.errors or []]


_POST_PROCESSING = re.compile(
    r"Post processing at path root:(?P<path>\S+) .*?PostProcessingError: (?P<reason>[^\n]+)",
    re.DOTALL,
)


def _readable(message: str) -> str:
    # An unset env var is reported with a stack trace; keep the key and the reason.
    match = _POST_PROCESSING.search(message)
    if match:
        return f"{match['path'].replace(':', '.')}: {match['reason']}"
    return message


def main(argv: list[str] | None = None) -> int:
    """`python -m listings_pipeline.orchestration.instance_config FILE...`: exit 1 on problems."""
    import sys

    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    problems = [problem for path in paths for problem in check_instance_config(path)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or not paths else 0


if __name__ == "__main__":
    raise SystemExit(main())
