"""Per-settings precomputation: rules are compiled once per config, not once per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

P = TypeVar("P")
_plans: dict[tuple[int, Callable[..., Any]], tuple[object, Any]] = {}


def compiled(settings: Any, build: Callable[[Any], P]) -> P:
    """`build(settings)`, cached for this settings object (configs are not changed in place)."""
    key = (id(settings), build)
    hit = _plans.get(key)
    if hit is not None and hit[0] is settings:
        return hit[1]
    if len(_plans) > 64:  # a long-lived process sees many configs; keep the cache small
        _plans.clear()
    plan = build(settings)
    _plans[key] = (settings, plan)
    return plan
