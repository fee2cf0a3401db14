"""What the matcher saw when it suggested (or linked) a listing for a stage row, in words a
reviewer reads: stage.listings_flat.match_signals (transform/fuzzy_match.sql) rendered for the
console's review page and `listings-pipeline review list`."""

from __future__ import annotations

from typing import Any

from listings_pipeline.transform.match_model import COMPARISONS

# Extra figures shown beside a comparison's level.
_DETAIL = {
    "name": ("name_similarity", "similarity {:.2f}"),
    "address": ("street_similarity", "street similarity {:.2f}"),
    "distance": ("distance_m", "{:.0f} m"),
    "phone": ("phone", "{}"),
}


def signal_lines(signals: dict[str, Any] | None) -> list[tuple[str, str]]:
    """[(comparison, "level · detail")] then ("score", ...); empty without signals."""
    if not signals:
        return []
    levels = signals.get("levels") or {}
    lines = []
    for name, labels in COMPARISONS:
        level = levels.get(name, -1)
        if level is None or level < 0:
            lines.append((name, "not compared (a side has no value)"))
            continue
        text = labels[level]
        key, fmt = _DETAIL.get(name, (None, ""))
        if key and signals.get(key) is not None:
            text += " · " + fmt.format(signals[key])
        lines.append((name, text))
    score = f"match probability {signals.get('probability', 0):.4f}"
    if signals.get("weight") is not None:
        score += f" (weight {signals['weight']:+.1f} bits)"
    if signals.get("second_probability") is not None:
        score += f"; next best candidate {signals['second_probability']:.4f}"
    if signals.get("candidates"):
        score += f"; {signals['candidates']} candidates compared"
    lines.append(("score", score))
    return lines


def signal_summary(signals: dict[str, Any] | None) -> str:
    """One line: the comparisons that had values, then the probability."""
    return "; ".join(
        f"{name} {text}"
        for name, text in signal_lines(signals)
        if not text.startswith("not compared")
    )
