"""Downloading one image URL: guarded, rate-limited, retried, size- and time-bounded.

Redirects are followed by hand so that each hop's scheme is checked and loops are named.
Each hop's host is vetted by the egress guard (`listings_pipeline.net`) before the per-host
rate limiter, so a refused host costs no wait, and again in the transport where the connection
is made (against DNS rebinding). The body is streamed into
a spooled temporary file (small images stay in memory) while its size and sha256 are counted.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO

import httpx

from listings_pipeline.images.problems import ImageProblem, redact_url
from listings_pipeline.images.settings import ImageSettings
from listings_pipeline.net import BlockedAddress, GuardedTransport

_SPOOL_IN_MEMORY = 2 * 1024 * 1024  # bytes of a download kept in memory before spilling to disk
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
_ACCEPT = "image/webp,image/jpeg,image/png,image/gif;q=0.9,*/*;q=0.1"


@dataclass
class Download:
    body: IO[bytes]  # positioned at 0; the caller closes it
    sha256: str
    size: int
    content_type: str | None


def check_url(url: str) -> httpx.URL:
    """Parse an image URL or raise ImageProblem(invalid_url / unsupported_scheme)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ImageProblem("invalid_url", f"cannot parse the URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "(none)"
        raise ImageProblem("unsupported_scheme", f"scheme {scheme!r} is not http or https")
    if not parsed.host:
        raise ImageProblem("invalid_url", "the URL has no host")
    return parsed


class HostRateLimiter:
    """At most `rps` request starts per second per host, across all threads."""

    def __init__(self, rps: float | None) -> None:
        self._interval = 1.0 / rps if rps else 0.0
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class Downloader:
    def __init__(self, settings: ImageSettings) -> None:
        self._settings = settings
        self._limiter = HostRateLimiter(settings.per_host_rps)
        self._policy = settings.egress_policy()
        limits = httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
        )
        self._client = httpx.Client(
            transport=GuardedTransport(self._policy, limits),
            timeout=httpx.Timeout(
                settings.read_timeout, connect=settings.connect_timeout, pool=None
            ),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept": _ACCEPT},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str) -> Download:
        """Download `url`, following redirects; raise ImageProblem when it cannot."""
        current = check_url(url)
        deadline = time.monotonic() + self._settings.download_timeout
        chain = [current]
        while True:
            result = self._get(current, deadline)
            if isinstance(result, Download):
                return result
            try:
                target = current.join(result)
            except httpx.InvalidURL as exc:
                raise ImageProblem("invalid_url", f"bad redirect location: {exc}") from None
            if target in chain:
                hops = " -> ".join(redact_url(str(u)) for u in [*chain, target])
                raise ImageProblem("redirect_loop", f"redirect loop: {hops}")
            if len(chain) > self._settings.max_redirects:
                raise ImageProblem(
                    "too_many_redirects",
                    f"more than {self._settings.max_redirects} redirects "
                    f"(last to {redact_url(str(target))})",
                )
            current = check_url(str(target))
            chain.append(current)

    def _get(self, url: httpx.URL, deadline: float) -> Download | str:
        """One hop with retries: a Download, or the Location of a redirect."""
        settings = self._settings
        attempt = 0
        while True:
            delay: float | None = None
            problem: ImageProblem
            self._vet(url)
            self._limiter.wait(url.host)
            try:
                with self._client.stream("GET", url) as response:
                    status = response.status_code
                    if status in _REDIRECTS and "location" in response.headers:
                        return response.headers["location"]
                    if status == 200:
                        return self._read_body(response, deadline)
                    problem = ImageProblem(
                        "http_status", f"HTTP {status} {response.reason_phrase}".strip()
                    )
                    if status == 429 or status >= 500:
                        delay = _retry_after(response.headers.get("retry-after"))
                    else:
                        raise problem
            except BlockedAddress as exc:
                raise ImageProblem("blocked_address", str(exc)) from None
            except httpx.TimeoutException as exc:
                problem = ImageProblem("timeout", f"{type(exc).__name__}: {exc}".rstrip(": "))
            except httpx.TransportError as exc:
                problem = ImageProblem("network", f"{type(exc).__name__}: {exc}".rstrip(": "))
            if attempt >= settings.max_retries:
                if attempt:
                    problem.message += f" (after {attempt + 1} attempts)"
                raise problem
            backoff = min(settings.backoff_max, settings.backoff_base * 2**attempt)
            wait = min(settings.backoff_max, delay) if delay is not None else backoff
            wait *= random.uniform(0.5, 1.0)  # jitter: retries of many images do not align
            if time.monotonic() + wait > deadline:
                problem.message += " (no time left for another attempt)"
                raise problem
            time.sleep(wait)
            attempt += 1

    def _vet(self, url: httpx.URL) -> None:
        """Refuse a blocked host before waiting for its rate-limit slot."""
        try:
            self._policy.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
        except BlockedAddress as exc:
            raise ImageProblem("blocked_address", str(exc)) from None
        except OSError:
            pass  # unresolvable: the connection attempt reports it (and retries)

    def _read_body(self, response: httpx.Response, deadline: float) -> Download:
        limit = self._settings.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ImageProblem(
                "too_large", f"Content-Length {declared} bytes exceeds the limit of {limit} bytes"
            )
        # Handed to the caller open (it closes it), so no with-block here.
        body = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            digest = hashlib.sha256()
            size = 0
            # iter_bytes decodes Content-Encoding, so the limit also bounds a gzip bomb.
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ImageProblem(
                        "too_large", f"more than the limit of {limit} bytes was sent"
                    )
                if time.monotonic() > deadline:
                    raise ImageProblem(
                        "timeout",
                        f"download took longer than {self._settings.download_timeout:g} s",
                    )
                digest.update(chunk)
                body.write(chunk)
            body.seek(0)
            return Download(body, digest.hexdigest(), size, response.headers.get("content-type"))
        except BaseException:
            body.close()
            raise


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the delta form; dates are rare for images)."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
