"""Schedule and partition-sync decisions a sensor makes each tick (no Dagster involved)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from listings_pipeline.orchestration.schedules import (
    ScheduledConfig,
    due_runs,
    evaluate_tick,
    plan_partition_sync,
    run_key,
)

DAILY_3AM = "0 3 * * *"
T0 = datetime(2026, 5, 1, 2, 59, 30, tzinfo=UTC)


def at(hhmmss: str, day: int = 1) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(2026, 5, day, h, m, s, tzinfo=UTC)


def tick(configs: list[ScheduledConfig], cursor: str | None, now: datetime):
    return due_runs(configs, cursor, now)


def test_new_config_is_not_owed_past_ticks_and_runs_at_its_next_tick() -> None:
    configs = [ScheduledConfig("alpine-csv", DAILY_3AM, "v1")]
    first = tick(configs, None, at("04:00:00"))  # 03:00 today already passed
    assert first.runs == [] and first.errors == []

    assert tick(configs, first.cursor, at("04:00:30")).runs == []
    next_day = tick(configs, first.cursor, at("03:00:10", day=2))
    assert [r.run_key for r in next_day.runs] == ["alpine-csv:2026-05-02T03:00:00+00:00"]
    assert next_day.runs[0].config_version == "v1"
    assert next_day.runs[0].missed_earlier is False


def test_cron_due_exactly_once_and_not_before() -> None:
    configs = [ScheduledConfig("alpine-csv", DAILY_3AM, "v1")]
    cursor = tick(configs, None, T0).cursor
    not_yet = tick(configs, cursor, at("02:59:59"))
    assert not_yet.runs == []

    due = tick(configs, not_yet.cursor, at("03:00:00"))  # a tick exactly at 03:00 counts
    assert [r.run_key for r in due.runs] == ["alpine-csv:2026-05-01T03:00:00+00:00"]
    assert due.runs[0].scheduled_for == at("03:00:00")

    after = tick(configs, due.cursor, at("03:00:30"))
    assert after.runs == []


def test_same_tick_evaluated_twice_gives_the_same_run_key() -> None:
    """A tick retried from the old cursor (e.g. the run request failed) must not start a
    second run: Dagster dedupes by run key, so the key must be identical."""
    configs = [ScheduledConfig("alpine-csv", DAILY_3AM, "v1")]
    cursor = tick(configs, None, T0).cursor
    first = tick(configs, cursor, at("03:00:20"))
    retried = tick(configs, cursor, at("03:00:50"))
    assert [r.run_key for r in first.runs] == [r.run_key for r in retried.runs]
    assert first.runs[0].run_key == run_key("alpine-csv", at("03:00:00"))


def test_daemon_down_for_a_day_starts_exactly_one_run_for_the_latest_tick() -> None:
    configs = [
        ScheduledConfig("hourly-api", "0 * * * *", "a"),
        ScheduledConfig("alpine-csv", DAILY_3AM, "b"),
    ]
    cursor = tick(configs, None, at("10:00:30")).cursor
    back = tick(configs, cursor, at("11:30:00", day=2))  # ~25 hours later

    assert [(r.slug, r.scheduled_for) for r in back.runs] == [
        ("alpine-csv", at("03:00:00", day=2)),
        ("hourly-api", at("11:00:00", day=2)),
    ]
    assert all(r.missed_earlier for r in back.runs[1:])  # 25 hourly ticks were skipped
    assert back.runs[0].missed_earlier is False  # only one 03:00 fell in the window
    assert tick(configs, back.cursor, at("11:31:00", day=2)).runs == []


def test_changed_cron_counts_from_the_change_and_version_change_keeps_the_schedule() -> None:
    cursor = tick([ScheduledConfig("alpine-csv", DAILY_3AM, "v1")], None, T0).cursor

    # Only the version changed: the 03:00 tick is still honoured, with the new version.
    same_cron = tick([ScheduledConfig("alpine-csv", DAILY_3AM, "v2")], cursor, at("03:01:00"))
    assert [(r.slug, r.config_version) for r in same_cron.runs] == [("alpine-csv", "v2")]

    # Cron changed to every 15 minutes at 03:01: no run for 03:00 under the new cron...
    every_15 = [ScheduledConfig("alpine-csv", "*/15 * * * *", "v3")]
    changed = tick(every_15, cursor, at("03:01:00"))
    assert changed.runs == []
    # ...and the next one follows the new cron.
    later = tick(every_15, changed.cursor, at("03:15:05"))
    assert [r.run_key for r in later.runs] == ["alpine-csv:2026-05-01T03:15:00+00:00"]


def test_deleted_and_unscheduled_configs_leave_the_cursor() -> None:
    configs = [
        ScheduledConfig("alpine-csv", DAILY_3AM, "v1"),
        ScheduledConfig("coast-api", "*/10 * * * *", "v1"),
    ]
    cursor = tick(configs, None, T0).cursor
    assert set(json.loads(cursor)["slugs"]) == {"alpine-csv", "coast-api"}

    remaining = [ScheduledConfig("coast-api", None, "v2")]  # alpine deleted, coast manual now
    result = tick(remaining, cursor, at("03:30:00"))
    assert result.runs == [] and result.errors == []
    assert json.loads(result.cursor)["slugs"] == {}


def test_invalid_cron_is_an_error_for_that_slug_only() -> None:
    configs = [
        ScheduledConfig("bad-fields", "0 3 * *", "v1"),
        ScheduledConfig("bad-minute", "61 * * * *", "v1"),
        ScheduledConfig("with-seconds", "0 0 3 * * *", "v1"),
        ScheduledConfig("never", "0 0 31 2 *", "v1"),
        ScheduledConfig("good", "*/5 * * * *", "v1"),
    ]
    cursor = tick(configs, None, T0).cursor
    result = tick(configs, cursor, at("03:00:00"))

    assert [r.slug for r in result.runs] == ["good"]
    messages = {e.slug: e.message for e in result.errors}
    assert messages == {
        "bad-fields": "config 'bad-fields': schedule '0 3 * *' must have 5 fields "
        "(minute hour day-of-month month day-of-week) or be an alias such as @daily",
        "bad-minute": "config 'bad-minute': schedule '61 * * * *' is not a valid cron expression",
        "with-seconds": "config 'with-seconds': schedule '0 0 3 * * *' must have 5 fields "
        "(minute hour day-of-month month day-of-week) or be an alias such as @daily",
        "never": "config 'never': schedule '0 0 31 2 *' never matches a date (e.g. 31 February)",
    }
    assert set(json.loads(result.cursor)["slugs"]) == {"good"}


def test_alias_and_timezone() -> None:
    configs = [ScheduledConfig("alpine-csv", "@daily", "v1")]
    vienna = ZoneInfo("Europe/Vienna")  # UTC+2 in May: local midnight is 22:00 UTC
    cursor = due_runs(configs, None, at("21:00:00"), vienna).cursor
    result = due_runs(configs, cursor, at("22:00:01"), vienna)
    assert [r.run_key for r in result.runs] == ["alpine-csv:2026-05-01T22:00:00+00:00"]


def test_unreadable_cursor_starts_afresh_without_starting_anything() -> None:
    configs = [ScheduledConfig("alpine-csv", DAILY_3AM, "v1")]
    result = tick(configs, "{not json", at("03:00:00"))
    assert result.cursor_reset is True
    assert result.runs == []
    assert tick(configs, result.cursor, at("03:00:00", day=2)).runs[0].slug == "alpine-csv"


def test_clock_stepping_back_does_not_repeat_a_started_tick() -> None:
    configs = [ScheduledConfig("alpine-csv", DAILY_3AM, "v1")]
    cursor = tick(configs, None, T0).cursor
    started = tick(configs, cursor, at("03:00:30"))
    assert len(started.runs) == 1
    stepped_back = tick(configs, started.cursor, at("03:00:10"))
    assert stepped_back.runs == []
    assert tick(configs, stepped_back.cursor, at("03:01:00")).runs == []


def test_naive_now_and_duplicate_slugs_are_programming_errors() -> None:
    configs = [ScheduledConfig("alpine-csv", DAILY_3AM, "v1")]
    with pytest.raises(ValueError, match="timezone-aware"):
        due_runs(configs, None, datetime(2026, 5, 1, 3))
    with pytest.raises(ValueError, match="'alpine-csv' is listed twice"):
        due_runs(configs * 2, None, T0)


def test_partition_sync_adds_new_and_removes_deleted_configs() -> None:
    result = plan_partition_sync(
        ["alpine-csv", "coast-api"], None, lambda: ["alpine-csv", "old-feed"]
    )
    assert result.to_add == ["coast-api"]
    assert result.to_remove == ["old-feed"]
    assert result.checked is True


def test_partition_sync_with_unchanged_configs_reads_nothing() -> None:
    first = plan_partition_sync(["alpine-csv", "coast-api"], None, lambda: [])

    def must_not_be_called() -> list[str]:
        raise AssertionError("current partition keys were read although configs are unchanged")

    again = plan_partition_sync(["coast-api", "alpine-csv"], first.cursor, must_not_be_called)
    assert (again.to_add, again.to_remove, again.checked) == ([], [], False)
    assert again.cursor == first.cursor

    changed = plan_partition_sync(["coast-api"], first.cursor, lambda: ["alpine-csv", "coast-api"])
    assert (changed.to_add, changed.to_remove) == ([], ["alpine-csv"])
    assert changed.cursor != first.cursor


def test_partition_sync_refuses_keys_that_break_the_dagster_ui() -> None:
    with pytest.raises(ValueError, match="'a,b' cannot be a partition key"):
        plan_partition_sync(["a,b"], None, lambda: [])


def test_run_key_is_utc_whatever_the_input_zone() -> None:
    local = datetime(2026, 5, 1, 5, 0, tzinfo=ZoneInfo("Europe/Vienna"))
    assert run_key("x", local) == "x:2026-05-01T03:00:00+00:00"
    assert run_key("x", local) == run_key("x", local.astimezone(UTC) + timedelta(0))


def test_one_tick_adds_partitions_and_schedules_runs_with_one_cursor() -> None:
    configs = [
        ScheduledConfig("alpine-csv", DAILY_3AM, "v1"),
        ScheduledConfig("manual-xlsx", None, "v1"),  # no schedule, still a partition
    ]
    first = evaluate_tick(configs, None, T0, lambda: ["old-feed"])
    assert (first.partitions.to_add, first.partitions.to_remove) == (
        ["alpine-csv", "manual-xlsx"],
        ["old-feed"],
    )
    assert first.schedule.runs == []

    def unchanged() -> list[str]:
        raise AssertionError("partition keys read although configs are unchanged")

    due = evaluate_tick(configs, first.cursor, at("03:00:05"), unchanged)
    assert [r.run_key for r in due.schedule.runs] == ["alpine-csv:2026-05-01T03:00:00+00:00"]
    assert due.partitions.checked is False
    assert evaluate_tick(configs, due.cursor, at("03:00:35"), unchanged).schedule.runs == []
