"""process_images: download, verify and store variants of the images of promoted listings.

Contract with promotion (what selects a job's images): the stage rows of `job_id` in
stage.listings_flat with images_action in ('insert', 'update') and promote_status =
'succeeded'; their listing_info is listing_info_internal_id (promotion writes the new id back
for inserts), or else the pipeline.bridge_source_target row (dmo_id, source_id, 'listing_info').
All public.listing_images rows of those listing_infos are considered; `listing_info_ids` adds
listing_infos directly (reprocessing, backfills).

A URL already stored for its listing_info is skipped without a request. Work is done per
distinct URL in a thread pool; outcomes are written in batches, one statement each. A broken
image is recorded (status failed, reason) and never fails the run; only a failing image store
does, after the outcomes so far are saved.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image
from sqlalchemy import Engine, RowMapping, text

from listings_pipeline.db import load_sql
from listings_pipeline.images.fetch import Download, Downloader, check_url
from listings_pipeline.images.problems import ImageProblem, redact_url
from listings_pipeline.images.render import CONTENT_TYPES, EXTENSIONS, Rendered, render
from listings_pipeline.images.settings import ImageSettings
from listings_pipeline.images.store import ImageStore, get_image_store, variant_key

log = logging.getLogger(__name__)


class ImageStoreError(RuntimeError):
    """The image store refused a write: an infrastructure failure, so the run fails."""


@dataclass
class ImageRunSummary:
    job_id: int | None = None
    listing_infos: int = 0  # listing_infos whose images were considered
    images: int = 0  # distinct (listing_info, URL) pairs considered
    downloaded: int = 0  # successful downloads (one per distinct URL)
    stored: int = 0  # images whose variants this run stored (or found stored: reencode_skipped)
    reencode_skipped: int = 0  # downloaded bytes identical to a stored image: nothing re-encoded
    skipped_unchanged: int = 0  # URL already stored: not downloaded
    skipped_invalid_url: int = 0  # not http(s) or no host: recorded as skipped
    failed: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    not_retried: int = 0  # failed on earlier runs max_attempts times: left alone
    bytes_downloaded: int = 0
    bytes_stored: int = 0
    elapsed_seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        """Images downloaded and processed (stored or failed) per second of the run."""
        worked = self.stored + self.failed
        return worked / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for Dagster asset metadata."""
        values = asdict(self)
        values["elapsed_seconds"] = round(self.elapsed_seconds, 3)
        values["images_per_second"] = round(self.images_per_second, 2)
        return values


@dataclass
class _Target:
    """One (listing_info, URL) image that needs a download."""

    listing_image_id: int
    listing_info_id: int
    listing_id: int
    dmo_id: int
    source_url: str
    existing: dict[str, Any] | None  # its pipeline.image_assets row, if any


@dataclass
class _Outcome:
    rows: list[dict[str, Any]] = field(default_factory=list)
    downloaded: bool = False
    bytes_downloaded: int = 0
    bytes_stored: int = 0
    reused: int = 0
    failures: list[tuple[_Target, ImageProblem]] = field(default_factory=list)
    store_error: str | None = None


def process_images(
    engine: Engine,
    *,
    job_id: int | None = None,
    listing_info_ids: list[int] | None = None,
    settings: ImageSettings,
) -> ImageRunSummary:
    """Process the images of the listings promoted by `job_id` and/or of `listing_info_ids`."""
    if job_id is None and listing_info_ids is None:
        raise ValueError("process_images needs a job_id or listing_info_ids")
    started = time.monotonic()
    # Pillow's bomb guard is a process-wide setting; the explicit header check below is exact.
    Image.MAX_IMAGE_PIXELS = settings.max_pixels
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text(load_sql(__file__, "select_images.sql")),
                {"job_id": job_id, "listing_info_ids": list(listing_info_ids or [])},
            )
            .mappings()
            .all()
        )
        info_ids = sorted({r["listing_info_id"] for r in rows})
        stored = (
            conn.execute(
                text(load_sql(__file__, "stored_assets.sql")), {"listing_info_ids": info_ids}
            )
            .mappings()
            .all()
        )
    summary = ImageRunSummary(job_id=job_id, listing_infos=len(info_ids), images=len(rows))
    reusable = {
        (r["listing_info_id"], r["content_hash"].strip()): dict(r)
        for r in stored
        if _covers(r["variants"], settings)
    }
    run = _Run(engine, settings, job_id, reusable, summary)
    groups = run.classify(rows)
    try:
        if groups:
            run.execute(groups)
    finally:  # also when stopped: what finished is recorded, a re-run continues from there
        run.flush()
    summary.failed_by_reason = dict(sorted(run.reasons.items()))
    summary.elapsed_seconds = time.monotonic() - started
    log.info("images: %s", summary.as_metadata())
    if run.store_error:
        raise ImageStoreError(
            f"the image store {run.store.location} refused writes ({run.store_error}); "
            f"outcomes so far are saved, a re-run continues where this one stopped"
        )
    return summary


class _Run:
    def __init__(
        self,
        engine: Engine,
        settings: ImageSettings,
        job_id: int | None,
        reusable: dict[tuple[int, str], dict[str, Any]],
        summary: ImageRunSummary,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.job_id = job_id
        self.reusable = reusable
        self.summary = summary
        self.store: ImageStore = get_image_store(settings)
        self.pending_rows: list[dict[str, Any]] = []
        self.reasons: Counter[str] = Counter()
        self.store_error: str | None = None
        self.decoders: ThreadPoolExecutor

    def classify(self, rows: Sequence[RowMapping]) -> list[tuple[str, list[_Target]]]:
        """Record what needs no download; group the rest by URL, hosts interleaved."""
        unchanged: list[dict[str, Any]] = []
        groups: dict[str, list[_Target]] = defaultdict(list)
        for r in rows:
            existing = dict(r) if r["status"] is not None else None
            target = _Target(
                r["listing_image_id"],
                r["listing_info_id"],
                r["listing_id"],
                r["dmo_id"],
                r["source_url"],
                existing,
            )
            try:
                url = str(check_url(target.source_url))
            except ImageProblem as problem:
                self.summary.skipped_invalid_url += 1
                self._add(_row(target, "skipped", 0, reason=problem))
                continue
            if (
                existing
                and existing["status"] == "stored"
                and not self.settings.refresh
                and _covers(existing["variants"], self.settings)
            ):
                self.summary.skipped_unchanged += 1
                unchanged.append(
                    {
                        "listing_info_id": target.listing_info_id,
                        "source_url": target.source_url,
                        "listing_image_id": target.listing_image_id,
                    }
                )
                continue
            if (
                existing
                and existing["status"] == "failed"
                and existing["attempts"] >= self.settings.max_attempts
            ):
                self.summary.not_retried += 1
                continue
            groups[url].append(target)
        for start in range(0, len(unchanged), self.settings.batch_size):
            with self.engine.begin() as conn:
                conn.execute(
                    text(load_sql(__file__, "touch_unchanged.sql")),
                    {"rows": json.dumps(unchanged[start : start + self.settings.batch_size])},
                )
        by_host: dict[str, list[tuple[str, list[_Target]]]] = defaultdict(list)
        for url, targets in groups.items():
            by_host[check_url(url).host].append((url, targets))
        # Round-robin over hosts, so the per-host rate limit of one host does not hold up others.
        return [g for g in itertools.chain(*itertools.zip_longest(*by_host.values())) if g]

    def execute(self, groups: list[tuple[str, list[_Target]]]) -> None:
        window = self.settings.concurrency * 2  # futures in flight: bounded memory for any size
        todo = iter(groups)
        # Decoding runs in its own few threads, not in the download threads: it bounds CPU use,
        # and only those threads' malloc arenas ever grow to hold a decoded image.
        with (
            Downloader(self.settings) as downloader,
            ThreadPoolExecutor(
                self.settings.decode_concurrency, thread_name_prefix="images-decode"
            ) as self.decoders,
            ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="images-get") as pool,
        ):
            pending: set[Future[_Outcome]] = set()

            def fill() -> None:
                while len(pending) < window and not self.store_error:
                    group = next(todo, None)
                    if group is None:
                        return
                    pending.add(pool.submit(self._work, downloader, *group))

            try:
                fill()
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._collect(future.result())
                    fill()
            except BaseException:
                # Stopped (Dagster's "Terminate" interrupts this thread): drop the queued
                # downloads; those already running finish (each within its time limit) and
                # are recorded with the rest.
                running = [f for f in pending if not f.cancel()]
                for future in wait(running).done:
                    if future.exception() is None:
                        self._collect(future.result())
                raise

    def _collect(self, outcome: _Outcome) -> None:
        s = self.summary
        s.downloaded += outcome.downloaded
        s.bytes_downloaded += outcome.bytes_downloaded
        s.bytes_stored += outcome.bytes_stored
        s.reencode_skipped += outcome.reused
        s.stored += len(outcome.rows) - len(outcome.failures)
        s.failed += len(outcome.failures)
        for target, problem in outcome.failures:
            self.reasons[problem.reason] += 1
            log.warning(
                "image of listing_info %s failed: %s: %s: %s",
                target.listing_info_id,
                redact_url(target.source_url),
                problem.reason,
                problem.message,
            )
        if outcome.store_error and not self.store_error:
            self.store_error = outcome.store_error
        for row in outcome.rows:
            self._add(row)

    def _add(self, row: dict[str, Any]) -> None:
        self.pending_rows.append(row)
        if len(self.pending_rows) >= self.settings.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending_rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                text(load_sql(__file__, "upsert_assets.sql")),
                {"rows": json.dumps(self.pending_rows), "job_id": self.job_id},
            )
        self.pending_rows = []

    # --- worker threads: no database access here -------------------------------------------

    def _work(self, downloader: Downloader, url: str, targets: list[_Target]) -> _Outcome:
        outcome = _Outcome()
        try:
            download = downloader.fetch(url)
        except ImageProblem as problem:
            _fail(outcome, targets, problem)
            return outcome
        except Exception as exc:
            log.exception("unexpected error downloading %s", redact_url(url))
            _fail(outcome, targets, ImageProblem("internal_error", f"{type(exc).__name__}: {exc}"))
            return outcome
        with download.body:
            outcome.downloaded = True
            outcome.bytes_downloaded = download.size
            self._process(outcome, download, targets)
        return outcome

    def _process(self, outcome: _Outcome, download: Download, targets: list[_Target]) -> None:
        todo = []
        for target in targets:
            known = self.reusable.get((target.listing_info_id, download.sha256))
            if known is None:
                todo.append(target)
                continue
            outcome.reused += 1
            outcome.rows.append(
                _row(
                    target,
                    "stored",
                    1,
                    content_hash=download.sha256,
                    variants=known["variants"],
                    width=known["width"],
                    height=known["height"],
                    size=download.size,
                    fmt=known["format"],
                )
            )
        if not todo:
            return
        try:
            rendered = self.decoders.submit(
                render, download.body, self.settings, download.content_type
            ).result()
        except ImageProblem as problem:
            _fail(outcome, todo, problem)
            return
        except Exception as exc:
            log.exception("unexpected error processing an image")
            _fail(outcome, todo, ImageProblem("internal_error", f"{type(exc).__name__}: {exc}"))
            return
        for target in todo:
            try:
                variants = self._store(outcome, target, download.sha256, rendered)
            except Exception as exc:
                outcome.store_error = f"{type(exc).__name__}: {exc}"
                # Not the image's fault: not counted against its max_attempts.
                problem = ImageProblem("store_error", outcome.store_error)
                _fail(outcome, [target], problem, attempted=0)
                continue
            outcome.rows.append(
                _row(
                    target,
                    "stored",
                    1,
                    content_hash=download.sha256,
                    variants=variants,
                    width=rendered.width,
                    height=rendered.height,
                    size=download.size,
                    fmt=rendered.format,
                )
            )

    def _store(
        self, outcome: _Outcome, target: _Target, content_hash: str, rendered: Rendered
    ) -> dict[str, Any]:
        variants: dict[str, Any] = {}
        for file in rendered.files:
            spec = file.variant
            key = variant_key(
                target.dmo_id, target.listing_id, content_hash, spec.name, EXTENSIONS[file.fmt]
            )
            self.store.put(key, file.data, CONTENT_TYPES[file.fmt])
            outcome.bytes_stored += len(file.data)
            entry = variants.setdefault(
                spec.name,
                {"max_side": spec.max_side, "width": file.width, "height": file.height},
            )
            entry.setdefault("files", {})[file.fmt] = {
                "key": key,
                "uri": self.store.uri(key),
                "bytes": len(file.data),
            }
        return variants


def _covers(variants: dict[str, Any] | None, settings: ImageSettings) -> bool:
    """Whether stored variants include every configured variant and format."""
    if not variants:
        return False
    for spec in settings.variants:
        stored = variants.get(spec.name)
        if not stored or stored.get("max_side") != spec.max_side:
            return False
        if not set(spec.formats) <= set(stored.get("files", {})):
            return False
    return True


def _fail(
    outcome: _Outcome, targets: list[_Target], problem: ImageProblem, attempted: int = 1
) -> None:
    for target in targets:
        outcome.failures.append((target, problem))
        outcome.rows.append(_row(target, "failed", attempted, reason=problem))


def _row(
    target: _Target,
    status: str,
    attempted: int,
    *,
    reason: ImageProblem | None = None,
    content_hash: str | None = None,
    variants: dict[str, Any] | None = None,
    width: int | None = None,
    height: int | None = None,
    size: int | None = None,
    fmt: str | None = None,
) -> dict[str, Any]:
    existing = target.existing
    if status == "failed" and existing and existing["status"] == "stored":
        # A refresh that failed keeps the variants stored before, with the error noted.
        status = "stored"
        content_hash = existing["content_hash"]
        variants = existing["variants"]
        width, height = existing["width"], existing["height"]
        size, fmt = existing["bytes"], existing["format"]
    return {
        "listing_info_id": target.listing_info_id,
        "listing_id": target.listing_id,
        "dmo_id": target.dmo_id,
        "listing_image_id": target.listing_image_id,
        "source_url": target.source_url,
        "content_hash": content_hash,
        "variants": variants,
        "width": width,
        "height": height,
        "bytes": size,
        "format": fmt,
        "status": status,
        "error_reason": reason.reason if reason else None,
        "error_message": reason.message if reason else None,
        "attempted": attempted,
    }
