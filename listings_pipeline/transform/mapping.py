"""Map a raw record's fields to stage columns (seed 000 3a): flat `table.column` targets,
dotted source paths, numbered fields that become child rows, delimited lists and value maps.

The config is compiled once per job; `map_record` then does dictionary work only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.records import get_path, has_path
from listings_pipeline.transform.targets import DAYS, FLAT_TARGETS, NUMBERED, WEEK_TARGET

CHILD_COLUMNS = ("images", "dates", "hours", "attributes")


_CONTAINERS = frozenset((dict, list, tuple))


def _item(value: Any) -> Any:
    return value if value.__class__ in _CONTAINERS else str(value).strip()


@dataclass(frozen=True)
class _Rule:
    target: str
    source: str


class Mapper:
    """Compiled `transform.map_fields` of one config."""

    def __init__(self, config: SourceConfig) -> None:
        t = config.transform
        self.value_maps = {k: {str(a): b for a, b in v.items()} for k, v in t.value_maps.items()}
        self.delimiter = t.list_delimiter
        self.flat: list[tuple[_Rule, str]] = []
        self.images: list[tuple[int, _Rule]] = []
        self.dates: dict[int, dict[str, _Rule]] = defaultdict(dict)
        self.hours: dict[int, dict[str, _Rule]] = defaultdict(dict)
        self.attributes: list[tuple[int, _Rule]] = []
        self.image_list: _Rule | None = None
        self.attribute_list: _Rule | None = None
        self.week: _Rule | None = None  # opening_hours.week: a whole week in one text
        for target, source in t.map_fields.items():
            rule = _Rule(target, source)
            table, _, column = target.partition(".")
            if target in FLAT_TARGETS:
                self.flat.append((rule, FLAT_TARGETS[target]))
            elif target == "listing_images.images":
                self.image_list = rule
            elif target == "bridge_attributes_listings.attributes":
                self.attribute_list = rule
            elif target == WEEK_TARGET:
                self.week = rule
            else:
                match = NUMBERED[table].match(column)
                assert match is not None  # the config model validated every target
                if table == "listing_images":
                    self.images.append((int(match.group(1)), rule))
                elif table == "bridge_attributes_listings":
                    self.attributes.append((int(match.group(1)), rule))
                elif table == "opening_dates":
                    self.dates[int(match.group(2))][match.group(1)] = rule
                else:
                    day_id = DAYS.index(match.group(1)) + 1
                    key = f"{match.group(2)}_time" if match.group(2) else "range"
                    self.hours[day_id][key] = rule
        self.images.sort()
        self.attributes.sort()
        self.sources = sorted({s for s in t.map_fields.values()})
        self.seen: set[str] = set()  # mapped source fields present in at least one record

    def _value(self, record: dict[str, Any], rule: _Rule) -> Any:
        value = get_path(record, rule.source)
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        if value is not None and rule.target in self.value_maps:
            value = self.value_maps[rule.target].get(str(value), value)
        return value

    def _list(self, value: Any) -> list[Any]:
        """Items of a list field; a nested object among them stays an object, so that the
        normaliser reports it by field instead of storing its text."""
        if value is None:
            return []
        if isinstance(value, list):
            items = value
        elif isinstance(value, str) and value.startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError:
                items = value.split(self.delimiter)
        elif isinstance(value, dict):
            items = [value]
        else:
            items = str(value).split(self.delimiter)
        kept: list[Any] = []
        for item in items:
            if item is None:
                continue
            if item.__class__ in _CONTAINERS:
                kept.append(item)
            elif text := str(item).strip():
                kept.append(text)
        return kept

    def note_fields(self, record: dict[str, Any]) -> None:
        """Remember which mapped source fields `record` has (for `missing_sources`)."""
        if len(self.seen) < len(self.sources):
            self.seen.update(s for s in self.sources if s not in self.seen and has_path(record, s))

    def map_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Stage columns of one record (collections as lists of dicts/strings)."""
        self.note_fields(record)
        row: dict[str, Any] = {column: self._value(record, rule) for rule, column in self.flat}
        images = [v for _, rule in self.images if (v := self._value(record, rule)) is not None]
        if self.image_list is not None:
            images.extend(self._list(self._value(record, self.image_list)))
        row["images"] = [i if i.__class__ is str else _item(i) for i in images]
        attributes = [v for _, rule in self.attributes if (v := self._value(record, rule))]
        if self.attribute_list is not None:
            attributes.extend(self._list(self._value(record, self.attribute_list)))
        row["attributes"] = [a if a.__class__ is str else _item(a) for a in attributes]
        dates = []
        for _, rules in sorted(self.dates.items()):
            entry = {k: self._value(record, r) for k, r in rules.items()}
            if any(v is not None for v in entry.values()):
                dates.append(
                    {"start_date": entry.get("start_date"), "end_date": entry.get("end_date")}
                )
        row["dates"] = dates
        hours: list[dict[str, Any]] = []
        for day_id, rules in sorted(self.hours.items()):
            entry = {k: self._value(record, r) for k, r in rules.items()}
            if "range" in entry:  # the normaliser reads the text (several ranges, 9-5, closed)
                if entry["range"] is not None:
                    hours.append({"day_id": day_id, "range": entry["range"]})
            elif any(v is not None for v in entry.values()):
                hours.append(
                    {
                        "day_id": day_id,
                        "open_time": entry.get("open_time"),
                        "close_time": entry.get("close_time"),
                    }
                )
        if self.week is not None and (week := self._value(record, self.week)) is not None:
            hours.append({"week": week})
        row["hours"] = hours
        return row

    def missing_sources(self) -> list[str]:
        """Mapped source fields that no record of the job had (reported once per job)."""
        return [s for s in self.sources if s not in self.seen]
