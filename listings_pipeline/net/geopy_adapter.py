"""geopy's HTTP through the egress guard: an adapter for `adapter_factory`.

The geocoder's URL is the operator's (`LISTINGS_GEOCODER_URL`), but its answers' redirects are
not, and the provider's key rides in the query string: redirects are followed only within the
provider's origin. Error messages carry the status, never the provider's response body.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from geopy.adapters import AdapterHTTPError, BaseSyncAdapter
from geopy.exc import GeocoderParseError, GeocoderTimedOut, GeocoderUnavailable

from listings_pipeline.net.addresses import EgressPolicy
from listings_pipeline.net.client import EgressClient, origin


class GuardedAdapter(BaseSyncAdapter):
    """Raises EgressRefused for a refused address or redirect (a setting to fix, not a blip)."""

    def __init__(self, *, proxies: Any, ssl_context: Any, policy: EgressPolicy) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)  # proxies: not supported
        self._client: EgressClient | None = None
        self._policy = policy
        self._origin: str | None = None

    def _same_origin(self, url: httpx.URL) -> str | None:
        return None if origin(url) == self._origin else "the geocoder's redirects stay on its host"

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        if self._client is None:
            self._origin = origin(url)
            self._client = EgressClient(self._policy, timeout=timeout, follow=self._same_origin)
        try:
            response = self._client.get(url, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            raise GeocoderTimedOut("Service timed out") from None
        except httpx.TransportError as err:
            raise GeocoderUnavailable(f"{type(err).__name__}: {err}") from None
        if response.status_code >= 400:
            raise AdapterHTTPError(
                f"Non-successful status code {response.status_code}",
                status_code=response.status_code,
                headers=response.headers,
                text="",  # not the body: geopy logs it, and it may echo the query or key
            )
        return response.text

    def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        text = self.get_text(url, timeout=timeout, headers=headers)
        try:
            return json.loads(text)
        except ValueError:
            message = f"the provider answered {len(text)} characters of non-JSON"
            raise GeocoderParseError(message) from None

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
