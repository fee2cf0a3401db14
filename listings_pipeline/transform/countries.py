"""Countries to ISO 3166-1 alpha-2 and state/province names to their ISO 3166-2 codes."""

from __future__ import annotations

import re
from functools import cache, lru_cache

import pycountry

# Common names ISO does not list (pycountry matches official and common names, alpha-2/3).
_ALIASES = {
    "uk": "GB",
    "u k": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "britain": "GB",
    "us": "US",
    "u s": "US",
    "usa": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "czech republic": "CZ",
}
_PUNCT = re.compile(r"[.\s]+")


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """ISO alpha-2 for a code (CA, CAN, 124) or an English name (Canada); None if unknown."""
    text = value.strip()
    if not text:
        return None
    alias = _ALIASES.get(_PUNCT.sub(" ", text.lower()).strip())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


@cache
def country_name(code: str) -> str | None:
    country = pycountry.countries.get(alpha_2=code)
    return None if country is None else country.name


@cache
def _subdivisions(code: str) -> dict[str, str]:
    """lower-case name or short code -> short code (NS for CA-NS), for one country."""
    found: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=code) or ():
        short = sub.code.split("-", 1)[1]
        found[sub.name.lower()] = short
        found[short.lower()] = short
    return found


@lru_cache(maxsize=4096)
def state_code(country: str | None, value: str) -> str:
    """`Nova Scotia` -> `NS` when the country is known; short codes upper-cased; other
    values returned as given (a region ISO does not list is still a region)."""
    if country:
        short = _subdivisions(country).get(value.lower())
        if short:
            return short
    if len(value) <= 3 and value.isalpha():
        return value.upper()
    return value
