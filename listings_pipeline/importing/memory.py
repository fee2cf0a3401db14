"""A watch on the worker's memory while it imports: past the limit, the import stops with an
error naming the input, instead of the kernel killing the worker (and leaving its job running).

Why a watch and not RLIMIT_AS: the address-space limit counts what is reserved, not used
(glibc gives each thread a 64 MB malloc arena and an 8 MB stack; Dagster, psycopg's pool and
the raw-file writer run threads), so a limit low enough to matter breaks thread creation, and
a failed allocation inside a C extension (libpq, expat, zlib) may abort the process rather
than raise. The watch samples the resident set (psutil) twenty times a second and
raises `MemoryLimitExceeded` in the importing thread, which unwinds like any error: the raw
files written so far are removed and the job is marked failed. Bounded parsers keep a single
record from growing fast enough to outrun the samples; this is the backstop for what they do
not bound (an .xlsx's shared strings, a library's own buffers).
"""

from __future__ import annotations

import ctypes
import threading
from types import TracebackType

import psutil

INTERVAL = 0.05  # seconds between samples
_PROCESS = psutil.Process()


class MemoryLimitExceeded(BaseException):
    """Raised in the importing thread when the worker's RSS passed its limit. A BaseException,
    so no library's `except Exception` swallows it on the way out; the import turns it into
    ImportFailed."""


def rss_mb() -> float:
    return _PROCESS.memory_info().rss / (1024 * 1024)


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else ctypes.c_void_p(0)
    )


class MemoryWatch:
    """`with MemoryWatch(limit_mb):` — the block is stopped with MemoryLimitExceeded once the
    process' RSS passes `limit_mb` (0: no watch). `peak_mb` and `fired_mb` say what was seen."""

    def __init__(self, limit_mb: int, interval: float = INTERVAL) -> None:
        self.limit_mb = limit_mb
        self.interval = interval
        self.peak_mb = 0.0
        self.fired_mb: float | None = None
        self._target = threading.get_ident()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemoryWatch:
        self._target = threading.get_ident()
        self.peak_mb = rss_mb()
        if self.limit_mb > 0:
            self._active = True
            self._thread = threading.Thread(target=self._run, name="memory-watch", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = rss_mb()
            self.peak_mb = max(self.peak_mb, now)
            if now > self.limit_mb:
                with self._lock:
                    if self._active:
                        self.fired_mb = now
                        _raise_in(self._target, MemoryLimitExceeded)
                return

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        with self._lock:
            self._active = False
            if self.fired_mb is not None and kind is not MemoryLimitExceeded:
                _raise_in(self._target, None)  # not delivered yet: never deliver it later
        if self._thread is not None:
            self._thread.join()
