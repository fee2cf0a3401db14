"""Whether a config's `schedule` is a cron expression the project can run."""

from __future__ import annotations

from croniter import croniter


def cron_problem(cron: str) -> str | None:
    """Why `cron` cannot schedule a config (to follow "schedule 'x' "), or None if it can."""
    fields = cron.split()
    alias = len(fields) == 1 and fields[0].startswith("@")
    # croniter also reads a 6th (seconds) field; sensors tick too rarely to honour it.
    if not alias and len(fields) != 5:
        return (
            "must have 5 fields (minute hour day-of-month month day-of-week)"
            " or be an alias such as @daily"
        )
    if not croniter.is_valid(cron):
        return "is not a valid cron expression"
    return None
