"""The quality of a job's records (issue 20): the distribution of their quality scores (console
job page, job API, Dagster metadata of staged_rows), and the quality hold — a job whose
average score is below the config's `review.min_average_quality` stops at the review gate with
a `quality` hold until a person accepts it (the job may be promoted) or rejects it (the job is
cancelled). Judged after the transform beside the source-change checks; stored and decided
through `listings_pipeline.review.holds` like them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.review.holds import Finding

Q = load_queries(__file__, "quality.sql")

QUANTILES = (10, 25, 50, 75, 90)  # percent


@dataclass(frozen=True)
class QualityDistribution:
    """A job's record quality scores (0-100): how many, mean, extremes, quantiles and a
    histogram of 10 buckets (0-10, 10-20, ... 90-100)."""

    records: int
    scored: int  # records with a score (validation.quality_scoring enabled)
    mean: float | None
    min: float | None
    max: float | None
    quantiles: dict[int, float] = field(default_factory=dict)  # {10: p10, 25: ..., 90: p90}
    histogram: list[int] = field(default_factory=lambda: [0] * 10)

    @property
    def buckets(self) -> list[tuple[str, int]]:
        return [(f"{10 * i}-{10 * i + 10}", n) for i, n in enumerate(self.histogram)]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "quantiles": {f"p{q}": v for q, v in self.quantiles.items()}}


def _float(v: Any) -> float | None:
    return None if v is None else round(float(v), 2)


def quality_distribution(conn: Connection, job_id: int) -> QualityDistribution:
    """The distribution of the quality scores of a job's records (for the console's job page
    and the Dagster metadata of staged_rows)."""
    row = conn.execute(text(Q["quality"]), {"job_id": job_id}).one()
    histogram = [0] * 10
    for bucket, n in conn.execute(text(Q["quality_histogram"]), {"job_id": job_id}):
        histogram[bucket] = n
    values = row.quantiles if row.scored else [None] * len(QUANTILES)
    return QualityDistribution(
        records=row.records,
        scored=row.scored,
        mean=_float(row.mean),
        min=_float(row.min),
        max=_float(row.max),
        quantiles={q: _float(v) for q, v in zip(QUANTILES, values, strict=True) if v is not None},
        histogram=histogram,
    )


def quality_findings(
    conn: Connection, job_id: int, config: SourceConfig, quality: QualityDistribution
) -> list[Finding]:
    """A `quality` finding when the job's average score is below the configured minimum."""
    minimum = config.review.min_average_quality
    if minimum is None or not quality.scored or quality.mean is None or quality.mean >= minimum:
        return []
    previous = conn.execute(
        text(Q["previous_mean"]), {"slug": config.slug, "job_id": job_id}
    ).scalar()
    return [
        Finding(
            kind="quality",
            subject="average",
            evidence={
                "check": "quality_average",
                "mean": quality.mean,
                "min_average": minimum,
                "previous_mean": None if previous is None else float(previous),
                "scored": quality.scored,
                "records": quality.records,
                "quantiles": {f"p{q}": v for q, v in quality.quantiles.items()},
                "histogram": quality.histogram,
            },
        )
    ]
