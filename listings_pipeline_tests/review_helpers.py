"""Helpers for the review/promotion/history/policy tests: run a job to the gate, look at stage
rows and production, and checksum production independently of surrogate id values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from listings_pipeline import pipeline
from listings_pipeline.configs import SourceConfig
from listings_pipeline.transform.stage import row_step
from listings_pipeline_tests.helpers import CSV_FIELDS, write_csv

DATE_FIELDS = [*CSV_FIELDS, "Start1", "End1"]


def stage_job(
    engine: Engine,
    config: SourceConfig,
    directory: Path,
    rows: list[dict[str, str]],
    fields: list[str] | None = None,
) -> int:
    """Import and transform `rows` as a new job of `config`; return the job id."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{config.slug}-{len(list(directory.iterdir()))}.csv"
    path = write_csv(directory / name, rows, fields)
    job_id = pipeline.start_job(engine, config, input_path=path)
    pipeline.import_stage(engine, job_id, config, path)
    pipeline.transform_stage(engine, job_id, config)
    return job_id


def run_job(
    engine: Engine,
    config: SourceConfig,
    directory: Path,
    rows: list[dict[str, str]],
    fields: list[str] | None = None,
) -> int:
    """Import, transform and promote (everything waiting for review is approved)."""
    job_id = stage_job(engine, config, directory, rows, fields)
    if not pipeline.gate(engine, job_id).passed:
        from listings_pipeline.review import decide

        decide(engine, job_id, "approve", all_rows=True, reviewer="rita")
    pipeline.promote_stage(engine, job_id, config, promoted_by="test")
    return job_id


def kinds(engine: Engine, job_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_id, change_kind FROM stage.listings_flat WHERE job_id = :j"),
            {"j": job_id},
        )
        return {r.source_id: r.change_kind for r in rows}


def stage_row(engine: Engine, job_id: int, source_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT * FROM stage.listings_flat WHERE job_id = :j AND source_id = :s"),
                {"j": job_id, "s": source_id},
            )
            .mappings()
            .one()
        )


def listing(engine: Engine, source_id: str, dmo_id: int = 1) -> dict[str, Any]:
    """The production listing + its location, listing_info and contact of a source record."""
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT l.*, li.id AS info_id, li.description, li.info_status,"
                    " li.info_visible, li.origin_deleted AS info_origin_deleted,"
                    " li.manually_modified AS info_manual,"
                    " loc.lat, loc.lng, loc.city, ci.email,"
                    " (SELECT array_agg(image ORDER BY sort_order) FROM public.listing_images i"
                    "  WHERE i.listing_info_id = li.id) AS images"
                    " FROM pipeline.bridge_source_target b"
                    " JOIN public.listing_info li ON li.id = b.target_id"
                    " JOIN public.listings l ON l.id = li.listing_id"
                    " LEFT JOIN public.locations loc ON loc.id = l.location_id"
                    " LEFT JOIN public.contact_info ci ON ci.id = li.contact_info_id"
                    " WHERE b.dmo_id = :d AND b.source_id = :s AND b.target_type = 'listing_info'"
                ),
                {"d": dmo_id, "s": source_id},
            )
            .mappings()
            .one()
        )


def make_uncertain(engine: Engine, job_id: int, source_id: str, candidate: int) -> int:
    """What the fuzzy matcher leaves for review: a suggested (uncertain) match to `candidate`.
    The change kind is derived by the transform's own review-flag statement."""
    with engine.begin() as conn:
        stage_id = conn.execute(
            text(
                "UPDATE stage.listings_flat SET match_method = 'suggested', match_score = 0.8,"
                " match_candidate_id = :c WHERE job_id = :j AND source_id = :s RETURNING id"
            ),
            {"c": candidate, "j": job_id, "s": source_id},
        ).scalar_one()
        conn.execute(
            text(row_step("review_flags", "stage.listings_flat", "b.id = ANY(:ids)")),
            {"ids": [stage_id], "require_review": ["uncertain_match"]},
        )
    return stage_id


# Checksums of production. Surrogate ids are replaced by their rank in their table: a crashed
# batch leaves gaps in the sequences (nextval is not transactional), nothing else may differ.
_SKIP = {"created_at", "updated_at", "promoted_at", "promoted_by", "mapped_at", "last_seen_at",
         "changed_at", "id", "xact_id"}  # fmt: skip
_FKS = {
    "listings": {"location_id": "locations"},
    "listing_info": {"listing_id": "listings", "contact_info_id": "contact_info"},
    "listing_images": {"listing_info_id": "listing_info"},
    "opening_dates": {"listing_info_id": "listing_info"},
    "opening_hours": {"listing_info_id": "listing_info", "opening_date_id": "opening_dates"},
    "bridge_attributes_listings": {"listing_id": "listings", "attribute_id": "attributes"},
}
_TABLES = (
    "dmos", "locations", "listings", "contact_info", "listing_info", "listing_images",
    "opening_dates", "opening_hours", "attributes", "bridge_attributes_listings",
)  # fmt: skip


# ...and, to compare runs that took different jobs to the same result, the job references.
_JOB_COLUMNS = {"job_id", "stage_id", "last_seen_job_id", "last_missed_job_id"}


def checksums(engine: Engine, *, ignore_jobs: bool = False) -> dict[str, str]:
    """md5 per production table (and the bridge and history), order- and id-independent."""
    skip = _SKIP | _JOB_COLUMNS if ignore_jobs else _SKIP
    with engine.connect() as conn:
        rows = {
            t: [dict(r) for r in conn.execute(text(f"SELECT * FROM public.{t}")).mappings()]
            for t in _TABLES
        }
        rows["bridge"] = [
            dict(r)
            for r in conn.execute(text("SELECT * FROM pipeline.bridge_source_target")).mappings()
        ]
        rows["history"] = [
            dict(r) for r in conn.execute(text("SELECT * FROM pipeline.listing_history")).mappings()
        ]
    rank = {
        t: {row["id"]: n for n, row in enumerate(sorted(rows[t], key=lambda r: r["id"]))}
        for t in _TABLES
        if rows[t] and "id" in rows[t][0]
    }

    def ref(table: str, value: Any) -> Any:
        return None if value is None else rank.get(table, {}).get(value, f"missing:{value}")

    def normal(table: str, row: dict[str, Any]) -> str:
        out = {k: v for k, v in row.items() if k not in skip}
        for column, target in _FKS.get(table, {}).items():
            out[column] = ref(target, out[column])
        if "id" in row and table in rank:
            out["rank"] = rank[table][row["id"]]
        if table == "bridge":
            out["target_id"] = ref(str(row["target_type"]), row["target_id"])
        if table == "history":
            out["target_id"] = ref(row["target_table"], row["target_id"])
            out["listing_id"] = ref("listings", row["listing_id"])
            for key, target in (("listing_id", "listings"), ("location_id", "locations"),
                                ("contact_info_id", "contact_info")):  # fmt: skip
                if key in out["changes"]:
                    change = out["changes"][key]
                    out["changes"][key] = {k: ref(target, v) for k, v in change.items()}
        return json.dumps(out, sort_keys=True, default=str)

    return {
        table: hashlib.md5(
            "\n".join(sorted(normal(table, r) for r in table_rows)).encode()
        ).hexdigest()
        for table, table_rows in rows.items()
    }
