"""`python -m listings_pipeline.generate OUT_DIR [options]` — see `--help`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from listings_pipeline.generate.demo import write_demo_data
from listings_pipeline.generate.generator import DEFAULT_IMAGE_BASE_URL, GenerateError, generate
from listings_pipeline.generate.output import FORMATS


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    if not formats or set(formats) - set(FORMATS):
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {FORMATS}")
    return formats


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m listings_pipeline.generate",
        description="Write seeded, realistic DMO listings exports with cross-DMO duplicates,"
        " successive snapshots, truth.csv, manifest.json and source configs.",
    )
    parser.add_argument("out_dir", type=Path, help="output directory (must be empty or absent)")
    parser.add_argument("--demo", action="store_true", help="write the small demo dataset")
    parser.add_argument("--dmos", type=int, default=3, help="number of DMOs, 1-8 (default 3)")
    parser.add_argument("--listings-per-dmo", type=int, default=1000)
    parser.add_argument(
        "--overlap", type=float, default=0.2, help="share of each DMO's listings another DMO lists"
    )
    parser.add_argument(
        "--hard-negatives",
        type=float,
        default=0.01,
        help="share of each DMO's listings that is a hotel's restaurant or café whose sibling"
        " (same address and phone) a neighbouring DMO lists",
    )
    parser.add_argument("--description-kb", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--snapshots", type=int, default=3, help="exports per DMO, the first included"
    )
    parser.add_argument("--new-share", type=float, default=0.05)
    parser.add_argument("--changed-share", type=float, default=0.10)
    parser.add_argument("--removed-share", type=float, default=0.03)
    parser.add_argument(
        "--formats", type=_formats, help="csv, jsonl or csv,jsonl (default: both; demo: csv)"
    )
    parser.add_argument("--image-base-url", default=DEFAULT_IMAGE_BASE_URL)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.demo:
        formats = args.formats or ("csv",)
        write_demo_data(args.out_dir, formats=formats, image_base_url=args.image_base_url)
        print(f"Demo data written to {args.out_dir}")
        return 0
    try:
        summary = generate(
            args.out_dir,
            dmos=args.dmos,
            listings_per_dmo=args.listings_per_dmo,
            overlap=args.overlap,
            hard_negatives=args.hard_negatives,
            description_kb=args.description_kb,
            seed=args.seed,
            snapshots=args.snapshots,
            new_share=args.new_share,
            changed_share=args.changed_share,
            removed_share=args.removed_share,
            formats=args.formats or FORMATS,
            image_base_url=args.image_base_url,
        )
    except GenerateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
