"""A problem found in one row while normalising or validating it.

`field` is the mapping target the user wrote in the config (`locations.lat`,
`opening_dates.start_date_2`), so a message points at the source column to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    field: str
    value: Any
    message: str
    severity: Severity = "error"
    rule: str = ""  # the validation rule (see configs.model.RULES); its severity is configurable

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.field}: {self.message}"
        shown = repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return f"{self.field}: {self.message} ({shown})"


def format_issues(issues: Iterable[Issue]) -> str | None:
    """One line per issue, for stage.listings_flat.validation_errors / validation_warnings."""
    text = "\n".join(str(issue) for issue in issues)
    return text or None
