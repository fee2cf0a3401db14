"""The human review gate (seed 000 "Manual Review"): what waits, and people's decisions."""

from listings_pipeline.review.decisions import (
    KINDS,
    DecisionResult,
    ReviewError,
    decide,
    review_rows,
    review_summary,
)

__all__ = ["KINDS", "DecisionResult", "ReviewError", "decide", "review_rows", "review_summary"]
