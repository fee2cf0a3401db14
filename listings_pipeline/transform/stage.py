"""The transform stage: raw files → mapped, normalised, validated rows in stage.listings_flat,
with the seed's hashes, lookups and actions decided set-based in SQL.

Records stream from the raw files in batches (by rows or bytes). Each batch is one
transaction: COPY into a temp table, lookups/hashes/actions as SQL over the batch, one
INSERT into the stage table. A failed transform keeps its finished batches; the retry starts
at the first record not yet staged. Whole-job decisions (duplicates, deletions, review flags)
run once at the end and are idempotent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from psycopg import sql
from psycopg._copy_base import TextFormatter  # psycopg's own COPY row formatting (C)
from psycopg.adapt import Transformer
from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries
from listings_pipeline.importing.raw_files import read_raw_lines
from listings_pipeline.importing.raw_store import RawStore, get_raw_store
from listings_pipeline.importing.stage import job_files
from listings_pipeline.jobs import JobError, StageCounts, record_errors
from listings_pipeline.transform.mapping import Mapper
from listings_pipeline.transform.normalize import normalize_row
from listings_pipeline.transform.validate import validate_row

Q = load_queries(__file__, "stage.sql")
# Rows are sent with COPY, not INSERT: the seed's 1-2 MB guidance is about statement size, and a
# COPY stream of a few MB costs the server no more memory. Bigger batches mean fewer round
# trips and planner runs per record; two batches at most are held in memory (one filling, one
# being flushed).
BATCH_ROWS = 2000
BATCH_BYTES = 4_000_000

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
    "record_hash", "reuse_id",
)  # fmt: skip
# Records are read this many at a time to look up, in one query, which of them the source sent
# unchanged since the previous job (those reuse that job's row instead of being mapped again).
REUSE_CHUNK = 500
_JSON_COLUMNS = {"ci_socials", "images", "dates", "hours", "attributes"}
# Per batch, sent as one script each (one round trip): lookups and hashes, then (after the
# hooks) actions and the insert into the stage table.
LOOKUP_STEPS = (
    "batch_no_commit_wait",
    "batch_analyze",
    "batch_reuse",
    "batch_hashes",
    "batch_lookup_bridge",
    "batch_lookup_match_hash",
    "batch_lookup_listing_info",
    "batch_production_ids",
    "batch_fill_location",
    "batch_location_hash",
)

# A hook between lookups and hashing, e.g. geocoding rows still without coordinates.
BatchHook = Callable[[Connection], dict[str, int]]


@dataclass
class TransformResult:
    counts: StageCounts
    seconds: float
    resumed_from: int
    hook_counts: dict[str, int] = field(default_factory=dict)
    # Wall seconds per SQL step summed over batches ("copy" = sending the rows), to see
    # where a transform's time goes.
    step_seconds: dict[str, float] = field(default_factory=dict)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class _Batcher:
    """Collects rows as COPY data and flushes each full batch in a background thread, so
    PostgreSQL works on one batch while Python maps the next (the machine has two cores; a
    flush is mostly waiting on the server). Rows are formatted here, and each batch's SQL goes
    as one script, so the flushing thread needs the GIL only a few times per batch. At most
    one batch is in flight and batches commit in order, so a failure still leaves every
    record before the failed batch staged."""

    def __init__(self, engine: Engine, config: SourceConfig, hooks: list[BatchHook]) -> None:
        self.engine = engine
        self.hooks = hooks
        self.rows = 0
        self.bytes = 0
        self.hook_counts: dict[str, int] = {}
        self.step_seconds: dict[str, float] = {}
        self._formatter = TextFormatter(Transformer())
        self._data = bytearray()
        mapped = set(config.transform.map_fields)
        flags = {
            "images_mapped": any(t.startswith("listing_images.") for t in mapped),
            "dates_mapped": any(t.startswith("opening_dates.") for t in mapped),
            "hours_mapped": any(t.startswith("opening_hours.") for t in mapped),
            "attributes_mapped": any(t.startswith("bridge_attributes_listings.") for t in mapped),
        }
        with engine.connect() as conn:
            columns = [sql.Identifier(c) for c in conn.execute(text(Q["stage_columns"])).scalars()]
        self.copy_sql = sql.SQL("COPY batch_rows ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
        )
        self.lookups_sql = sql.SQL("\n").join(sql.SQL(Q[step]) for step in LOOKUP_STEPS)
        self.finish_sql = sql.SQL("\n").join(
            [
                sql.SQL(Q["batch_actions"]).format(
                    **{name: sql.Literal(value) for name, value in flags.items()}
                ),
                sql.SQL(Q["batch_to_stage"]).format(columns=sql.SQL(", ").join(columns)),
            ]
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transform-flush")
        self._in_flight: Future[None] | None = None

    def add(self, row: dict[str, Any], size: int) -> None:
        get = row.get
        values = tuple(_json(get(c)) if c in _JSON_COLUMNS else get(c) for c in COPY_COLUMNS)
        self._data += self._formatter.write_row(values)
        self.rows += 1
        self.bytes += size
        if self.rows >= BATCH_ROWS or self.bytes >= BATCH_BYTES:
            self._submit()

    def _submit(self) -> None:
        self._data += self._formatter.end()
        data, self._data, self.rows, self.bytes = self._data, bytearray(), 0, 0
        self._wait()  # one batch in flight: memory stays at two batches
        if data:
            self._in_flight = self._pool.submit(self._flush, data)

    def _wait(self) -> None:
        if self._in_flight is not None:
            future, self._in_flight = self._in_flight, None
            future.result()  # re-raises the flush's error in the caller's thread

    def finish(self) -> None:
        """Flush what is left and wait for it."""
        try:
            self._submit()
            self._wait()
        finally:
            self.close()

    def close(self) -> None:
        """Stop without flushing (after an error); waits for a flush already running."""
        self._pool.shutdown(wait=True)

    def _timed(self, step: str, started: float) -> float:
        now = time.perf_counter()
        self.step_seconds[step] = self.step_seconds.get(step, 0.0) + now - started
        return now

    def _flush(self, data: bytearray) -> None:
        t = time.perf_counter()
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            if raw.execute(Q["batch_table_exists"]).fetchone()[0] is None:
                raw.execute(Q["create_batch_table"])
            with raw.cursor() as cur, cur.copy(self.copy_sql) as copy:
                copy.write(data)
            t = self._timed("copy", t)
            raw.execute(self.lookups_sql)
            t = self._timed("lookups_and_hashes", t)
            if self.hooks:
                for hook in self.hooks:
                    for key, value in hook(conn).items():
                        self.hook_counts[key] = self.hook_counts.get(key, 0) + value
                t = self._timed("hooks", t)
            raw.execute(self.finish_sql)
            t = self._timed("actions_and_insert", t)
        self._timed("commit", t)


def transform_fingerprint(config: SourceConfig) -> bytes:
    """What the transform's output depends on besides the record: the config's transform and
    validation settings, and the code and SQL that map, normalise, validate and hash."""
    from listings_pipeline.transform import mapping, normalize, targets, validate

    code = b"".join(
        Path(path).read_bytes()
        for path in (mapping.__file__, normalize.__file__, validate.__file__, targets.__file__)
    )
    settings = orjson.dumps(
        {
            "transform": config.transform.model_dump(mode="json"),
            "validation": config.validation.model_dump(mode="json"),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.md5(code + Q["batch_hashes"].encode() + settings).digest()


class _Stager:
    """Turns raw records into stage rows for the batcher. A record whose hash matches the
    previous job's row for the same source_id is not mapped again: its row carries only keys
    and `reuse_id`, and SQL copies the earlier row's mapped content and hashes."""

    def __init__(
        self, engine: Engine, batcher: _Batcher, mapper: Mapper, job_id: int, config: SourceConfig
    ) -> None:
        self.engine = engine
        self.batcher = batcher
        self.mapper = mapper
        self.job_id = job_id
        self.config = config
        self.fingerprint = transform_fingerprint(config)
        with engine.connect() as conn:
            self.previous_job = conn.execute(
                text(Q["previous_job"]), {"slug": config.slug, "job_id": job_id}
            ).scalar()
        self.reused = 0

    def stage(self, store: RawStore, files: list, done: int) -> None:
        chunk: list[tuple[int, dict[str, Any], str]] = []
        for raw_file in files:
            if raw_file.first_rec_num + raw_file.record_count - 1 <= done:
                continue  # staged by an earlier attempt
            for record_bytes, rec in read_raw_lines(store, raw_file.file_path):
                if rec["rec_num"] <= done:
                    continue
                record_hash = hashlib.md5(self.fingerprint + record_bytes).hexdigest()
                chunk.append((raw_file.id, rec, record_hash))
                if len(chunk) >= REUSE_CHUNK:
                    self._stage_chunk(chunk)
                    chunk = []
        self._stage_chunk(chunk)

    def _stage_chunk(self, chunk: list[tuple[int, dict[str, Any], str]]) -> None:
        if not chunk:
            return
        reusable = self._reusable([rec["source_id"] for _, rec, _ in chunk], [h for *_, h in chunk])
        for file_id, rec, record_hash in chunk:
            reuse_id = reusable.get((rec["source_id"], record_hash))
            if reuse_id is None:
                row = self._map(rec)
                size = 1024 + len(row.get("listing_info_description") or "")
            else:
                self.mapper.note_fields(rec["record"])
                row = {}
                size = 256
                self.reused += 1
            row.update(
                job_id=self.job_id,
                rec_num=rec["rec_num"],
                file_id=file_id,
                dmo_id=rec["dmo_id"],
                source_id=rec["source_id"],
                imported_from=self.config.slug,
                record_hash=record_hash,
                reuse_id=reuse_id,
            )
            self.batcher.add(row, size)

    def _reusable(self, source_ids: list[str], hashes: list[str]) -> dict[tuple[str, str], int]:
        if self.previous_job is None:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(Q["reusable_rows"]),
                {
                    "job_id": self.previous_job,
                    "dmo_id": self.config.dmo_id,
                    "source_ids": source_ids,
                    "hashes": hashes,
                },
            )
            return {(r.source_id, r.record_hash): r.id for r in rows}

    def _map(self, rec: dict[str, Any]) -> dict[str, Any]:
        row = self.mapper.map_record(rec["record"])
        issues = normalize_row(row, self.config.transform)
        result = validate_row(row, self.config.validation)
        errors = [i for i in issues if i.severity == "error"] + result.errors
        warnings = [i for i in issues if i.severity == "warning"] + result.warnings
        row.update(
            validation_errors="; ".join(map(str, errors)) or None,
            validation_warnings="; ".join(map(str, warnings)) or None,
            quality_score=result.quality_score,
        )
        return row


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
    stager = _Stager(engine, batcher, mapper, job_id, config)
    try:
        stager.stage(store, files, done)
    except BaseException:
        batcher.close()
        raise
    batcher.finish()

    import_partial = False
    job_started = time.perf_counter()
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
        if not import_partial:  # a partial import must never look like missing listings
            conn.execute(
                text(Q["job_deletions"]),
                {"job_id": job_id, "dmo_id": config.dmo_id, "imported_from": config.slug},
            )
        conn.execute(
            text(Q["job_review_flags"]),
            {"job_id": job_id, "require_review": list(config.review.require_review)},
        )
        row = conn.execute(text(Q["job_counts"]), {"job_id": job_id}).mappings().one()
    batcher.step_seconds["job_level"] = time.perf_counter() - job_started
    counts = StageCounts(**{k: row[k] for k in StageCounts().as_params()})
    counts.extra = {
        "waiting_for_review": row["waiting"],
        "matched_other_sources": row["matched"],
        "uncertain_matches": row["uncertain"],
        "deletions_skipped_partial_import": import_partial,
        "reused_rows": stager.reused,
        **batcher.hook_counts,
    }
    return TransformResult(
        counts=counts,
        seconds=time.perf_counter() - started,
        resumed_from=done,
        hook_counts=batcher.hook_counts,
        step_seconds=batcher.step_seconds,
    )
