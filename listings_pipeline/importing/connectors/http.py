"""HTTP for the network connectors: one guarded client (the egress policy on every connection,
redirects followed by hand), timeouts, a rate limit, retries with exponential backoff and
jitter (honouring Retry-After), and secrets read from the environment.

Secrets (tokens, keys) are read from the variables a config names — only those the operator
allows — and sent only to the origins the connector names (the configured URL's), never along
a redirect to another origin. Their values never appear in messages or logs: URLs are shown
with secret query parameters as `***`, and every message is masked
(`listings_pipeline.net.secrets`). Response bodies are never quoted in messages.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from listings_pipeline.importing.connectors import ImportFailed
from listings_pipeline.importing.options import HttpOptions
from listings_pipeline.net import EgressClient, EgressPolicy, EgressRefused, Secrets
from listings_pipeline.net.secrets import env_name_problem, mask, read_secret

USER_AGENT = "listings-pipeline/0.1"
log = logging.getLogger(__name__)


class RequestRefused(ImportFailed):
    """The egress guard refused a request (an address or a redirect); retrying cannot help."""


def _env(name: str, what: str, source: str) -> str:
    # Checked again at run time: the operator's allow-list may have changed since validation.
    if (problem := env_name_problem(name)) is not None:
        raise ImportFailed(f"{source}: {what}: {problem}")
    value = read_secret(name)
    if not value:
        raise ImportFailed(f"{source}: environment variable {name} ({what}) is not set")
    return value


class RateLimiter:
    """At most `per_second` request starts per second (None: no limit)."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._last: float | None = None

    def slow_down(self, interval: float) -> None:
        """Never go faster than one request per `interval` seconds (robots.txt Crawl-delay)."""
        self.interval = max(self.interval, interval)

    def wait(self) -> None:
        now = time.monotonic()
        if self._last is not None and (pause := self._last + self.interval - now) > 0:
            time.sleep(pause)
            now += pause
        self._last = now


class HttpSession:
    """GET with the pipeline's politeness and persistence. Use as a context manager."""

    def __init__(
        self,
        options: HttpOptions,
        *,
        source: str,
        secret_origins: Iterable[str],
        user_agent: str = USER_AGENT,
        accept: str = "application/json",
        rate_limit_per_second: float | None = None,
        follow: Callable[[httpx.URL], str | None] | None = None,
    ) -> None:
        """`secret_origins`: where the configured secrets may go (origins of the configured
        URLs); `follow(url)`: the reason a redirect to `url` is refused, or None."""
        self.options = options
        self.source = source
        secret_headers = {
            header: _env(env_name, f"header {header}", source)
            for header, env_name in options.headers_from_env.items()
        }
        if options.bearer_token_env:
            token = _env(options.bearer_token_env, "bearer token", source)
            secret_headers["Authorization"] = f"Bearer {token}"
        self.secret_params = {
            param: _env(env_name, f"query parameter {param}", source)
            for param, env_name in options.params_from_env.items()
        }
        self.params: dict[str, Any] = dict(options.params)
        self.limiter = RateLimiter(rate_limit_per_second or options.rate_limit_per_second)
        try:
            policy = EgressPolicy.from_env()
        except ValueError as err:
            raise ImportFailed(f"{source}: {err}") from None
        self.client = EgressClient(
            policy,
            timeout=httpx.Timeout(options.timeout_seconds),
            headers={"User-Agent": user_agent, "Accept": accept, **options.headers},
            secrets=Secrets(secret_headers, self.secret_params, frozenset(secret_origins)),
            follow=follow,
        )

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def show(self, url: str | httpx.URL) -> str:
        """`url` fit for a message or log: secret query parameters shown as ***."""
        parts = urlsplit(str(url))
        if not self.secret_params or not parts.query:
            return str(url)
        query = [
            (k, "***" if k in self.secret_params else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit(parts._replace(query=urlencode(query, safe="*")))

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.options.max_backoff_seconds, self.options.backoff_seconds * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter spreads retrying clients

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        if value.strip().isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None  # unreadable: fall back to our own backoff
        return max(0.0, when.timestamp() - time.time())

    def get(self, url: str, params: dict[str, Any] | None = None, *, what: str) -> httpx.Response:
        """The response to GET `url` (with the fixed and secret params, then `params`).

        429, 5xx and connection errors are retried; any other status is returned for the caller
        to judge. `what` says what is being fetched ("page 3"), for messages.
        """
        # Merged by hand: httpx's own `params=` replaces a query the URL already has. The
        # secret params are added by the client, and only on their own origins.
        target = httpx.URL(url).copy_merge_params({**self.params, **(params or {})})
        shown = self.show(target)
        problem = ""
        for attempt in range(self.options.max_retries + 1):
            self.limiter.wait()
            try:
                response = self.client.get(target)
            except EgressRefused as err:  # the same answer every time: not retried
                message = f"{self.source}: {what}: GET {shown}: {err}"
                raise RequestRefused(mask(message)) from None
            except httpx.TransportError as err:  # refused, reset, timed out, bad TLS …
                problem = mask(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
                delay = self._backoff(attempt)
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                # The reason phrase is the server's text: it may echo what it was sent.
                problem = mask(f"HTTP {response.status_code} {response.reason_phrase}")
                delay = self._backoff(attempt)
                retry_after = self._retry_after(response)
                if retry_after is not None:
                    if retry_after > self.options.max_backoff_seconds:
                        raise ImportFailed(
                            f"{self.source}: {what}: GET {shown}: {problem}, and the server"
                            f" asks to wait {retry_after:.0f}s (more than max_backoff_seconds"
                            f"={self.options.max_backoff_seconds:g}); retry the import later"
                        )
                    delay = retry_after
            if attempt == self.options.max_retries:
                break
            log.warning(
                "%s: %s: GET %s: %s; retry %d/%d in %.1fs",
                self.source,
                what,
                shown,
                problem,
                attempt + 1,
                self.options.max_retries,
                delay,
            )
            time.sleep(delay)
        raise ImportFailed(
            f"{self.source}: {what}: GET {shown}: still failing after"
            f" {self.options.max_retries + 1} attempts: {problem}"
        )

    def fail(self, response: httpx.Response, what: str, reason: str) -> ImportFailed:
        return ImportFailed(mask(f"{self.source}: {what}: GET {self.show(response.url)}: {reason}"))

    def json(self, response: httpx.Response, what: str) -> Any:
        """The JSON body of a 2xx response; ImportFailed naming URL and page otherwise."""
        if not response.is_success:
            hint = {401: " (check the credentials)", 403: " (check the credentials)"}
            raise self.fail(
                response,
                what,
                f"HTTP {response.status_code} {response.reason_phrase}"
                + hint.get(response.status_code, ""),
            )
        try:
            return response.json()
        except ValueError:
            # The body is not quoted: it may echo credentials or hold another site's page.
            kind = response.headers.get("Content-Type", "no Content-Type")[:100]
            raise self.fail(
                response, what, f"expected JSON, got {kind!r} ({len(response.content)} bytes)"
            ) from None
