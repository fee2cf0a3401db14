"""Password hashing with Argon2id (argon2-cffi), a bounded number at a time, and the policy.

Argon2id is the first choice of OWASP's password storage guidance and RFC 9106: memory-hard,
so GPU guessing of a leaked table is expensive. argon2-cffi stores salt and parameters in the
PHC string, compares in constant time, and tells us when stored parameters are outdated so a
login can upgrade the hash. (hashlib.scrypt would need all of that written by hand.)

Each hash takes 64 MiB, and argon2-cffi releases the GIL: twenty parallel logins once grew the
console by 870 MB. So every hash and verification takes one of a few slots
(LISTINGS_PASSWORD_HASH_SLOTS, default 1); the others wait their turn, a bounded time
(LISTINGS_PASSWORD_HASH_WAIT_SECONDS, default 30).

The policy follows NIST SP 800-63B 5.1.1.2: a minimum length, and no password that is common,
breached, repetitive or built from the username. zxcvbn (Dropbox's estimator, Python port)
bundles the 30,000 most common passwords of leaked password sets and finds repeats, sequences,
keyboard patterns, dates and dictionary words with l33t substitutions in a candidate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from listings_pipeline.settings import get_console_settings

# RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4): about 0.1 s per hash on a 2-core box.
_HASHER = PasswordHasher()

MIN_LENGTH = 12  # OWASP ASVS 4 V2.1.1
MAX_LENGTH = 1024
MIN_STRENGTH = 3  # zxcvbn score 0-4; 3 means about 10^8 guesses or more
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; a longer password is judged on its start
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])
_CONTEXT = ("listings", "pipeline", "console")  # words of this service (NIST: context-specific)

_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()
# zxcvbn keeps the user inputs of the current call in a module global: one check at a time.
_zxcvbn_lock = threading.Lock()


@cache
def _dummy_hash() -> str:
    """Verified when the username is unknown, so a login takes as long whether or not it exists.
    Made on first use (0.1-0.5 s), not at import, which every CLI command would pay."""
    return _HASHER.hash("not a password: equalises timing for unknown usernames")


def warm_up() -> None:
    """Make the dummy hash before the console serves its first login."""
    _dummy_hash()


class PasswordPolicyError(ValueError):
    """A new password that does not meet the policy; the message says why."""


class HashingBusy(RuntimeError):
    """Every hashing slot stayed taken for LISTINGS_PASSWORD_HASH_WAIT_SECONDS: try again."""


@contextmanager
def _slot() -> Iterator[None]:
    global _slots
    if _slots is None:
        with _slots_lock:
            if _slots is None:
                _slots = threading.BoundedSemaphore(get_console_settings().password_hash_slots)
    if not _slots.acquire(timeout=get_console_settings().password_hash_wait_seconds):
        raise HashingBusy("too many password checks at once")
    try:
        yield
    finally:
        _slots.release()


def check_policy(password: str, username: str | None = None) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_LENGTH} characters")
    if password.lower() in _COMMON:
        raise PasswordPolicyError("password is on a list of common and breached passwords")
    with _zxcvbn_lock:
        words = [*_CONTEXT, username] if username else list(_CONTEXT)
        result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=words)
    if result["score"] < MIN_STRENGTH:
        feedback = result["feedback"]
        why = (feedback["warning"] or "it is a common pattern").rstrip(".")
        hint = " ".join(feedback["suggestions"][:1])
        raise PasswordPolicyError(f"password is too easy to guess: {why}. {hint}".strip())


def hash_password(password: str, username: str | None = None) -> str:
    """The Argon2id hash of a new password, after checking it against the policy."""
    check_policy(password, username)
    with _slot():
        return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no stored hash, spend the same time and say no."""
    if len(password) > MAX_LENGTH:
        return False
    with _slot():
        try:
            if stored_hash is None:
                _HASHER.verify(_dummy_hash(), password)
                return False
            return _HASHER.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def rehash(password: str) -> str:
    """A fresh hash of a password that was just verified (no policy: it is already in use)."""
    with _slot():
        return _HASHER.hash(password)
