"""Geocoding of rows without lat/lng, through geopy, with a persistent cache.

Every answer, "not found" included, is stored in pipeline.geocode_cache under the
normalised address, so an address is sent to the provider once, whatever the retries,
re-imports and sources (GUIDE invariant 7). A batch is looked up in the cache with one
query; only the misses reach the provider, one request at a time at the configured rate;
the answers are stored every `flush_every` requests with one statement, so a crash loses
at most that many.

The provider comes from the environment (never from a source config, which is not secret):

    LISTINGS_GEOCODER              geopy service name: nominatim, opencage, googlev3, ...
                                   (unset: no geocoding; rows get a warning)
    LISTINGS_GEOCODER_URL          scheme and host of the service, e.g. http://127.0.0.1:8080
    LISTINGS_GEOCODER_USER_AGENT   identifies the application (Nominatim's usage policy)
    LISTINGS_GEOCODER_API_KEY      for services that need one
    LISTINGS_GEOCODER_MIN_DELAY    seconds between requests (default 1: Nominatim's limit)
    LISTINGS_GEOCODER_TIMEOUT      seconds per request (default 10)

Requests go through the egress guard (`listings_pipeline.net`): a provider on a private or
loopback address needs that network in LISTINGS_EGRESS_ALLOW.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from sqlalchemy import Connection, text

from listings_pipeline.configs.model import TransformSettings
from listings_pipeline.db import load_sql
from listings_pipeline.net import EgressPolicy, EgressRefused
from listings_pipeline.net.geopy_adapter import GuardedAdapter
from listings_pipeline.net.secrets import mask, remember
from listings_pipeline.transform.countries import country_name
from listings_pipeline.transform.issues import Issue

Coordinates = tuple[Decimal, Decimal]

# Same table as pipeline.plain_letters and pipeline.normalize_address (sql/011_fuzzy_match.sql).
_PLAIN = str.maketrans(
    "àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿžźżšśł", "aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyzzzssl"
)
ADDRESS_WORDS = {
    "st": "street", "str": "street", "ave": "avenue", "av": "avenue", "rd": "road",
    "dr": "drive", "blvd": "boulevard", "ln": "lane", "ct": "court", "cres": "crescent",
    "hwy": "highway", "pkwy": "parkway", "pl": "place", "sq": "square", "ter": "terrace",
    "terr": "terrace", "trl": "trail", "cir": "circle", "pt": "point", "mt": "mount",
    "rte": "route", "ste": "suite", "apt": "apartment", "fl": "floor", "bldg": "building",
    "n": "north", "s": "south", "e": "east", "w": "west", "ne": "northeast",
    "nw": "northwest", "se": "southeast", "sw": "southwest",
}  # fmt: skip
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_EIGHT_PLACES = Decimal("0.00000001")


class GeocoderConfigError(Exception):
    """The geocoder named in the environment cannot be set up; the message says why."""


def normalize_address(value: str | None) -> str | None:
    """`12 Water St.` -> `12 water street` (as pipeline.normalize_address in SQL)."""
    if not value:
        return None
    tokens = _NON_ALNUM.sub(" ", value.lower().translate(_PLAIN).replace("'", "")).split()
    return " ".join(ADDRESS_WORDS.get(token, token) for token in tokens) or None


def _key_part(value: Any) -> str:
    return "" if not value else _NON_ALNUM.sub("", str(value).lower().translate(_PLAIN))


def address_key(
    row: Mapping[str, Any], default_country: str | None = None, require_address1: bool = True
) -> str | None:
    """The cache key of a row's address (stage column names), or None when the address is
    too thin to geocode: a street address and a city or postcode are needed (without a
    street the provider returns the town centre, which is not where the listing is)."""
    street = normalize_address(row.get("loc_address1"))
    city, zip_code = _key_part(row.get("loc_city")), _key_part(row.get("loc_zip"))
    if (require_address1 and not street) or not (city or zip_code):
        return None
    country = _key_part(row.get("loc_country") or default_country)
    return "|".join((street or "", city, _key_part(row.get("loc_state")), zip_code, country))


def address_query(row: Mapping[str, Any], default_country: str | None = None) -> str:
    """The free-form query sent to the provider: `12 Water Street, Halifax, NS B3H 1A1, Canada`.
    The country goes by name: `CA` alone reads as California."""
    code = row.get("loc_country") or default_country
    region = " ".join(str(part) for part in (row.get("loc_state"), row.get("loc_zip")) if part)
    parts = (row.get("loc_address1"), row.get("loc_city"), region, code and country_name(code))
    return ", ".join(str(part) for part in parts if part)


@dataclass(frozen=True)
class GeocoderSettings:
    service: str | None = None
    url: str | None = None
    user_agent: str = "listings-pipeline"
    api_key: str | None = field(default=None, repr=False)
    min_delay_seconds: float = 1.0
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GeocoderSettings:
        env = os.environ if env is None else env
        try:
            return cls(
                service=(env.get("LISTINGS_GEOCODER") or "").strip().lower() or None,
                url=env.get("LISTINGS_GEOCODER_URL") or None,
                user_agent=env.get("LISTINGS_GEOCODER_USER_AGENT") or "listings-pipeline",
                api_key=env.get("LISTINGS_GEOCODER_API_KEY") or None,
                min_delay_seconds=float(env.get("LISTINGS_GEOCODER_MIN_DELAY") or 1.0),
                timeout=float(env.get("LISTINGS_GEOCODER_TIMEOUT") or 10.0),
            )
        except ValueError as err:
            raise GeocoderConfigError(
                f"LISTINGS_GEOCODER_MIN_DELAY / LISTINGS_GEOCODER_TIMEOUT must be numbers: {err}"
            ) from err


@dataclass
class GeocodeStats:
    """Counters for one job (Dagster metadata): provider calls vs cache hits."""

    addresses: int = 0  # distinct addresses asked for
    cache_hits: int = 0
    calls: int = 0  # requests answered by the provider
    found: int = 0  # of those calls
    not_found: int = 0
    failed: int = 0  # provider errors (not cached: tried again next time)
    not_configured: int = 0  # cache misses left alone because no provider is configured
    too_thin: int = 0  # rows whose address is not enough to geocode

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Geocoder:
    """One per job: holds the provider, its rate limit, and the job's counters."""

    def __init__(
        self,
        settings: GeocoderSettings | None = None,
        *,
        default_country: str | None = None,
        require_address1: bool = True,
        flush_every: int = 50,
        max_consecutive_failures: int = 3,
    ) -> None:
        self.settings = settings if settings is not None else GeocoderSettings.from_env()
        self.default_country = default_country
        self.require_address1 = require_address1
        self.flush_every = flush_every
        self.max_consecutive_failures = max_consecutive_failures
        self.stats = GeocodeStats()
        self.failures: dict[str, str] = {}  # address key -> provider error, this run
        self._consecutive_failures = 0
        self._last_error = ""
        self._geocode: Callable[..., Any] | None = None

    @classmethod
    def for_transform(
        cls, transform: TransformSettings, settings: GeocoderSettings | None = None
    ) -> Geocoder | None:
        """The geocoder for a source config; None when its transform.geocode.enabled is off."""
        if not transform.geocode.enabled:
            return None
        return cls(
            settings,
            default_country=transform.default_country,
            require_address1=transform.geocode.require_address1,
        )

    @property
    def configured(self) -> bool:
        return self.settings.service is not None

    @property
    def provider(self) -> str:
        return self.settings.service or "none"

    def _provider(self) -> Callable[..., Any]:
        if self._geocode is not None:
            return self._geocode
        s = self.settings
        try:
            cls = get_geocoder_for_service(s.service)
        except GeopyError as err:
            raise GeocoderConfigError(f"LISTINGS_GEOCODER={s.service!r}: {err}") from err
        accepted = inspect.signature(cls.__init__).parameters
        try:
            policy = EgressPolicy.from_env()
        except ValueError as err:
            raise GeocoderConfigError(str(err)) from None
        options: dict[str, Any] = {
            "user_agent": s.user_agent,
            "timeout": s.timeout,
            # Every request through the egress guard, like the sources' and the images'.
            "adapter_factory": functools.partial(GuardedAdapter, policy=policy),
        }
        if s.url:
            parts = urlsplit(s.url if "://" in s.url else f"https://{s.url}")
            options["domain"] = parts.netloc + parts.path.rstrip("/")
            options["scheme"] = parts.scheme
        if s.api_key:
            options["api_key"] = remember(s.api_key)  # masked wherever an error quotes it
        unsupported = [name for name in options if name not in accepted]
        if {"api_key", "domain", "adapter_factory"} & set(unsupported):
            raise GeocoderConfigError(
                f"LISTINGS_GEOCODER={s.service}: the service does not take"
                f" {' or '.join(unsupported)} (LISTINGS_GEOCODER_URL / _API_KEY)"
            )
        try:
            provider = cls(**{k: v for k, v in options.items() if k in accepted})
        except (TypeError, GeopyError) as err:
            raise GeocoderConfigError(f"LISTINGS_GEOCODER={s.service}: {err}") from err
        self._geocode = RateLimiter(
            provider.geocode,
            min_delay_seconds=s.min_delay_seconds,
            max_retries=1,
            error_wait_seconds=max(s.min_delay_seconds, 1.0),
            swallow_exceptions=False,
        )
        return self._geocode

    def _call(self, query: str, country: str | None) -> Any:
        kwargs: dict[str, Any] = {"exactly_one": True}
        if self.settings.service == "nominatim" and country:
            kwargs["country_codes"] = country.lower()
        try:
            return self._provider()(query, **kwargs)
        except EgressRefused as err:  # the same for every address: a setting to change
            raise GeocoderConfigError(f"LISTINGS_GEOCODER_URL: {err}") from None

    def geocode_missing(
        self, conn: Connection, rows_needing: Iterable[Mapping[str, Any]]
    ) -> dict[str, Coordinates | None]:
        """Coordinates by address key for the rows' addresses: (lat, lng), or None when the
        provider found nothing. Keys missing from the result were not answered (no provider
        configured, or the provider failed); `fill_coordinates` says which.

        Cache writes go through `conn`: commit it after each batch so that they outlive a
        failure later in the job."""
        wanted: dict[str, tuple[str, str | None]] = {}
        for row in rows_needing:
            key = address_key(row, self.default_country, self.require_address1)
            if key is None:
                self.stats.too_thin += 1
            elif key not in wanted:
                country = row.get("loc_country") or self.default_country
                wanted[key] = (address_query(row, self.default_country), country)
        results: dict[str, Coordinates | None] = {}
        if not wanted:
            return results
        self.stats.addresses += len(wanted)
        cached = conn.execute(
            text(load_sql(__file__, "geocode_lookup.sql")), {"keys": list(wanted)}
        )
        for key, found, lat, lng in cached:
            results[key] = (lat, lng) if found else None
        self.stats.cache_hits += len(results)
        misses = [key for key in wanted if key not in results]
        if not self.configured:
            self.stats.not_configured += len(misses)
            return results
        pending: list[tuple[str, str, Any]] = []
        for key in misses:
            query, country = wanted[key]
            if self._consecutive_failures >= self.max_consecutive_failures:
                self.failures[key] = f"provider unavailable: {self._last_error}"
                self.stats.failed += 1
                continue
            try:
                location = self._call(query, country)
            except GeopyError as err:
                self._consecutive_failures += 1
                self._last_error = mask(f"{type(err).__name__}: {err}")
                self.failures[key] = self._last_error
                self.stats.failed += 1
                continue
            self._consecutive_failures = 0
            self.stats.calls += 1
            if location is None:
                self.stats.not_found += 1
                results[key] = None
            else:
                self.stats.found += 1
                results[key] = (_decimal(location.latitude), _decimal(location.longitude))
            pending.append((key, query, getattr(location, "address", None)))
            if len(pending) >= self.flush_every:
                self._store(conn, pending, results)
                pending = []
        self._store(conn, pending, results)
        return results

    def _store(
        self,
        conn: Connection,
        pending: list[tuple[str, str, Any]],
        results: Mapping[str, Coordinates | None],
    ) -> None:
        if not pending:
            return
        points = [results[key] for key, _, _ in pending]
        conn.execute(
            text(load_sql(__file__, "geocode_store.sql")),
            {
                "provider": self.provider,
                "keys": [key for key, _, _ in pending],
                "queries": [query for _, query, _ in pending],
                "found": [point is not None for point in points],
                "lats": [None if point is None else point[0] for point in points],
                "lngs": [None if point is None else point[1] for point in points],
                "names": [name for _, _, name in pending],
            },
        )

    def fill_coordinates(
        self,
        rows: Iterable[dict[str, Any]],
        results: Mapping[str, Coordinates | None],
        round_lat_lng: int = 6,
    ) -> list[list[Issue]]:
        """Set loc_lat/loc_lng (rounded like the source's) on rows without them, from
        `geocode_missing`'s results; return each row's warnings."""
        quantum = Decimal(1).scaleb(-round_lat_lng)
        issues: list[list[Issue]] = []
        for row in rows:
            found: list[Issue] = []
            issues.append(found)
            if row.get("loc_lat") is not None and row.get("loc_lng") is not None:
                continue
            key = address_key(row, self.default_country, self.require_address1)
            if key is None:
                message = "not geocoded: needs locations.address1 and a city or zip"
            elif key in results:
                point = results[key]
                if point is not None:
                    row["loc_lat"] = point[0].quantize(quantum, ROUND_HALF_UP)
                    row["loc_lng"] = point[1].quantize(quantum, ROUND_HALF_UP)
                    continue
                message = "address not found by the geocoder"
            elif key in self.failures:
                message = f"geocoding failed ({self.failures[key]}); retried on the next run"
            else:
                message = "not geocoded: no geocoder configured (set LISTINGS_GEOCODER)"
            found.append(Issue("locations.lat", None, message, "warning", "geocode"))
        return issues


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_EIGHT_PLACES, ROUND_HALF_UP)


def geocode_missing(
    conn: Connection,
    rows_needing: Iterable[Mapping[str, Any]],
    geocoder: Geocoder | None = None,
) -> dict[str, Coordinates | None]:
    """`Geocoder.geocode_missing` with a geocoder from the environment when none is given
    (pass one per job to keep its rate limit and counters)."""
    return (geocoder or Geocoder()).geocode_missing(conn, rows_needing)


def geocode_stage(
    conn: Connection,
    job_id: int,
    geocoder: Geocoder,
    round_lat_lng: int = 6,
    page_size: int = 500,
) -> GeocodeStats:
    """Geocode the job's stage rows that have no coordinates and no production match
    (seed 000 3b), a page at a time: rows set with one UPDATE per page, warnings appended
    to validation_warnings. Recompute location hashes afterwards.

    Commits `conn` after each page so that cached answers and filled rows survive a crash."""
    select = text(load_sql(__file__, "geocode_stage_select.sql"))
    update = text(load_sql(__file__, "geocode_stage_update.sql"))
    after = 0
    while True:
        rows = [
            dict(r._mapping)
            for r in conn.execute(select, {"job_id": job_id, "after": after, "limit": page_size})
        ]
        if not rows:
            return geocoder.stats
        after = rows[-1]["id"]
        results = geocoder.geocode_missing(conn, rows)
        issues = geocoder.fill_coordinates(rows, results, round_lat_lng)
        conn.execute(
            update,
            {
                "ids": [row["id"] for row in rows],
                "lats": [row.get("loc_lat") for row in rows],
                "lngs": [row.get("loc_lng") for row in rows],
                "warnings": ["\n".join(str(i) for i in found) or None for found in issues],
            },
        )
        conn.commit()
