"""Which failures an asset retries: transient ones (network, database connection, geocoder,
object store) go to the asset's RetryPolicy; everything else fails the step at once.

A RetryPolicy retries any exception, so the assets run their work inside `transient_only()`:
a bad config, an unreadable file or a refused promotion would fail the same way every time,
and retrying them only delays the message a person needs to read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import httpx
import psycopg
import sqlalchemy.exc
from botocore.exceptions import HTTPClientError
from geopy.exc import GeocoderRateLimited, GeocoderTimedOut, GeocoderUnavailable

from listings_pipeline.failures import describe

# Delays (Backoff.EXPONENTIAL, ±3 s of jitter): 0-6 s, 6-12 s, 18-24 s, 42-48 s — about a
# minute and a half in all, enough for a database failover or a provider's short outage; the
# jitter keeps four runs that failed together from retrying together.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=4, delay=3, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

TRANSIENT: tuple[type[BaseException], ...] = (
    httpx.TransportError,  # refused, reset, timed out (HTTP sources, geocoder, images)
    sqlalchemy.exc.OperationalError,  # connection lost, server restarting, failover
    sqlalchemy.exc.InterfaceError,  # connection already closed
    psycopg.OperationalError,  # the same from COPY, which talks to psycopg directly
    GeocoderUnavailable,
    GeocoderTimedOut,
    GeocoderRateLimited,
    HTTPClientError,  # S3: endpoint unreachable, connection closed, read timeout
    ConnectionError,
    TimeoutError,
)


def is_transient(err: BaseException) -> bool:
    """Whether `err`, or an error it was raised from, is worth retrying after a pause."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, TRANSIENT):
            return True
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__
    return False


@contextmanager
def transient_only(also: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Let transient errors (and those of types `also`) reach the RetryPolicy; turn any other
    error into a Failure that is not retried, its message shown on the step in the UI."""
    try:
        yield
    except (dg.Failure, dg.RetryRequested):
        raise
    except Exception as err:
        if is_transient(err) or isinstance(err, also):
            raise
        raise dg.Failure(description=describe(err), allow_retries=False) from err
