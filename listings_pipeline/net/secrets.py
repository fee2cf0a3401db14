"""Secrets a config may name, and keeping their values out of messages and logs.

A config never holds a secret: it names an environment variable (`bearer_token_env`,
`headers_from_env`, `params_from_env`). Config authors (console users with `pipeline:admin`)
are not the operator, so they may name only the variables the operator set aside for configs:
those starting with `LISTINGS_SECRET_` (`LISTINGS_SECRET_ENV_PREFIX` changes the prefix; empty
turns it off) and those listed in `LISTINGS_ALLOWED_SECRET_ENV` (comma-separated). Anything
else — `AWS_SECRET_ACCESS_KEY`, `LISTINGS_DATABASE_URL` — is refused when the config is
validated.

Every secret value read is remembered for the life of the process; `mask()` replaces them with
`***` in any text bound for a message, a job row or a log line.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from listings_pipeline.net.addresses import split_list

PREFIX_ENV = "LISTINGS_SECRET_ENV_PREFIX"
DEFAULT_PREFIX = "LISTINGS_SECRET_"
ALLOWED_ENV = "LISTINGS_ALLOWED_SECRET_ENV"
MIN_MASKED = 4  # shorter values would turn ordinary words into *** (and are no secret)

_values: set[str] = set()
_lock = threading.Lock()


def env_name_problem(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Why a config may not name the environment variable `name`, or None when it may."""
    env = os.environ if env is None else env
    prefix = env.get(PREFIX_ENV, DEFAULT_PREFIX)
    if prefix and name.startswith(prefix):
        return None
    if name in split_list(env.get(ALLOWED_ENV)):
        return None
    rule = f"names starting with {prefix}" if prefix else "no prefix (LISTINGS_SECRET_ENV_PREFIX)"
    return (
        f"environment variable {name} may not be used by a config: the operator allows {rule}"
        f" and those listed in {ALLOWED_ENV}"
    )


def remember(value: str) -> str:
    """Register a secret value for masking; return it."""
    if len(value) >= MIN_MASKED:
        with _lock:
            _values.add(value)
    return value


def read_secret(name: str) -> str | None:
    """The value of the environment variable `name` (None when unset or empty), remembered
    for masking."""
    value = os.environ.get(name)
    return remember(value) if value else None


def secret_values() -> frozenset[str]:
    with _lock:
        return frozenset(_values)


def mask(text: str) -> str:
    """`text` with every remembered secret value replaced by ***."""
    for value in sorted(secret_values(), key=len, reverse=True):  # longest first: overlaps
        if value in text:
            text = text.replace(value, "***")
    return text


class MaskSecrets(logging.Filter):
    """Masks remembered secret values in the records of the logger it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _values:
            message = record.getMessage()
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


_filter = MaskSecrets()
# httpx logs each request's full URL at INFO, httpcore each status line at DEBUG, geopy
# providers' error bodies. A logger's filters do not see its children's records: all named.
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "geopy"):
    logging.getLogger(_name).addFilter(_filter)
