"""Fuzzy matching of stage rows to production listings (seed 002), set-based in SQL.

Runs after the bridge-table and match-hash lookups, over the rows they left unlinked:

1. candidates by blocking keys (rare name words, the name without spaces, house number +
   street, postcode, a ~100 m grid cell, phone), never by a catalogue-wide scan; a key that
   more than `max_block` listings (or rows) share is ignored, so no block is ever large;
2. each candidate pair compared field by field into levels (match_model.COMPARISONS);
3. a Fellegi–Sunter model per pair of sources, estimated by EM over this job's candidate
   pairs plus the reviewers' decisions on earlier suggestions (pipeline.match_labels), scores
   each level pattern; the model is stored in pipeline.match_models;
4. the best candidate of each row: linked (match_method 'fuzzy', listing_internal_id) when
   sure and unambiguous, else suggested for a reviewer (match_method 'suggested',
   match_candidate_id). What the matcher saw goes into the row's match_signals.

The SQL is in fuzzy_match.sql; the thresholds in the source config's transform.matching.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, text

from listings_pipeline.configs.model import MatchingSettings, TransformSettings
from listings_pipeline.db import load_queries
from listings_pipeline.transform.match_model import Model, Pattern, estimate, pattern_of

Q = load_queries(__file__, "fuzzy_match.sql")
# work_mem of the step (fuzzy_match.sql set_work_mem)
WORK_MEM = "64MB"
# The statements that find the candidates, in order (fuzzy_match.sql; with :max_block etc.).
CANDIDATE_STEPS = ("hits", "hits_index", "hits_cell_index", "hits_analyze", "cells",
                   "cells_index", "told", "told_index", "told_analyze", "candidates")  # fmt: skip


@dataclass(frozen=True)
class FuzzyCounts:
    considered: int  # unlinked rows looked at
    fuzzy: int  # linked automatically
    suggested: int  # candidate left for review
    pairs: int = 0  # candidate pairs compared

    @property
    def unmatched(self) -> int:
        return self.considered - self.fuzzy - self.suggested

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "pairs"} | {
            "unmatched": self.unmatched
        }


def _models(conn: Connection) -> dict[tuple[int, int], Model]:
    """Estimate the model of each pair of sources this job's candidates involve; store it."""
    patterns: dict[tuple[int, int], list[tuple[Pattern, int, int]]] = defaultdict(list)
    rows: dict[tuple[int, int], int] = {}
    for row in conn.execute(text(Q["patterns"])):
        patterns[(row.dmo_id, row.other_dmo)].append((pattern_of(row.levels), row.n, row.rows))
    for row in conn.execute(text(Q["pattern_rows"])):
        rows[(row.dmo_id, row.other_dmo)] = row.n
    models: dict[tuple[int, int], Model] = {}
    for dmo_id in {d for d, _ in patterns}:
        others = [o for d, o in patterns if d == dmo_id]
        labels: dict[int, list[tuple[Pattern, bool]]] = defaultdict(list)
        for row in conn.execute(text(Q["labels"]), {"dmo_id": dmo_id, "others": others}):
            labels[row.other_dmo_id].append((pattern_of(row.levels), row.is_match))
        for other in others:
            model = estimate(patterns[(dmo_id, other)], labels[other], rows=rows[(dmo_id, other)])
            models[(dmo_id, other)] = model
            conn.execute(
                text(Q["save_model"]),
                {"dmo_id": dmo_id, "other_dmo_id": other, "params": json.dumps(model.as_json()),
                 "pairs": model.pairs, "labels": model.labels},
            )  # fmt: skip
    weights = [
        {"other": other, "levels": list(p), "weight": model.weight(p),
         "probability": model.probability(p)}
        for (dmo_id, other), model in models.items()
        for p, _pairs, _rows in patterns[(dmo_id, other)]
    ]  # fmt: skip
    conn.execute(text(Q["weights"]), {"weights": json.dumps(weights)})
    return models


def match_unmatched(
    conn: Connection, job_id: int, settings: MatchingSettings | TransformSettings
) -> FuzzyCounts:
    """Match the job's unlinked stage rows; return the counts. Runs in the caller's
    transaction."""
    matching = settings.matching if isinstance(settings, TransformSettings) else settings
    if not matching.enabled:
        return FuzzyCounts(0, 0, 0)
    # An empty catalogue (a first import): nothing to compare with, and computing the keys of
    # every row would be most of the work.
    if not conn.execute(
        text("SELECT EXISTS (SELECT FROM pipeline.listing_match_profiles)")
    ).scalar():
        return FuzzyCounts(0, 0, 0)
    previous_work_mem = conn.execute(text(Q["work_mem"])).scalar_one()
    conn.execute(text(Q["set_work_mem"]), {"value": WORK_MEM})
    conn.execute(text(Q["reset"]))
    conn.execute(text(Q["merge_keys"]))
    conn.execute(text(Q["sources"]), {"job_id": job_id})
    conn.execute(text(Q["sources_analyze"]))
    blocks = {
        "max_block": matching.max_block_size,
        "max_candidates": matching.max_candidates,
        "max_weak": matching.max_weak_candidates,
    }
    for step in CANDIDATE_STEPS:
        conn.execute(text(Q[step]), blocks)
    conn.execute(text(Q["profiles"]))
    conn.execute(text(Q["profiles_analyze"]))
    conn.execute(text(Q["pairs"]))
    conn.execute(text("ANALYZE match_pairs"))
    _models(conn)
    # the weights' real size (~2,000 rows): decide then joins the pairs to them by hash instead
    # of sorting every pair by its level array
    conn.execute(text("ANALYZE match_weights"))
    row = conn.execute(
        text(Q["decide"]),
        {
            "job_id": job_id,
            "auto": matching.auto_threshold,
            "suggest": matching.suggest_threshold,
            "margin": matching.min_margin,
            "margin_bits": matching.min_margin_bits,
            "min_name_level": matching.auto_min_name_level,
            "far_m": matching.far_distance_m,
            "phone_m": matching.phone_distance_m,
        },
    ).one()
    conn.execute(text(Q["set_work_mem"]), {"value": previous_work_mem})
    return FuzzyCounts(row.considered, row.fuzzy, row.suggested, row.pairs)
