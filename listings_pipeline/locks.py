"""One run per source at a time, and a consistent catalogue per DMO (issue 15).

Every stage that works on a source's jobs — import, transform, promotion, a reviewer's
decision, expiry — holds the source's lock: a PostgreSQL session-level advisory lock on a
dedicated connection. The CLI, the console, the JSON API, Dagster runs, schedules and tests all
call the same domain functions, so they all meet here, and a killed worker's lock goes with its
database session: nothing to clean up, nothing to expire.

Two configs of one DMO share its catalogue: a promotion (and expiry) holds the DMO's catalogue
lock exclusively, a transform (which matches against the catalogue and detects deletions)
holds it shared for its whole run, so a transform never sees another config's promotion half
done. Unrelated DMOs never wait for each other.

A lock that is busy is waited for a bounded time (`LISTINGS_SOURCE_LOCK_WAIT_SECONDS`,
`LISTINGS_CATALOGUE_LOCK_WAIT_SECONDS`), then refused with `SourceBusy`, whose message names
who holds it (job, stage, since when, which worker), from pipeline.lock_holders.

Locks are re-entrant within a thread (a promotion's expiry step takes the lock its promotion
already holds); always take the source lock before the catalogue lock.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from listings_pipeline.db import load_queries
from listings_pipeline.settings import get_settings

Q = load_queries(__file__, "locks.sql")
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired


def worker_id() -> str:
    """host:pid of this process (computed per call: a forked worker has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Holder:
    job_id: int | None
    slug: str | None
    stage: str
    worker: str
    mode: str
    since: datetime

    def describe(self) -> str:
        since = self.since.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        job = f"job {self.job_id}" if self.job_id is not None else "a task"
        if self.slug:
            job += f" of {self.slug!r}"
        return f"{job} is in its {self.stage} since {since} (worker {self.worker})"


class SourceBusy(Exception):
    """Another run holds the source (or the DMO's catalogue) longer than this one may wait."""

    def __init__(self, message: str, *, lock_name: str, holders: list[Holder]) -> None:
        super().__init__(message)
        self.lock_name = lock_name
        self.holders = holders


class CatalogueBusy(SourceBusy):
    """Another config of the DMO holds its catalogue (a promotion, or transforms)."""


@dataclass
class _Held:
    conn: Connection
    exclusive: bool
    depth: int = 1


_local = threading.local()


def _held() -> dict[str, _Held]:
    if not hasattr(_local, "locks"):
        _local.locks = {}
    return _local.locks


def _holders(conn: Connection, name: str) -> list[Holder]:
    return [Holder(**r) for r in conn.execute(text(Q["holders"]), {"name": name}).mappings()]


def _acquire(
    conn: Connection,
    name: str,
    *,
    exclusive: bool,
    wait: float,
    job_id: int | None,
    stage: str,
) -> list[Holder] | None:
    """Take the lock (waiting up to `wait` seconds); return None, or who holds it."""
    suffix = "" if exclusive else "_shared"
    params = {"name": name}
    if wait <= 0:
        got = conn.execute(text(Q["try_lock" + suffix]), params).scalar_one()
    else:
        # lock_timeout bounds the wait and keeps PostgreSQL's fair queue (first come, first
        # served), which polling with pg_try_advisory_lock would not.
        conn.execute(
            text("SELECT set_config('lock_timeout', :t, false)"),
            {"t": f"{max(1, round(wait * 1000))}ms"},
        )
        try:
            conn.execute(text(Q["lock" + suffix]), params)
            got = True
        except OperationalError as err:
            if getattr(err.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            got = False
        finally:  # the connection goes back to the pool
            conn.execute(text("RESET lock_timeout"))
    if not got:
        return _holders(conn, name)
    conn.execute(
        text(Q["register"]),
        {
            **params,
            "mode": "exclusive" if exclusive else "shared",
            "job_id": job_id,
            "stage": stage,
            "worker": worker_id(),
        },
    )
    return None


def _release(conn: Connection, name: str, exclusive: bool) -> None:
    conn.execute(text(Q["unlock" if exclusive else "unlock_shared"]), {"name": name})


def _busy_message(what: str, holders: list[Holder], wait: float, setting: str) -> str:
    who = "; ".join(h.describe() for h in holders) or "another session holds it"
    return (
        f"{what} is busy: {who}; waited {wait:g} s. Try again when it has finished"
        f" ({setting} sets how long to wait)."
    )


class SourceLock:
    """The held lock of one source; `catalogue()` adds its DMO's catalogue lock."""

    def __init__(self, conn: Connection, slug: str, job_id: int | None, stage: str) -> None:
        self.conn = conn
        self.slug = slug
        self.job_id = job_id
        self.stage = stage

    @contextmanager
    def catalogue(
        self, dmo_id: int, *, exclusive: bool, wait: float | None = None
    ) -> Iterator[None]:
        """Hold DMO `dmo_id`'s catalogue: exclusively to change it, shared to read it whole."""
        name = f"catalogue:{dmo_id}"
        held = _held()
        current = held.get(name)
        if current is not None:
            if exclusive and not current.exclusive:
                raise RuntimeError(f"{name} is held shared; it cannot become exclusive")
            current.depth += 1
            try:
                yield
            finally:
                current.depth -= 1
            return
        settings_wait = get_settings().catalogue_lock_wait_seconds
        wait = settings_wait if wait is None else wait
        holders = _acquire(
            self.conn, name, exclusive=exclusive, wait=wait, job_id=self.job_id, stage=self.stage
        )
        if holders is not None:
            raise CatalogueBusy(
                _busy_message(
                    f"the catalogue of DMO {dmo_id} (used by {self.slug!r})",
                    holders,
                    wait,
                    "LISTINGS_CATALOGUE_LOCK_WAIT_SECONDS",
                ),
                lock_name=name,
                holders=holders,
            )
        held[name] = _Held(self.conn, exclusive)
        try:
            yield
        finally:
            del held[name]
            _release(self.conn, name, exclusive)


@contextmanager
def source_lock(
    engine: Engine,
    slug: str,
    *,
    stage: str,
    job_id: int | None = None,
    wait: float | None = None,
) -> Iterator[SourceLock]:
    """Hold the source `slug` for a stage of job `job_id`, or raise SourceBusy.

    `wait`: seconds to wait for another holder (default LISTINGS_SOURCE_LOCK_WAIT_SECONDS;
    0: refuse at once).
    """
    name = f"source:{slug}"
    held = _held()
    current = held.get(name)
    if current is not None:  # re-entered by this thread: the outer holder releases it
        current.depth += 1
        try:
            yield SourceLock(current.conn, slug, job_id, stage)
        finally:
            current.depth -= 1
        return
    wait = get_settings().source_lock_wait_seconds if wait is None else wait
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        holders = _acquire(conn, name, exclusive=True, wait=wait, job_id=job_id, stage=stage)
    except BaseException:
        conn.invalidate()  # whatever state the session is in, closing it frees its locks
        conn.close()
        raise
    if holders is not None:
        conn.close()
        raise SourceBusy(
            _busy_message(f"source {slug!r}", holders, wait, "LISTINGS_SOURCE_LOCK_WAIT_SECONDS"),
            lock_name=name,
            holders=holders,
        )
    held[name] = _Held(conn, True)
    try:
        yield SourceLock(conn, slug, job_id, stage)
    finally:
        del held[name]
        try:
            _release(conn, name, True)
        except BaseException:
            conn.invalidate()  # the session goes, and its locks with it
            raise
        finally:
            conn.close()


def source_holders(engine: Engine, slug: str) -> list[Holder]:
    """Who holds the source now (empty when nobody does)."""
    with engine.connect() as conn:
        return _holders(conn, f"source:{slug}")
