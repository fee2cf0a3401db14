"""Seed hashes computed in Python where the transform has the value on hand, equal by
definition to their SQL functions (sql/004_hashes.sql), which stay the one definition: a test
checks both agree. The SQL function recomputes them when a reviewer's decision restages a row;
after fuzzy matching or geocoding, which change no description, the row keeps its hash."""

from __future__ import annotations

from hashlib import md5


def description_hash(description: str | None) -> str:
    """pipeline.listing_info_content_hash(description): md5 of the text's UTF-8 bytes (the
    database's encoding), '' for NULL. Computed here so that a batch does not decompress
    every ~10 KB description again only to hash it."""
    return md5((description or "").encode()).hexdigest()
