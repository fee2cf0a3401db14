"""GET through the egress guard, following redirects by hand so that secrets stay home.

httpx strips only `Authorization` when a redirect changes origin; custom secret headers and
query parameters would follow. Here secrets are attached per request, only when the request's
origin (scheme, host, port) is one the secrets belong to — the configured URL's — so a
redirect to another origin is made without them, and a redirect whose URL itself carries a
secret value to another origin is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import httpx

from listings_pipeline.net.addresses import EgressPolicy, EgressRefused
from listings_pipeline.net.transport import guarded_client

REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _forms(value: str) -> set[str]:
    """How a secret value may appear in a URL."""
    return {form for form in (value, quote(value, safe=""), quote_plus(value)) if form}


class RedirectRefused(EgressRefused):
    """A redirect the client will not follow; the message says where it led and why."""


def origin(url: httpx.URL | str) -> str:
    """`scheme://host:port` of `url`, with the scheme's default port written out."""
    url = httpx.URL(url)
    port = url.port or {"http": 80, "https": 443}.get(url.scheme, 0)
    return f"{url.scheme}://{url.host}:{port}"


def check_http_url(url: httpx.URL | str) -> httpx.URL:
    """`url` parsed, if it is an absolute http(s) URL with a host; EgressRefused otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as err:
        raise EgressRefused(f"not a usable URL: {err}") from None
    if parsed.scheme not in ("http", "https"):
        raise EgressRefused(f"scheme {parsed.scheme or '(none)'!r} is not http or https")
    if not parsed.host:
        raise EgressRefused("the URL has no host")
    return parsed


@dataclass(frozen=True)
class Secrets:
    """Headers and query parameters that go only to `origins`."""

    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    origins: frozenset[str] = frozenset()

    def values(self) -> list[str]:
        return [*self.headers.values(), *self.params.values()]


class EgressClient:
    """GET with the guard on every connection and redirects followed by hand.

    `follow(url)` may refuse a redirect target (return the reason); by default any http(s)
    origin is followed, without secrets unless it is one of theirs."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        timeout: httpx.Timeout | float,
        headers: Mapping[str, str] | None = None,
        secrets: Secrets | None = None,
        follow: Callable[[httpx.URL], str | None] | None = None,
        max_redirects: int = 10,
    ) -> None:
        self.secrets = secrets or Secrets()
        self.follow = follow
        self.max_redirects = max_redirects
        self.http = guarded_client(policy, timeout=timeout, headers=dict(headers or {}))

    @property
    def headers(self) -> httpx.Headers:
        return self.http.headers

    def close(self) -> None:
        self.http.close()

    def request_for(
        self,
        url: httpx.URL,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Request:
        """The GET of `url`, with the secrets if `url` is on one of their origins."""
        extra = dict(headers or {})
        if origin(url) in self.secrets.origins:
            if self.secrets.params:
                url = url.copy_merge_params(dict(self.secrets.params))
            extra.update(self.secrets.headers)
        if timeout is None:
            return self.http.build_request("GET", url, headers=extra)
        return self.http.build_request("GET", url, headers=extra, timeout=timeout)

    def get(
        self,
        url: httpx.URL | str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """The response at the end of `url`'s redirects (its body read); `response.url` is
        where it came from. Raises EgressRefused (a refused address or redirect) and httpx's
        own errors (timeouts, refused connections)."""
        current = check_http_url(url)
        seen = [current]
        while True:
            response = self.http.send(self.request_for(current, headers, timeout))
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or location is None:
                return response
            response.close()
            try:
                target = check_http_url(current.join(location).copy_with(fragment=None))
            except (EgressRefused, httpx.InvalidURL) as err:
                raise RedirectRefused(f"redirect from {current.host}: {err}") from None
            self._check_redirect(current, target, seen)
            seen.append(target)
            current = target

    def _check_redirect(self, current: httpx.URL, target: httpx.URL, seen: list[httpx.URL]) -> None:
        where = f"redirect from {origin(current)} to {origin(target)}"
        if target in seen:
            raise RedirectRefused(f"{where}: a redirect loop")
        if len(seen) > self.max_redirects:
            raise RedirectRefused(f"{where}: more than {self.max_redirects} redirects")
        if self.follow is not None and (reason := self.follow(target)) is not None:
            raise RedirectRefused(f"{where}: {reason}")
        if origin(target) not in self.secrets.origins and any(
            form in str(target) for value in self.secrets.values() for form in _forms(value)
        ):
            raise RedirectRefused(f"{where}: the URL carries a configured secret off its host")
