"""Source policies of promotion (config `promotion:`), turned into the parameters promote.sql uses.

The columns each production table takes from the source are listed once here; a claimed record
or skip_if_exists keeps ("locks") some of them, per table, as arrays the SQL merges with the
row's manually edited fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from listings_pipeline.promotion.columns import CLAIMABLE_FIELDS, SOURCE_COLUMNS

if TYPE_CHECKING:
    from listings_pipeline.configs.model import PromotionSettings


@dataclass(frozen=True)
class PromotionPolicy:
    merge_policy: str = "latest_wins"
    claim_policy: str = "source_wins"
    claim_fields: tuple[str, ...] = ()
    flag_only: bool = False

    @classmethod
    def from_settings(cls, settings: PromotionSettings) -> PromotionPolicy:
        return cls(
            merge_policy=settings.merge_policy,
            claim_policy=settings.claimed_records.policy,
            claim_fields=tuple(settings.claimed_records.fields),
            flag_only=settings.on_missing == "flag_only",
        )

    def claim_locks(self) -> dict[str, list[str]]:
        """Per table, the columns a claimed record keeps."""
        if self.claim_policy == "source_wins":
            return {table: [] for table in SOURCE_COLUMNS}
        allowed = {CLAIMABLE_FIELDS[f] for f in self.claim_fields}
        if self.claim_policy == "skip":
            allowed = set()
        return {
            table: [c for c in columns if (table, c) not in allowed]
            for table, columns in SOURCE_COLUMNS.items()
        }

    def params(self) -> dict[str, Any]:
        """The bind parameters of promote.sql's policy statements."""
        locks = self.claim_locks()
        return {
            "policy": self.merge_policy,
            "skip_existing": self.merge_policy == "skip_if_exists",
            "flag_only": self.flag_only,
            **{f"all_{t}": list(columns) for t, columns in SOURCE_COLUMNS.items()},
            **{f"claim_{t}": locks[t] for t in SOURCE_COLUMNS},
        }
