"""When each source config is due, and which partitions should exist — plain Python, no Dagster.

A sensor calls these once per tick with the configs and its cursor (a JSON string), starts the
returned runs, applies the partition changes and stores the returned cursor. The rules:

* A run's key is ``{slug}:{scheduled time, UTC ISO 8601}``. Dagster never starts two runs with
  the same key from one sensor, so a tick evaluated twice cannot start a source twice.
* After downtime only the latest missed tick of each config runs: a daemon that was down for
  a day starts one run per config, not one per missed tick.
* A new config, or one whose cron changed, counts from now: it is owed no run for ticks that
  happened before this evaluation saw it.
* A schedule that cannot be evaluated gives an error message for that slug; the other configs
  are scheduled as usual.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from croniter import CroniterBadDateError, croniter

from listings_pipeline.configs.cron import cron_problem
from listings_pipeline.configs.model import SLUG

_CURSOR_FORMAT = 1


@dataclass(frozen=True)
class ScheduledConfig:
    slug: str
    cron: str | None  # None: the config runs only when started by hand
    version: str  # config hash or version, recorded on the run it starts


@dataclass(frozen=True)
class DueRun:
    slug: str
    scheduled_for: datetime  # UTC
    config_version: str
    missed_earlier: bool  # earlier ticks since the last evaluation were skipped, not run

    @property
    def run_key(self) -> str:
        return run_key(self.slug, self.scheduled_for)


@dataclass(frozen=True)
class ScheduleError:
    slug: str
    message: str


@dataclass(frozen=True)
class ScheduleEvaluation:
    runs: list[DueRun]
    errors: list[ScheduleError]
    cursor: str
    cursor_reset: bool  # the stored cursor was unreadable; every config counts from now


@dataclass(frozen=True)
class _Seen:
    cron: str
    last: datetime


def run_key(slug: str, scheduled_for: datetime) -> str:
    return f"{slug}:{scheduled_for.astimezone(UTC).isoformat()}"


def due_runs(
    configs: Iterable[ScheduledConfig],
    cursor: str | None,
    now: datetime,
    tz: tzinfo = UTC,
) -> ScheduleEvaluation:
    """The runs due at `now` (cron read in `tz`), errors per slug, and the next cursor."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    seen, cursor_reset = _read_cursor(cursor)
    kept: dict[str, _Seen] = {}
    runs: list[DueRun] = []
    errors: list[ScheduleError] = []
    for config in _unique(configs):
        if config.cron is None:
            continue
        where = f"config {config.slug!r}: schedule {config.cron!r}"
        problem = cron_problem(config.cron)
        if problem:
            errors.append(ScheduleError(config.slug, f"{where} {problem}"))
            continue
        before = seen.get(config.slug)
        since = before.last if before and before.cron == config.cron else now
        try:
            tick, missed_earlier = _latest_tick(config.cron, since, now, tz)
        except CroniterBadDateError:
            errors.append(
                ScheduleError(config.slug, f"{where} never matches a date (e.g. 31 February)")
            )
            continue
        # max(): a clock that steps back must not make an already-started tick due again.
        kept[config.slug] = _Seen(config.cron, max(since, now))
        if tick is not None:
            runs.append(DueRun(config.slug, tick, config.version, missed_earlier))
    return ScheduleEvaluation(runs, errors, _write_cursor(kept), cursor_reset)


def _unique(configs: Iterable[ScheduledConfig]) -> list[ScheduledConfig]:
    by_slug: dict[str, ScheduledConfig] = {}
    for config in configs:
        if config.slug in by_slug:
            raise ValueError(f"config slug {config.slug!r} is listed twice")
        by_slug[config.slug] = config
    return [by_slug[slug] for slug in sorted(by_slug)]


def _latest_tick(
    cron: str, after: datetime, upto: datetime, tz: tzinfo
) -> tuple[datetime | None, bool]:
    """The latest tick in (after, upto] and whether an earlier one was also in that window."""
    # croniter's get_prev is strictly before its start; nudge so a tick exactly at `upto` counts.
    ticks = croniter(cron, upto.astimezone(tz) + timedelta(microseconds=1))
    tick = ticks.get_prev(datetime).astimezone(UTC)
    if tick <= after:
        return None, False
    return tick, ticks.get_prev(datetime).astimezone(UTC) > after


def _read_cursor(cursor: str | None) -> tuple[dict[str, _Seen], bool]:
    if not cursor:
        return {}, False
    try:
        data = json.loads(cursor)
        if data["format"] != _CURSOR_FORMAT:
            raise ValueError("unknown cursor format")
        seen = {
            slug: _Seen(entry["cron"], datetime.fromisoformat(entry["last"]))
            for slug, entry in data["slugs"].items()
        }
        if any(entry.last.tzinfo is None for entry in seen.values()):
            raise ValueError("naive time in cursor")
    except (ValueError, KeyError, TypeError, AttributeError):
        # Starting afresh is safe: every config counts from now, nothing is started twice.
        return {}, True
    return seen, False


def _write_cursor(seen: dict[str, _Seen]) -> str:
    slugs = {slug: {"cron": s.cron, "last": s.last.isoformat()} for slug, s in seen.items()}
    return json.dumps({"format": _CURSOR_FORMAT, "slugs": slugs}, sort_keys=True)


@dataclass(frozen=True)
class PartitionSync:
    to_add: list[str]
    to_remove: list[str]
    cursor: str  # fingerprint of the active slugs
    checked: bool  # False: the slugs matched the cursor, so the current keys were not read


def slugs_fingerprint(slugs: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(slugs))).encode()).hexdigest()


def plan_partition_sync(
    active_slugs: Iterable[str],
    cursor: str | None,
    current_keys: Callable[[], Iterable[str]],
) -> PartitionSync:
    """Partition keys to add and remove so they equal `active_slugs`.

    `current_keys` is called only when the active slugs differ from the cursor, so a tick
    with unchanged configs reads nothing from the Dagster instance.
    """
    active = set(active_slugs)
    for slug in sorted(active):
        # Commas and pipes in partition keys break selection and backfills in the UI.
        if not SLUG.match(slug):
            raise ValueError(f"config slug {slug!r} cannot be a partition key")
    fingerprint = slugs_fingerprint(active)
    if cursor == fingerprint:
        return PartitionSync([], [], fingerprint, checked=False)
    current = set(current_keys())
    return PartitionSync(
        sorted(active - current), sorted(current - active), fingerprint, checked=True
    )


@dataclass(frozen=True)
class SensorTick:
    schedule: ScheduleEvaluation
    partitions: PartitionSync
    cursor: str  # both cursors in one JSON string, for the sensor's single cursor


def evaluate_tick(
    configs: Iterable[ScheduledConfig],
    cursor: str | None,
    now: datetime,
    current_keys: Callable[[], Iterable[str]],
    tz: tzinfo = UTC,
    *,
    recheck_partitions: bool = False,
) -> SensorTick:
    """One sensor tick: partitions for every active config, and the runs due now.

    One sensor does both so a run is never requested for a partition that a separate
    sensor has not added yet. `recheck_partitions` compares with the instance's partitions
    even if the slugs are those of the last tick (the caller saw a config change).
    """
    configs = list(configs)
    try:
        parts = json.loads(cursor) if cursor else {}
        schedule_cursor, partition_cursor = parts.get("schedule"), parts.get("partitions")
    except (ValueError, AttributeError):
        schedule_cursor, partition_cursor = cursor, None  # due_runs reports the reset
    if recheck_partitions:
        partition_cursor = None
    partitions = plan_partition_sync((c.slug for c in configs), partition_cursor, current_keys)
    schedule = due_runs(configs, schedule_cursor, now, tz)
    combined = json.dumps(
        {"partitions": partitions.cursor, "schedule": schedule.cursor}, sort_keys=True
    )
    return SensorTick(schedule, partitions, combined)
