"""A problem found in one row's field: errors stop a row from being promoted, warnings don't."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Issue:
    field: str  # a mapping target such as "locations.lat"
    value: Any
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (value {self.value!r})"
