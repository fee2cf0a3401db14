"""Password hashing with Argon2id (argon2-cffi).

Argon2id is the first choice of OWASP's password storage guidance and RFC 9106: memory-hard,
so GPU guessing of a leaked table is expensive. argon2-cffi stores salt and parameters in the
PHC string, compares in constant time, and tells us when stored parameters are outdated so a
login can upgrade the hash. (hashlib.scrypt would need all of that written by hand.)
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106 "low memory" profile (t=3, m=64 MiB, p=4): about 0.1 s per hash on a 2-core box.
_HASHER = PasswordHasher()
# Verified when the username is unknown, so a login takes as long whether or not it exists.
_DUMMY_HASH = _HASHER.hash("not a password: equalises timing for unknown usernames")

MIN_LENGTH = 12  # OWASP ASVS 4 V2.1.1
MAX_LENGTH = 1024


class PasswordPolicyError(ValueError):
    """A new password that does not meet the policy; the message says why."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_policy(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no stored hash, spend the same time and say no."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        if stored_hash is None:
            _HASHER.verify(_DUMMY_HASH, password)
            return False
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
