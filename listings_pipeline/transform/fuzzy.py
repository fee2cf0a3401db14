"""Fuzzy matching of stage rows to production listings (seed 002), set-based in SQL.

Runs after the bridge-table and match-hash lookups, over the rows they left unlinked.
A confident match sets listing_internal_id (match_method 'fuzzy'); an uncertain one only
match_candidate_id (match_method 'suggested') for a reviewer to confirm. The rules are in
fuzzy_match.sql; the thresholds in the source config's transform.matching.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, text

from listings_pipeline.configs.model import MatchingSettings, TransformSettings
from listings_pipeline.db import load_sql


@dataclass(frozen=True)
class FuzzyCounts:
    considered: int  # unlinked rows looked at
    fuzzy: int  # linked automatically
    suggested: int  # candidate left for review

    @property
    def unmatched(self) -> int:
        return self.considered - self.fuzzy - self.suggested

    def as_dict(self) -> dict[str, int]:
        return asdict(self) | {"unmatched": self.unmatched}


def match_unmatched(
    conn: Connection, job_id: int, settings: MatchingSettings | TransformSettings
) -> FuzzyCounts:
    """Match the job's unlinked stage rows in one statement; return the counts. Runs in the
    caller's transaction."""
    matching = settings.matching if isinstance(settings, TransformSettings) else settings
    if not matching.enabled:
        return FuzzyCounts(0, 0, 0)
    # `%` (pg_trgm) finds name candidates through the index above this similarity.
    conn.execute(
        text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
        {"t": str(matching.candidate_name_similarity)},
    )
    row = conn.execute(
        text(load_sql(__file__, "fuzzy_match.sql")),
        {
            "job_id": job_id,
            "auto": matching.auto_threshold,
            "suggest": matching.suggest_threshold,
            "margin": matching.min_margin,
            "min_name": matching.auto_min_name_similarity,
            "near_m": matching.near_distance_m,
            "far_m": matching.far_distance_m,
        },
    ).one()
    return FuzzyCounts(row.considered, row.fuzzy, row.suggested)
