"""The transform stage: raw files → mapped, normalised, validated rows in stage.listings_flat,
with the seed's hashes, lookups and actions decided set-based in SQL.

Records stream from the raw files in batches (by rows or bytes). Each batch is one
transaction: COPY into a temp table, lookups (bridge table, match hash), hashes and actions as
SQL over the batch, one INSERT into the stage table. Then, over the job: fuzzy matching of the
rows still unlinked, geocoding of new rows without coordinates (through the persistent cache),
the same row steps again for the rows those changed, and the whole-job decisions (duplicates,
deletions, review flags). A failed transform keeps its finished batches and geocoding results;
the retry starts at the first record not yet staged, and every whole-job step is idempotent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.importing.raw_files import read_raw_file
from listings_pipeline.importing.raw_store import RawStore, get_raw_store
from listings_pipeline.importing.stage import job_files
from listings_pipeline.jobs import JobError, StageCounts, record_errors
from listings_pipeline.transform.fuzzy import match_unmatched
from listings_pipeline.transform.geocode import Geocoder, geocode_stage
from listings_pipeline.transform.issues import format_issues
from listings_pipeline.transform.mapping import Mapper
from listings_pipeline.transform.normalize import normalize_row
from listings_pipeline.transform.validate import validate_row

Q = load_queries(__file__, "stage.sql")
BATCH_ROWS = 1000
BATCH_BYTES = 2_000_000  # seed 000: keep DB insert batches under 1-2 MB

# Columns the Python side fills, in COPY order.
COPY_COLUMNS = (
    "job_id", "rec_num", "file_id", "dmo_id", "source_id", "imported_from",
    "source_url", "source_identifier",
    "listing_name", "listing_google_place_id", "listing_status", "listing_visible",
    "listing_info_description", "info_status", "info_visible",
    "ci_name", "ci_email", "ci_local_phone", "ci_international_phone", "ci_website_url",
    "ci_socials",
    "loc_address1", "loc_address2", "loc_region", "loc_city", "loc_state", "loc_zip",
    "loc_country", "loc_lat", "loc_lng", "loc_lat_original", "loc_lng_original",
    "images", "dates", "hours", "attributes",
    "validation_errors", "validation_warnings", "quality_score",
)  # fmt: skip
_JSON_COLUMNS = {"ci_socials", "images", "dates", "hours", "attributes"}
LOOKUP_STEPS = (
    "match_hash",
    "lookup_bridge",
    "lookup_match_hash",
    "lookup_listing_info",
    "production_ids",
    "fill_location",
)
DECIDE_STEPS = ("content_hashes", "actions")
# After a row's listing match changed (fuzzy link, or a reviewer's accept/reject of a match).
RESTAGE_STEPS = (*LOOKUP_STEPS[3:], *DECIDE_STEPS)

# A hook run on each batch after the lookups, before hashes and actions.
BatchHook = Callable[[Connection], dict[str, int]]


def collection_flags(mapped_targets: Iterable[str]) -> dict[str, bool]:
    """Which collections the config maps (an unmapped one is left alone, not cleared)."""
    mapped = set(mapped_targets)
    return {
        "images_mapped": any(t.startswith("listing_images.") for t in mapped),
        "dates_mapped": any(t.startswith("opening_dates.") for t in mapped),
        "hours_mapped": any(t.startswith("opening_hours.") for t in mapped),
        "attributes_mapped": any(t.startswith("bridge_attributes_listings.") for t in mapped),
    }


def _ensure_batch_table(conn: Connection) -> None:
    if conn.execute(text("SELECT to_regclass('pg_temp.batch_rows')")).scalar() is None:
        conn.connection.driver_connection.execute(Q["create_batch_table"])


def _stage_columns(conn: Connection) -> str:
    return ", ".join(conn.execute(text(Q["stage_columns"])).scalars())


def row_step(name: str, rows: str, where: str) -> str:
    return Q[name].replace("{rows}", rows).replace("{where}", where)


def redo_rows(
    conn: Connection, ids: list[int], steps: tuple[str, ...], flags: dict[str, bool]
) -> None:
    """Run row steps again over chosen stage rows (after fuzzy matching, geocoding, or a
    reviewer settling a match)."""
    if not ids:
        return
    params = {"ids": ids, **flags}
    for step in steps:
        conn.execute(text(row_step(step, "stage.listings_flat", "b.id = ANY(:ids)")), params)


def recompute_actions(
    conn: Connection, job_id: int, stage_ids: list[int], mapped_targets: Iterable[str]
) -> None:
    """Decide the lookups, hashes, actions and change kind of stage rows again, with the same
    statements as the transform, after their listing match changed (listing_internal_id set
    or cleared). Runs in the caller's transaction."""
    redo_rows(conn, stage_ids, RESTAGE_STEPS, collection_flags(mapped_targets))
    conn.execute(
        text(Q["job_review_flags"]), {"job_id": job_id, "ids": stage_ids, "require_review": []}
    )


@dataclass
class TransformResult:
    counts: StageCounts
    seconds: float
    resumed_from: int
    hook_counts: dict[str, int] = field(default_factory=dict)


def _row_tuple(row: dict[str, Any]) -> tuple:
    return tuple(
        (json.dumps(row[c]) if row.get(c) is not None else None)
        if c in _JSON_COLUMNS
        else row.get(c)
        for c in COPY_COLUMNS
    )


class _Batcher:
    def __init__(self, engine: Engine, config: SourceConfig, hooks: list[BatchHook]) -> None:
        self.engine = engine
        self.config = config
        self.hooks = hooks
        self.rows: list[tuple] = []
        self.bytes = 0
        self.hook_counts: dict[str, int] = {}
        self.flags = collection_flags(config.transform.map_fields)
        self.lookups = [text(row_step(s, "batch_rows", "true")) for s in LOOKUP_STEPS]
        self.decide = [text(row_step(s, "batch_rows", "true")) for s in DECIDE_STEPS]
        with engine.connect() as conn:
            self.insert_sql = Q["batch_to_stage"].format(columns=_stage_columns(conn))

    def add(self, row: tuple, size: int) -> None:
        self.rows.append(row)
        self.bytes += size
        if len(self.rows) >= BATCH_ROWS or self.bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        with self.engine.begin() as conn:
            _ensure_batch_table(conn)
            raw = conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY batch_rows ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy,
            ):
                for row in self.rows:
                    copy.write_row(row)
            for step in self.lookups:
                conn.execute(step)
            for hook in self.hooks:
                for key, value in hook(conn).items():
                    self.hook_counts[key] = self.hook_counts.get(key, 0) + value
            for step in self.decide:
                conn.execute(step, self.flags)
            conn.execute(text(self.insert_sql))
        self.rows = []
        self.bytes = 0


def _match_and_geocode(engine: Engine, job_id: int, config: SourceConfig) -> dict[str, int]:
    """Fuzzy matching, then geocoding, over the job's stage rows; redo the row steps of the
    rows they changed. Idempotent: a retry finds linked rows linked and cached addresses cached."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        fuzzy = match_unmatched(conn, job_id, config.transform)
        linked = list(conn.execute(text(Q["fuzzy_linked"]), {"job_id": job_id}).scalars())
        redo_rows(conn, linked, RESTAGE_STEPS, collection_flags(config.transform.map_fields))
    counts.update({f"fuzzy_{k}": v for k, v in fuzzy.as_dict().items()})
    geocoder = Geocoder.for_transform(config.transform)
    if geocoder is not None:
        with engine.connect() as conn:  # geocode_stage commits page by page
            stats = geocode_stage(conn, job_id, geocoder, config.transform.round_lat_lng)
            located = list(conn.execute(text(Q["geocoded_rows"]), {"job_id": job_id}).scalars())
            redo_rows(conn, located, DECIDE_STEPS, collection_flags(config.transform.map_fields))
            conn.commit()
        counts.update({f"geocoder_{k}": v for k, v in stats.as_dict().items()})
    return counts


def run_transform(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    *,
    store: RawStore | None = None,
    hooks: list[BatchHook] | None = None,
) -> TransformResult:
    started = time.perf_counter()
    store = store or get_raw_store()
    mapper = Mapper(config)
    with engine.connect() as conn:
        done = conn.execute(text(Q["staged_up_to"]), {"job_id": job_id}).scalar_one()
        files = job_files(conn, job_id)
    batcher = _Batcher(engine, config, hooks or [])
    for raw_file in files:
        if raw_file.first_rec_num + raw_file.record_count - 1 <= done:
            continue  # staged by an earlier attempt
        for rec in read_raw_file(store, raw_file.file_path):
            if rec["rec_num"] <= done:
                continue
            row = mapper.map_record(rec["record"])
            issues = normalize_row(row, config.transform)
            result = validate_row(row, config.validation, prior=issues)
            row.update(
                job_id=job_id,
                rec_num=rec["rec_num"],
                file_id=raw_file.id,
                dmo_id=rec["dmo_id"],
                source_id=rec["source_id"],
                imported_from=config.slug,
                validation_errors=format_issues(result.errors),
                validation_warnings=format_issues(result.warnings),
                quality_score=result.quality_score,
            )
            description = row.get("listing_info_description") or ""
            batcher.add(_row_tuple(row), 1024 + len(description))
    batcher.flush()

    job_counts = _match_and_geocode(engine, job_id, config)
    import_partial = False
    with engine.begin() as conn:
        import_failures = conn.execute(text(Q["import_failures"]), {"job_id": job_id}).scalar_one()
        import_partial = import_failures > 0
        if done == 0:  # only a pass over every record can tell a field is never present
            record_errors(
                conn,
                job_id,
                "transform",
                [
                    JobError(
                        message=f"mapped source field {source!r} is missing from every record",
                        field_name=source,
                        error_type="unmapped_field",
                    )
                    for source in mapper.missing_sources()
                ],
            )
        conn.execute(text(Q["job_duplicates"]), {"job_id": job_id})
        conn.execute(text(Q["clear_deletions"]), {"job_id": job_id})
        conn.execute(text(Q["job_seen"]), {"job_id": job_id})
        if not import_partial:  # a partial import must never look like missing listings
            grace = config.promotion.grace_period
            conn.execute(text(Q["job_missed"]), {"job_id": job_id, "dmo_id": config.dmo_id})
            conn.execute(
                text(Q["job_deletions"]),
                {
                    "job_id": job_id,
                    "dmo_id": config.dmo_id,
                    "imported_from": config.slug,
                    "grace_imports": grace.imports,
                    "grace_days": grace.days,
                },
            )
        conn.execute(
            text(Q["job_review_flags"]),
            {"job_id": job_id, "ids": None, "require_review": list(config.review.require_review)},
        )
        row = conn.execute(text(Q["job_counts"]), {"job_id": job_id}).mappings().one()
    counts = StageCounts(**{k: row[k] for k in StageCounts().as_params()})
    counts.extra = {
        "waiting_for_review": row["waiting"],
        "matched_other_sources": row["matched"],
        "uncertain_matches": row["uncertain"],
        "deletions_skipped_partial_import": import_partial,
        **batcher.hook_counts,
        **job_counts,
    }
    return TransformResult(
        counts=counts,
        seconds=time.perf_counter() - started,
        resumed_from=done,
        hook_counts=batcher.hook_counts,
    )
