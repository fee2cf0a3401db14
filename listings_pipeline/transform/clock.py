"""Times of day and opening hours as people and exports write them.

Pure functions, cached per distinct text (real feeds repeat the same few values):

* `parse_time`: `9:0`, `17:0`, `9.30`, `9h30`, `9am`, `9 a.m.`, `9:30 PM`, `noon`,
  `midnight`, `24:00`, `0900`, `09:00:00` → `HH:MM`;
* `parse_hours`: one day's hours, `8:30-17:0`, `9-5`, `9am–5pm`, `9 to 5`, `9-12, 13-17`,
  `18:00-02:00`, `closed`, `24 hours` → a tuple of (open, close) ranges (empty: closed);
* `parse_week`: a whole week in one text, `Mo-Fr 09:00-17:00; Sa 10:00-14:00`,
  `Mon-Fri 9am-5pm, Sat 10-2`, `24/7` (OpenStreetMap's common forms) → ranges per day.

Ambiguous ranges: a range without am/pm whose close is not after its open, both hours 1-12
written without a leading zero and minutes (if any) with two digits, is read on a 12-hour
clock, as a person reads a shop sign: `9-5` is 09:00-17:00, `8:30-5:30` is 08:30-17:30,
`11-2` is 11:00-14:00. A leading zero (`02:00`), an hour 0 or above 12, or one-digit minutes
(`1:0`, machine output such as Yelp's) mark a 24-hour clock: the close is then past midnight
(`18:00-02:00`, `17:0-1:0`), stored as a close earlier than the open. When only one end has
am/pm, the other takes the same half if that keeps the open before the close (`7-10pm` is
19:00-22:00), else the other half (`9-5pm` is 09:00-17:00). Of several bare ranges in a
day, one that starts before the previous one ends is in the afternoon (`9-12, 1-5` is
09:00-12:00 and 13:00-17:00). `0:00-0:00` is all day.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from functools import lru_cache
from typing import Any

Range = tuple[str, str | None]  # (open HH:MM, close HH:MM or None when not given)

_CLOCK = re.compile(
    r"^(?P<h>\d{1,2})(?:\s*[:h.]\s*(?P<m>\d{1,2}))?(?::(?P<s>\d{2}))?"
    r"\s*(?:h(?:rs?)?)?\s*(?:(?P<half>[ap])\.?\s*m?\.?)?$"
)
_COMPACT = re.compile(r"^(?P<h>\d{1,2})(?P<m>\d{2})(?:\s*(?P<half>[ap])\.?\s*m?\.?)?$")
_WORDS = {"noon": (12, 0), "12 noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-"})
_RANGE = re.compile(r"\s*(?:-|\bto\b|\buntil\b|\btill\b|\btil\b)\s*")
_SEVERAL = re.compile(r"\s*(?:,|;|&|\+|\band\b|\s/\s|\|)\s*")
CLOSED = frozenset(
    ("closed", "close", "off", "none", "n/a", "na", "-", "geschlossen", "ferme", "fermé")
)
ALL_DAY = frozenset(
    ("24 hours", "24hours", "24 hrs", "24hrs", "24h", "24 h", "open 24 hours", "open 24h",
     "24/7", "open 24/7", "all day", "open all day", "00:00-24:00", "0:00-24:00")
)  # fmt: skip
_ALL_DAY_RANGE: tuple[Range, ...] = (("00:00", "24:00"),)

_DAY_NAMES = {
    **dict.fromkeys(("mo", "mon", "monday"), 1),
    **dict.fromkeys(("tu", "tue", "tues", "tuesday"), 2),
    **dict.fromkeys(("we", "wed", "wednesday"), 3),
    **dict.fromkeys(("th", "thu", "thur", "thurs", "thursday"), 4),
    **dict.fromkeys(("fr", "fri", "friday"), 5),
    **dict.fromkeys(("sa", "sat", "saturday"), 6),
    **dict.fromkeys(("su", "sun", "sunday"), 7),
}
_DAY = r"(?:" + "|".join(sorted(_DAY_NAMES, key=len, reverse=True)) + r")\.?"
_DAY_SPAN = rf"{_DAY}(?:\s*(?:-|to)\s*{_DAY})?"
_DAY_LIST = re.compile(
    rf"^(?P<days>{_DAY_SPAN}(?:\s*,\s*{_DAY_SPAN})*|daily|every\s*day|everyday|all\s+week)"
    r"\s*:?\s*(?P<hours>.*)$"
)
# Rules split at ";" or at a comma between a time and a day ("9am-5pm, Sat 10-2"), not in a
# list of days ("Mo,Fr 12:00-16:00").
_RULES = re.compile(rf"\s*(?:;|\n|(?:(?<=[0-9m.])|(?<=off)|(?<=closed)),(?=\s*{_DAY}\b))\s*")
_HOLIDAY_RULE = re.compile(r"^(?:ph|sh)\b")  # public/school holidays: no weekday to put them on


class _Clock:
    """A time as written: hour, minute, am/pm, and whether it looks 24-hour."""

    __slots__ = ("hour", "minute", "half", "written_24h")

    def __init__(self, hour: int, minute: int, half: str | None, written_24h: bool) -> None:
        self.hour, self.minute, self.half, self.written_24h = hour, minute, half, written_24h


@lru_cache(maxsize=4096)
def _read(text: str) -> _Clock | None:
    if text in _WORDS:
        hour, minute = _WORDS[text]
        return _Clock(hour, minute, None, True)
    match = _CLOCK.match(text) or _COMPACT.match(text)
    if match is None:
        return None
    hour_text, minute_text = match["h"], match["m"]
    seconds = match.groupdict().get("s")
    hour, minute = int(hour_text), int(minute_text or 0)
    if minute > 59 or (seconds is not None and int(seconds) > 59):
        return None
    written_24h = (
        hour_text.startswith("0")
        or hour == 0
        or hour > 12
        or (minute_text is not None and len(minute_text) == 1)
    )
    return _Clock(hour, minute, match["half"], written_24h)


def _minutes(clock: _Clock, half: str | None) -> int | None:
    """Minutes since midnight, or None if not a time (13 pm, 25:00)."""
    hour = clock.hour
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 24 or (hour == 24 and clock.minute):
        return None
    return hour * 60 + clock.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clean(value: Any) -> str:
    return str(value).strip().lower().translate(_DASHES)


@lru_cache(maxsize=4096)
def _parse_time_text(text: str) -> str | None:
    clock = _read(text)
    if clock is None:
        return None
    minutes = _minutes(clock, clock.half)
    return None if minutes is None else _hhmm(minutes)


def parse_time(value: Any) -> str | None:
    """HH:MM (24-hour; 24:00 allowed as a closing time), or None if not a time of day."""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    return _parse_time_text(_clean(value))


def _pair(opens: _Clock, closes: _Clock) -> tuple[int | None, int | None]:
    """Open and close in minutes, reading the ambiguous forms as the module docstring says."""
    open_half, close_half = opens.half, closes.half
    if open_half is None and close_half is not None and 1 <= opens.hour <= 12:
        same = _minutes(opens, close_half)
        end = _minutes(closes, close_half)
        open_half = close_half if same is not None and end is not None and same < end else "a"
        if open_half == "a" and close_half == "a":
            open_half = "p"  # 9-5am: an overnight shift starting in the evening
    elif close_half is None and open_half is not None and 1 <= closes.hour <= 12:
        start = _minutes(opens, open_half)
        same = _minutes(closes, open_half)
        close_half = open_half if start is not None and same is not None and same > start else None
        if close_half is None:
            close_half = "p" if open_half == "a" else "a"
    start, end = _minutes(opens, open_half), _minutes(closes, close_half)
    if (
        opens.half is None
        and closes.half is None
        and start is not None
        and end is not None
        and not opens.written_24h
        and not closes.written_24h
        and end <= start
        and closes.hour < 12
    ):
        end += 12 * 60  # 9-5: a shop sign's 12-hour clock
    return start, end


def _one_range(text: str) -> tuple[int, int | None, bool] | str:
    """(open, close or None, whether both ends are bare 1-12 hours) in minutes."""
    parts = _RANGE.split(text, maxsplit=1)
    if len(parts) == 1:
        clock = _read(text)
        single = None if clock is None else _minutes(clock, clock.half)
        if single is None:
            return f"not a time or a range of times ({text!r})"
        return single, None, False
    opens, closes = _read(parts[0]), _read(parts[1])
    if opens is None or closes is None:
        return f"not a range of times ({text!r})"
    start, end = _pair(opens, closes)
    if start is None or end is None or start == 24 * 60:
        return f"not a range of times ({text!r})"
    if start == end == 0:
        return 0, 24 * 60, False  # 0:00-0:00: the whole day
    bare = not (opens.half or closes.half or opens.written_24h or closes.written_24h)
    return start, end, bare


@lru_cache(maxsize=4096)
def _parse_hours_text(text: str) -> tuple[Range, ...] | str:
    if not text or text in CLOSED:
        return ()
    if text in ALL_DAY:
        return _ALL_DAY_RANGE
    ranges: list[Range] = []
    previous_end = 0
    for part in _SEVERAL.split(text):
        if not part:
            continue
        if part in ALL_DAY:
            ranges.extend(_ALL_DAY_RANGE)
            continue
        found = _one_range(part)
        if isinstance(found, str):
            return found
        start, end, bare = found
        if bare and start < previous_end and end is not None and end + 12 * 60 <= 24 * 60:
            start, end = start + 12 * 60, end + 12 * 60  # 9-12, 1-5: the second is afternoon
        previous_end = end if end is not None and end > start else 24 * 60
        ranges.append((_hhmm(start), None if end is None else _hhmm(end)))
    return tuple(ranges)


def parse_hours(value: Any) -> tuple[Range, ...] | str:
    """One day's opening hours as (open, close) ranges; () when closed; a message when the
    text cannot be read. A close earlier than the open is past midnight."""
    return _parse_hours_text(_clean(value))


def _day_ids(selector: str) -> list[int]:
    if selector.startswith(("daily", "every", "all")):
        return list(range(1, 8))
    days: list[int] = []
    for span in re.split(r"\s*,\s*", selector):
        ends = [_DAY_NAMES[d.rstrip(".")] for d in re.split(r"\s*(?:-|to)\s*", span)]
        first, last = ends[0], ends[-1]
        day = first
        while True:  # Fr-Mo wraps over the weekend
            days.append(day)
            if day == last:
                break
            day = day % 7 + 1
    return days


@lru_cache(maxsize=4096)
def _parse_week_text(text: str) -> dict[int, tuple[Range, ...]] | str:
    if text in ALL_DAY:
        return dict.fromkeys(range(1, 8), _ALL_DAY_RANGE)
    week: dict[int, tuple[Range, ...]] = {}
    for rule in _RULES.split(text):
        if not rule or _HOLIDAY_RULE.match(rule):
            continue
        match = _DAY_LIST.match(rule)
        days, hours = (_day_ids(match["days"]), match["hours"]) if match else (range(1, 8), rule)
        ranges = _parse_hours_text(hours.strip() or "closed")
        if isinstance(ranges, str):
            return f"cannot read {rule!r} as days and hours: {ranges}"
        for day in days:  # a later rule replaces an earlier one for its days (OpenStreetMap)
            week[day] = ranges
    return week


def parse_week(value: Any) -> dict[int, tuple[Range, ...]] | str:
    """A week's opening hours in one text: {day_id (1 = Monday): ranges}; days not named
    are closed. A message when the text cannot be read (public-holiday rules are dropped)."""
    return _parse_week_text(_clean(value))
