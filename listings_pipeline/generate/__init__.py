"""Seeded, realistic tourism listings for benchmarks, tests and the demo.

`generate()` writes several DMOs' exports (CSV / JSON lines) with cross-DMO duplicates
spelled differently, successive snapshots with new, changed and removed records, the true
matches (truth.csv), a manifest and a source config per DMO. `write_demo_data()` writes the
tiny fixed dataset the demo uses.
"""

from listings_pipeline.generate.demo import write_demo_data
from listings_pipeline.generate.generator import (
    DEFAULT_IMAGE_BASE_URL,
    DmoSummary,
    GenerateError,
    GenerationSummary,
    generate,
)
from listings_pipeline.generate.output import FORMATS, TRUTH_COLUMNS
from listings_pipeline.generate.places import CHANGE_KINDS, COLUMN_TARGETS, COLUMNS

__all__ = [
    "CHANGE_KINDS",
    "COLUMNS",
    "COLUMN_TARGETS",
    "DEFAULT_IMAGE_BASE_URL",
    "FORMATS",
    "TRUTH_COLUMNS",
    "DmoSummary",
    "GenerateError",
    "GenerationSummary",
    "generate",
    "write_demo_data",
]
