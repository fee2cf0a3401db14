"""The transform stage: raw files → mapped, normalised, validated rows in stage.listings_flat,
with the seed's hashes, lookups and actions decided set-based in SQL.

Records stream from the raw files in batches (by rows or bytes). Each batch is one
transaction: COPY into a temp table, lookups (bridge table, match hash), hashes and actions as
SQL over the batch, one INSERT into the stage table. Batches are flushed in a background
thread, so PostgreSQL works on one batch while Python maps the next. A record the source sent
unchanged since the source's previous job (same record_hash: the record's bytes and the
transform's fingerprint) is not mapped again: SQL takes that job's row for it.
Then, over the job: fuzzy matching of the rows still unlinked, geocoding of new rows without
coordinates (through the persistent cache), the same row steps again for the rows those
changed, and the whole-job decisions (duplicates, deletions, review flags). A failed transform
keeps its finished batches and geocoding results; the retry starts at the first record not yet
staged, and every whole-job step is idempotent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
from psycopg._copy_base import TextFormatter  # psycopg's own COPY row formatting (in C)
from psycopg.adapt import Transformer
from sqlalchemy import Connection, Engine, text

from listings_pipeline.configs.model import SourceConfig
from listings_pipeline.db import load_queries, load_sql
from listings_pipeline.db.migrate import migrations
from listings_pipeline.gil import quick_gil_handover
from listings_pipeline.importing.raw_files import RawLine, read_raw_lines
from listings_pipeline.importing.raw_store import RawStore, get_raw_store
from listings_pipeline.importing.stage import job_files
from listings_pipeline.jobs import JobError, StageCounts, record_errors
from listings_pipeline.transform.fuzzy import match_unmatched
from listings_pipeline.transform.geocode import Geocoder, geocode_stage
from listings_pipeline.transform.hashes import description_hash
from listings_pipeline.transform.issues import format_issues
from listings_pipeline.transform.mapping import Mapper
from listings_pipeline.transform.normalize import dmo_country, normalize_row
from listings_pipeline.transform.validate import validate_row

Q = load_queries(__file__, "stage.sql")
# Rows go by COPY: the seed's 1-2 MB guidance is about statement size, and a COPY stream of a
# few MB costs the server no more memory. At most two batches are held (one filling, one
# being flushed). Each batch costs ~20 statements whatever its size: 8 MB (~750 listings of
# ~10 KB) instead of 4 MB saves a third of them for ~10 MB more worker memory (12 MB: ~35 MB).
BATCH_ROWS = 2000
BATCH_BYTES = 8_000_000
# A transform that staged this many rows refreshes the stage table's statistics.
ANALYZE_MIN_ROWS = 1000
# Records are looked up this many at a time for an unchanged earlier row (one query each).
REUSE_CHUNK = 500

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
    "validation_errors", "validation_warnings", "quality_score", "unparsed_values",
    "record_hash", "reuse_id", "listing_info_content_hash",
)  # fmt: skip
_JSON_COLUMNS = {"ci_socials", "images", "dates", "hours", "attributes", "unparsed_values"}
# Taken from the earlier row of a reused record only when the batch goes into the stage table.
_BIG_COLUMNS = ("listing_info_description", "images", "dates", "hours", "attributes")
LOOKUP_STEPS = (
    "match_hash",
    "lookup_bridge",
    "lookup_match_hash",
    "lookup_listing_info",
    "production_ids",
    "fill_location",
    "keep_unreadable",
)
DECIDE_STEPS = ("content_hashes", "actions", "clears")
# The job's rows, for the whole-job review flags.
_JOB_ROWS = "b.job_id = :job_id"
# After a row's listing match changed (fuzzy link, or a reviewer's accept/reject of a match).
RESTAGE_STEPS = (*LOOKUP_STEPS[3:], *DECIDE_STEPS)
# Steps whose values a reused row already has from its earlier row.
_REUSED_HAVE = {"match_hash", "content_hashes"}

# A hook run on each batch after the lookups, before hashes and actions.
BatchHook = Callable[[Connection], dict[str, int]]


def collection_flags(
    mapped_targets: Iterable[str], merge_policy: str = "latest_wins"
) -> dict[str, bool]:
    """Which collections the config maps (an unmapped one is left alone, not cleared), and
    what promotion's merge policy lets a null or an empty collection clear (`clears`)."""
    mapped = set(mapped_targets)
    return {
        "images_mapped": any(t.startswith("listing_images.") for t in mapped),
        "dates_mapped": any(t.startswith("opening_dates.") for t in mapped),
        "hours_mapped": any(t.startswith("opening_hours.") for t in mapped),
        "attributes_mapped": any(t.startswith("bridge_attributes_listings.") for t in mapped),
        "nulls_clear": merge_policy == "latest_wins",
        "empty_clears": merge_policy != "skip_if_exists",
    }


def config_flags(config: SourceConfig) -> dict[str, bool]:
    return collection_flags(config.transform.map_fields, config.promotion.merge_policy)


_SQL_DESCRIPTION_HASH = "pipeline.listing_info_content_hash(listing_info_description)"
# The row's own description hash, kept: linking a row to a listing or geocoding it changes
# neither its description nor so its hash, which the map step computed (hashes.py); the SQL
# function would decompress each ~10 KB description again (1.7 s of 9,162 linked rows at 50k).
_KEPT_DESCRIPTION_HASH = "listing_info_content_hash"


def row_step(
    name: str, rows: str, where: str, description_hash: str = _SQL_DESCRIPTION_HASH
) -> str:
    return (
        Q[name]
        .replace("{rows}", rows)
        .replace("{where}", where)
        .replace("{description_hash}", description_hash)
    )


def redo_rows(
    conn: Connection,
    ids: list[int],
    steps: tuple[str, ...],
    flags: dict[str, bool],
    description_hash: str = _SQL_DESCRIPTION_HASH,
) -> None:
    """Run row steps again over chosen stage rows (after fuzzy matching, geocoding, or a
    reviewer settling a match)."""
    if not ids:
        return
    params = {"ids": ids, **flags}
    for step in steps:
        sql = row_step(step, "stage.listings_flat", "b.id = ANY(:ids)", description_hash)
        conn.execute(text(sql), params)


def recompute_actions(
    conn: Connection, job_id: int, stage_ids: list[int], mapped_targets: Iterable[str]
) -> None:
    """Decide the lookups, hashes, actions and change kind of stage rows again, with the same
    statements as the transform, after their listing match changed (listing_internal_id set
    or cleared). Runs in the caller's transaction."""
    policy = conn.execute(text(Q["merge_policy"]), {"job_id": job_id}).scalar()
    redo_rows(conn, stage_ids, RESTAGE_STEPS, collection_flags(mapped_targets, policy))
    conn.execute(
        text(row_step("review_flags", "stage.listings_flat", f"{_JOB_ROWS} AND b.id = ANY(:ids)")),
        {"job_id": job_id, "ids": stage_ids, "require_review": []},
    )


def transform_fingerprint(config: SourceConfig) -> bytes:
    """What a stage row depends on besides its record: the config's transform and validation
    settings, and the code, SQL (hash functions included) and libraries that map, normalise,
    validate and hash."""
    from listings_pipeline.transform import (
        clock,
        countries,
        country_areas,
        fields,
        hashes,
        issues,
        mapping,
        normalize,
        targets,
        validate,
    )

    modules = (
        clock,
        countries,
        country_areas,
        fields,
        hashes,
        issues,
        mapping,
        normalize,
        targets,
        validate,
    )
    code = [Path(m.__file__).read_bytes() for m in modules]  # type: ignore[arg-type]
    code += [m.path.read_bytes() for m in migrations()]
    code.append(load_sql(__file__, "stage.sql").encode())
    code.append(country_areas.DATA.read_bytes())  # the outlines phones' countries come from
    settings = orjson.dumps(
        {
            "transform": config.transform.model_dump(mode="json"),
            "validation": config.validation.model_dump(mode="json"),
            "slug": config.slug,
            "libraries": [version(name) for name in ("phonenumbers", "pycountry")],
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(b"".join(code) + settings).digest()


@dataclass
class TransformResult:
    counts: StageCounts
    seconds: float
    resumed_from: int
    hook_counts: dict[str, int] = field(default_factory=dict)
    # Wall seconds per part, summed over batches ("map" = Python, the others = SQL in the
    # flushing thread), to see where a transform's time goes.
    step_seconds: dict[str, float] = field(default_factory=dict)
    # Mapped source fields no record had (None after a resume: not every record was read).
    missing_sources: list[str] | None = None


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class _Batcher:
    """Collects rows as COPY data and flushes each full batch in a background thread, so
    PostgreSQL works on one batch while Python maps the next (a flush is mostly waiting on
    the server). At most one batch is in flight and batches commit in order, so a failure
    still leaves every record before the failed batch staged."""

    def __init__(self, engine: Engine, config: SourceConfig, hooks: list[BatchHook]) -> None:
        self.engine = engine
        self.hooks = hooks
        self.rows = 0
        self.bytes = 0
        self.hook_counts: dict[str, int] = {}
        self.step_seconds: dict[str, float] = {}
        self.params = {
            **config_flags(config),
            "require_review": list(config.review.require_review),
        }
        self._formatter = TextFormatter(Transformer())
        self._data = bytearray()
        self.copy_sql = f"COPY batch_rows ({', '.join(COPY_COLUMNS)}) FROM STDIN"
        self.lookups = [text(self._step(s)) for s in ("reuse_rows", *LOOKUP_STEPS)]
        self.decide = [text(self._step(s)) for s in (*DECIDE_STEPS, "review_flags")]
        with engine.connect() as conn:
            columns = list(conn.execute(text(Q["stage_columns"])).scalars())
        values = [
            f"CASE WHEN b.reuse_id IS NULL THEN b.{c} ELSE p.{c} END"
            if c in _BIG_COLUMNS
            else f"b.{c}"
            for c in columns
        ]
        self.insert_sql = text(
            Q["batch_to_stage"].format(
                columns=", ".join(columns), values=", ".join(values), big=", ".join(_BIG_COLUMNS)
            )
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transform-flush")
        self._in_flight: Future[None] | None = None

    @staticmethod
    def _step(name: str) -> str:
        if name == "reuse_rows":
            return Q[name]
        where = "b.reuse_id IS NULL" if name in _REUSED_HAVE else "true"
        return row_step(name, "batch_rows", where, "b.listing_info_content_hash")

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
        """Stop without flushing more (after an error); waits for a flush already running."""
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
            raw.execute(Q["batch_settings"])
            with raw.cursor() as cur, cur.copy(self.copy_sql) as copy:
                copy.write(data)
            t = self._timed("copy", t)
            raw.execute(Q["batch_analyze"])
            t = self._timed("analyze", t)
            for step in self.lookups:
                conn.execute(step)
            t = self._timed("lookups", t)
            for hook in self.hooks:
                for key, value in hook(conn).items():
                    self.hook_counts[key] = self.hook_counts.get(key, 0) + value
            for step in self.decide:
                conn.execute(step, self.params)
            conn.execute(self.insert_sql)
            t = self._timed("hashes_actions_insert", t)
        self._timed("commit", t)


class _Stager:
    """Turns raw records into stage rows for the batcher. A record whose hash matches the
    previous job's row for the same source_id is not mapped again: its row carries only keys
    and `reuse_id`, and SQL takes the earlier row's values."""

    def __init__(
        self, engine: Engine, batcher: _Batcher, mapper: Mapper, job_id: int, config: SourceConfig
    ) -> None:
        self.engine = engine
        self.batcher = batcher
        self.mapper = mapper
        self.job_id = job_id
        self.config = config
        self.fingerprint = hashlib.sha256(transform_fingerprint(config))  # SHA-NI: 3x md5
        with engine.connect() as conn:
            self.previous_job = conn.execute(
                text(Q["previous_job"]), {"slug": config.slug, "job_id": job_id}
            ).scalar()
        self.staged = 0
        self.reused = 0
        self.map_seconds = 0.0
        self.dmo_country = dmo_country(config.validation)

    def stage(self, store: RawStore, files: list, done: int) -> None:
        chunk: list[tuple[int, RawLine, str]] = []
        for raw_file in files:
            if raw_file.first_rec_num + raw_file.record_count - 1 <= done:
                continue  # staged by an earlier attempt
            for line in read_raw_lines(store, raw_file.file_path):
                if line.header["rec_num"] <= done:
                    continue
                digest = self.fingerprint.copy()
                digest.update(line.record_json)
                chunk.append((raw_file.id, line, digest.hexdigest()))
                if len(chunk) >= REUSE_CHUNK:
                    self._stage_chunk(chunk)
                    chunk = []
        self._stage_chunk(chunk)

    def _stage_chunk(self, chunk: list[tuple[int, RawLine, str]]) -> None:
        if not chunk:
            return
        reusable = self._reusable(chunk)
        mapper = self.mapper
        for file_id, line, record_hash in chunk:
            header = line.header
            reuse_id = reusable.get((header["source_id"], record_hash))
            if reuse_id is None:
                started = time.perf_counter()
                row = self._map(line.record())
                self.map_seconds += time.perf_counter() - started
                size = 1024 + len(row.get("listing_info_description") or "")
            else:
                if len(mapper.seen) < len(mapper.sources):
                    mapper.note_fields(line.record())
                row = {}
                size = 256
                self.reused += 1
            row.update(
                job_id=self.job_id,
                rec_num=header["rec_num"],
                file_id=file_id,
                dmo_id=header["dmo_id"],
                source_id=header["source_id"],
                imported_from=self.config.slug,
                record_hash=record_hash,
                reuse_id=reuse_id,
            )
            self.batcher.add(row, size)
        self.staged += len(chunk)

    def _reusable(self, chunk: list[tuple[int, RawLine, str]]) -> dict[tuple[str, str], int]:
        if self.previous_job is None:
            return {}
        source_ids = [line.header["source_id"] for _, line, _ in chunk]
        hashes = [h for *_, h in chunk]
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(Q["reusable_rows"]),
                {
                    "job_id": self.previous_job,
                    "dmo_id": self.config.dmo_id,
                    "source_ids": source_ids,
                    "hashes": hashes,
                },
            ).all()
        return {(sid, record_hash): row_id for sid, record_hash, row_id in rows}

    def _map(self, record: dict[str, Any]) -> dict[str, Any]:
        row = self.mapper.map_record(record)
        issues = normalize_row(row, self.config.transform, dmo_country=self.dmo_country)
        result = validate_row(row, self.config.validation, prior=issues)
        row.update(
            validation_errors=format_issues(result.errors),
            validation_warnings=format_issues(result.warnings),
            quality_score=result.quality_score,
            listing_info_content_hash=description_hash(row.get("listing_info_description")),
        )
        return row


def _match_and_geocode(engine: Engine, job_id: int, config: SourceConfig) -> dict[str, int]:
    """Fuzzy matching, then geocoding, over the job's stage rows; redo the row steps of the
    rows they changed. Idempotent: a retry finds linked rows linked and cached addresses cached."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        fuzzy = match_unmatched(conn, job_id, config.transform)
        linked = list(conn.execute(text(Q["fuzzy_linked"]), {"job_id": job_id}).scalars())
        redo_rows(conn, linked, RESTAGE_STEPS, config_flags(config), _KEPT_DESCRIPTION_HASH)
    counts.update({f"fuzzy_{k}": v for k, v in fuzzy.as_dict().items()})
    geocoder = Geocoder.for_transform(config.transform)
    if geocoder is not None:
        with engine.connect() as conn:  # geocode_stage commits page by page
            stats = geocode_stage(conn, job_id, geocoder, config.transform.round_lat_lng)
            located = list(conn.execute(text(Q["geocoded_rows"]), {"job_id": job_id}).scalars())
            redo_rows(conn, located, DECIDE_STEPS, config_flags(config), _KEPT_DESCRIPTION_HASH)
            conn.commit()
        counts.update({f"geocoder_{k}": v for k, v in stats.as_dict().items()})
    return counts


def _job_level(conn: Connection, job_id: int, config: SourceConfig, *, seen_job: int) -> bool:
    """Deletion detection and the review flags over the job, once its rows are staged: what
    the source lists (the rows of `seen_job`) was seen now, what it no longer lists missed an
    import and may be proposed for deletion. Returns whether the import was partial (then
    nothing is missed)."""
    import_failures = conn.execute(text(Q["import_failures"]), {"job_id": job_id}).scalar_one()
    conn.execute(text(Q["clear_deletions"]), {"job_id": job_id})
    params = {"job_id": job_id, "seen_job": seen_job, "slug": config.slug}
    conn.execute(text(Q["job_seen"]), params)
    if not import_failures:  # a partial import must never look like missing listings
        grace = config.promotion.grace_period
        conn.execute(text(Q["job_missed"]), params)
        conn.execute(
            text(Q["job_deletions"]),
            {
                **params,
                "dmo_id": config.dmo_id,
                "grace_imports": grace.imports,
                "grace_days": grace.days,
            },
        )
    conn.execute(
        text(row_step("review_flags", "stage.listings_flat", _JOB_ROWS)),
        {"job_id": job_id, "require_review": list(config.review.require_review)},
    )
    return import_failures > 0


def _transform_unchanged(
    engine: Engine, job_id: int, config: SourceConfig, base: int, started: float
) -> TransformResult:
    """An unchanged job (importing/unchanged.py): no record is staged again; the base job's rows
    stand in for them. Deletion detection runs over those rows, so the job proposes exactly the
    deletions a full transform of the same input would: none, unless a grace period (seed 002)
    ran out since, or a reviewer rejected a deletion the base proposed (it is proposed again)."""
    with engine.begin() as conn:
        import_partial = _job_level(conn, job_id, config, seen_job=base)
        row = conn.execute(text(Q["stand_in_counts"]), {"job_id": job_id, "base": base})
        row = row.mappings().one()
    counts = StageCounts(**{k: row[k] for k in StageCounts().as_params()})
    counts.extra = {
        "unchanged": True,
        "unchanged_of": base,
        "waiting_for_review": row["waiting"],
        "matched_other_sources": 0,
        "uncertain_matches": 0,
        "deletions_skipped_partial_import": import_partial,
        "reused_rows": 0,
    }
    seconds = time.perf_counter() - started
    return TransformResult(
        counts=counts,
        seconds=seconds,
        resumed_from=0,
        step_seconds={"job_level": round(seconds, 3)},
        missing_sources=None,
    )


@quick_gil_handover
def run_transform(
    engine: Engine,
    job_id: int,
    config: SourceConfig,
    *,
    store: RawStore | None = None,
    hooks: list[BatchHook] | None = None,
) -> TransformResult:
    started = time.perf_counter()
    with engine.connect() as conn:
        base = conn.execute(text(Q["unchanged_of"]), {"job_id": job_id}).scalar()
    if base is not None:
        return _transform_unchanged(engine, job_id, config, base, started)
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
    batcher.step_seconds["map"] = stager.map_seconds
    if stager.staged >= ANALYZE_MIN_ROWS:
        with engine.begin() as conn:
            conn.execute(text(Q["analyze_stage"]))

    job_started = time.perf_counter()
    job_counts = _match_and_geocode(engine, job_id, config)
    with engine.begin() as conn:
        missing = mapper.missing_sources() if done == 0 else None
        if missing:  # only a pass over every record can tell a field is never present
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
                    for source in missing
                ],
            )
        conn.execute(text(Q["job_duplicates"]), {"job_id": job_id})
        import_partial = _job_level(conn, job_id, config, seen_job=job_id)
        row = conn.execute(text(Q["job_counts"]), {"job_id": job_id}).mappings().one()
    batcher.step_seconds["job_level"] = time.perf_counter() - job_started
    counts = StageCounts(**{k: row[k] for k in StageCounts().as_params()})
    counts.extra = {
        "waiting_for_review": row["waiting"],
        "matched_other_sources": row["matched"],
        "uncertain_matches": row["uncertain"],
        "unchanged": False,
        "deletions_skipped_partial_import": import_partial,
        "reused_rows": stager.reused,
        **batcher.hook_counts,
        **job_counts,
    }
    return TransformResult(
        counts=counts,
        seconds=time.perf_counter() - started,
        resumed_from=done,
        hook_counts=batcher.hook_counts,
        step_seconds={k: round(v, 3) for k, v in batcher.step_seconds.items()},
        missing_sources=missing,
    )
