"""The Fellegi–Sunter model that scores candidate pairs (transform/fuzzy.py), estimated by EM.

A candidate pair is compared field by field; each comparison gives a level (0 = disagree ...
highest = agree exactly; -1 = a side has no value, which counts for nothing). The model holds,
per comparison and level, m = P(level | same place) and u = P(level | different places), and
lambda = P(same place) among candidate pairs. A pair's match weight is log2(lambda / (1 -
lambda)) + sum of log2(m / u) over its levels; its probability follows from that.

Parameters are estimated per pair of sources (the importing DMO, the DMO whose listing is the
candidate), as Splink does, by expectation–maximisation over the comparison patterns of the
candidate pairs, with the defaults below as a prior (pseudo-counts, so a small job does not
swing the model) and reviewers' decisions on suggested matches as labelled pairs of known
class (the feedback loop: dedupe-style active learning, in the same estimate).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# Comparisons in the order of match_pairs.levels (fuzzy_candidates.sql), with their levels.
COMPARISONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name", ("different", "shares a word", "similar", "one within the other", "same")),
    ("address", ("different", "same street", "similar", "same")),
    ("city", ("different", "similar", "same")),
    ("postcode", ("different", "same area", "same")),
    ("phone", ("different", "same")),
    ("distance", ("> 2 km", "< 2 km", "< 500 m", "< 150 m", "< 50 m")),
    ("category", ("different", "overlap")),
    ("website", ("different", "same")),
)
NAMES = tuple(name for name, _ in COMPARISONS)
Pattern = tuple[int, ...]  # one level per comparison, -1 = no value on a side

# Prior m and u per level (candidate pairs: non-matches there are neighbours, so they agree on
# city or postcode more often than random pairs would).
PRIOR_M: dict[str, tuple[float, ...]] = {
    "name": (0.03, 0.07, 0.15, 0.30, 0.45),
    "address": (0.04, 0.06, 0.20, 0.70),
    "city": (0.06, 0.10, 0.84),
    "postcode": (0.08, 0.07, 0.85),
    "phone": (0.10, 0.90),
    "distance": (0.03, 0.05, 0.12, 0.30, 0.50),
    "category": (0.40, 0.60),
    "website": (0.20, 0.80),
}
PRIOR_U: dict[str, tuple[float, ...]] = {
    "name": (0.72, 0.20, 0.06, 0.015, 0.005),
    "address": (0.85, 0.08, 0.05, 0.02),
    "city": (0.25, 0.15, 0.60),
    "postcode": (0.55, 0.30, 0.15),
    "phone": (0.985, 0.015),
    "distance": (0.20, 0.35, 0.25, 0.14, 0.06),
    "category": (0.60, 0.40),
    "website": (0.97, 0.03),
}
PRIOR_LAMBDA = 0.1
PRIOR_STRENGTH = 30.0  # pseudo-pairs behind the prior of each m and u
LABEL_WEIGHT = 10.0  # a reviewer's decision counts as this many unlabelled pairs
CALIBRATION_SD = 8.0  # bits: how far reviewers' decisions may shift weights, typically
_EM_ITERATIONS = 40
_EPS = 1e-4


@dataclass
class Model:
    lam: float = PRIOR_LAMBDA
    m: dict[str, list[float]] = field(
        default_factory=lambda: {k: list(v) for k, v in PRIOR_M.items()}
    )
    u: dict[str, list[float]] = field(
        default_factory=lambda: {k: list(v) for k, v in PRIOR_U.items()}
    )
    pairs: int = 0
    labels: int = 0
    offset: float = 0.0  # bits, from reviewers' decisions (calibrate)

    def weight(self, pattern: Pattern) -> float:
        """Match weight in bits."""
        w = math.log2(self.lam / (1 - self.lam)) + self.offset
        for name, level in zip(NAMES, pattern, strict=True):
            if level >= 0:
                w += math.log2(self.m[name][level] / self.u[name][level])
        return w

    def probability(self, pattern: Pattern) -> float:
        return 1 / (1 + 2 ** -self.weight(pattern))

    def level_weights(self) -> dict[str, list[float]]:
        """log2(m/u) per comparison and level: what each agreement is worth (for people)."""
        return {
            n: [round(math.log2(mi / ui), 2) for mi, ui in zip(self.m[n], self.u[n], strict=True)]
            for n in NAMES
        }

    def as_json(self) -> dict[str, object]:
        return {
            "lambda": self.lam,
            "offset": self.offset,
            "m": self.m,
            "u": self.u,
            "weights": self.level_weights(),
        }


# Splink's way of training a model whose comparisons are not independent: each session of EM
# runs on the pairs that agree on one thing (blocked on it) and estimates the comparisons of
# everything else. Among pairs at the same place, the name tells a business from its
# neighbour; among pairs with the same name, the location tells a place from a chain's other
# branch. One EM over all candidate pairs would instead find the commoner cluster,
# "neighbours", which agree on every location comparison at once.
_NAME = NAMES.index("name")
_SESSIONS: tuple[tuple[str, Callable[[Pattern], bool], frozenset[str]], ...] = (
    ("same name", lambda p: p[_NAME] >= 3, frozenset(NAMES) - {"name"}),
    (
        "same place",
        lambda p: (
            p[NAMES.index("address")] == 3
            or p[NAMES.index("distance")] >= 3
            or p[NAMES.index("phone")] == 1
        ),
        frozenset({"name"}),
    ),
)


def _monotone(m: list[float], u: list[float]) -> list[float]:
    """m adjusted so that m/u never falls from one level to the next (pool adjacent
    violators): every comparison's levels are ordered, and a closer distance or a more similar
    name is never less a sign of the same place. Without it, EM over a city's chains (twenty
    "Starbucks" far apart for each one nearby) learnt that 2 km away is as telling as 50 m."""
    blocks: list[tuple[float, float, list[int]]] = []
    for level, (mi, ui) in enumerate(zip(m, u, strict=True)):
        block = (mi, ui, [level])
        while blocks and blocks[-1][0] / blocks[-1][1] > block[0] / block[1]:
            pm, pu, levels = blocks.pop()
            block = (pm + block[0], pu + block[1], levels + block[2])
        blocks.append(block)
    out = list(m)
    for bm, bu, levels in blocks:
        for level in levels:
            out[level] = u[level] * bm / bu
    return out


def _em(
    model: Model,
    data: list[tuple[Pattern, float, float | None]],
    train: frozenset[str],
    prior: Model,
    max_lam: float,
) -> None:
    """EM in place over `data` ((pattern, weight, known class or None)): lambda (at most
    `max_lam`) and the m and u of the comparisons in `train`; the others stay fixed."""
    for _ in range(_EM_ITERATIONS):
        # E: the probability that each pattern is a match (labels: known).
        resp = [(p, n, model.probability(p) if r is None else r) for p, n, r in data]
        # M: expected counts per level, plus the prior's pseudo-counts.
        total = sum(n for _, n, _ in resp)
        matches = sum(n * r for _, n, r in resp)
        lam = (matches + PRIOR_STRENGTH * prior.lam) / (total + PRIOR_STRENGTH)
        lam = min(max(lam, _EPS), max_lam)
        change = abs(lam - model.lam)
        model.lam = lam
        for i, name in enumerate(NAMES):
            if name not in train:
                continue
            levels = len(prior.m[name])
            m_counts = [PRIOR_STRENGTH * x for x in prior.m[name]]
            u_counts = [PRIOR_STRENGTH * x for x in prior.u[name]]
            for p, n, r in resp:
                level = p[i]
                if 0 <= level < levels:
                    m_counts[level] += n * r
                    u_counts[level] += n * (1 - r)
            u_new = [min(max(c / sum(u_counts), _EPS), 1 - _EPS) for c in u_counts]
            m_new = _monotone([min(max(c / sum(m_counts), _EPS), 1 - _EPS) for c in m_counts],
                              u_new)  # fmt: skip
            for target, new in ((model.m, m_new), (model.u, u_new)):
                change = max(
                    change, max(abs(a - b) for a, b in zip(new, target[name], strict=True))
                )
                target[name] = new
        if change < 1e-5:
            break


def estimate(
    patterns: Iterable[tuple[Pattern, int, int]],
    labels: Iterable[tuple[Pattern, bool]] = (),
    *,
    rows: int | None = None,
    prior: Model | None = None,
) -> Model:
    """Estimate the model from (pattern, pairs, records) of the candidate pairs — how many
    pairs have the pattern and how many records they come from — plus labelled (pattern,
    is_match) pairs whose class is known (they weigh LABEL_WEIGHT pairs each). The prior's
    parameters act as PRIOR_STRENGTH pseudo-pairs, so few pairs move it little.

    A record is at most one place, so at most one of its pairs is a match: lambda is capped at
    records / pairs, over all pairs (`rows`: how many records they come from) and within each
    training session (the records of its patterns, summed: an upper bound)."""
    prior = prior or Model()
    patterns = [(p, n, r) for p, n, r in patterns if n > 0]
    records = {p: r for p, _, r in patterns}
    data = [(p, float(n), None) for p, n, _ in patterns]
    data += [(p, LABEL_WEIGHT, 1.0 if is_match else 0.0) for p, is_match in labels]
    model = Model(prior.lam, {k: list(v) for k, v in prior.m.items()},
                  {k: list(v) for k, v in prior.u.items()})  # fmt: skip
    model.pairs = sum(int(n) for _, n, r in data if r is None)
    model.labels = sum(1 for _, _, r in data if r is not None)
    if not data:
        return model
    max_lam = min(1 - _EPS, rows / model.pairs) if rows and model.pairs else 1 - _EPS
    trained = Model(model.lam, {k: list(v) for k, v in model.m.items()},
                    {k: list(v) for k, v in model.u.items()})  # fmt: skip
    for _, blocked, train in _SESSIONS:
        session = Model(min(prior.lam, 0.5), {k: list(v) for k, v in model.m.items()},
                        {k: list(v) for k, v in model.u.items()})  # fmt: skip
        # Labelled pairs count in every session: their class is known.
        chosen = [d for d in data if d[2] is not None or blocked(d[0])]
        pairs = sum(n for p, n, r in chosen if r is None)
        cap = sum(records[p] for p, _, r in chosen if r is None) / pairs if pairs else 1.0
        _em(session, chosen, train, prior, min(cap, 1 - _EPS))
        for name in train:
            trained.m[name], trained.u[name] = session.m[name], session.u[name]
    # Then lambda over this job's candidate pairs (labelled pairs were chosen by people, they
    # say nothing of how common matches are), every m and u as estimated.
    model.m, model.u = trained.m, trained.u
    model.lam = min(prior.lam, max_lam / 2)
    _em(model, [d for d in data if d[2] is None], frozenset(), prior, max_lam)
    model.offset = calibrate(model, [(p, r == 1.0) for p, _, r in data if r is not None])
    return model


def calibrate(model: Model, labels: Sequence[tuple[Pattern, bool]]) -> float:
    """Recalibration from reviewers' decisions: the shift of match weight (bits) that makes
    the model's probabilities fit their accept/reject decisions best (logistic likelihood,
    with a normal prior of CALIBRATION_SD bits around 0, so a few decisions move it a little).
    Accepting what the model only suggested raises the weight of such pairs; rejecting lowers
    it, down to below the suggestion threshold."""
    if not labels:
        return 0.0
    base = [(model.weight(p) - model.offset) * math.log(2) for p, _ in labels]
    b = 0.0  # in nats
    sd = CALIBRATION_SD * math.log(2)
    for _ in range(50):
        grad, hess = -b / sd**2, -1 / sd**2
        for w, (_, accepted) in zip(base, labels, strict=True):
            q = 1 / (1 + math.exp(-max(min(w + b, 50), -50)))
            grad += (1.0 if accepted else 0.0) - q
            hess -= q * (1 - q)
        step = grad / hess
        b -= step
        if abs(step) < 1e-9:
            break
    return max(min(b / math.log(2), 3 * CALIBRATION_SD), -3 * CALIBRATION_SD)


def from_json(params: dict[str, object] | None) -> Model:
    if not params:
        return Model()
    m = params.get("m") or {}
    u = params.get("u") or {}
    model = Model(float(params.get("lambda", PRIOR_LAMBDA)))  # type: ignore[arg-type]
    model.offset = float(params.get("offset", 0.0))  # type: ignore[arg-type]
    for name in NAMES:
        levels = len(PRIOR_M[name])
        if isinstance(m, dict) and len(m.get(name, [])) == levels:
            model.m[name] = [float(x) for x in m[name]]
        if isinstance(u, dict) and len(u.get(name, [])) == levels:
            model.u[name] = [float(x) for x in u[name]]
    return model


def pattern_of(levels: Sequence[int] | dict[str, int]) -> Pattern:
    """A pattern from a list in COMPARISONS order or a {comparison: level} mapping."""
    if isinstance(levels, dict):
        return tuple(int(levels.get(name, -1)) for name in NAMES)
    return tuple(int(x) for x in levels)


def describe_levels(pattern: Pattern) -> dict[str, str]:
    """{comparison: level label} for people; comparisons without a value left out."""
    return {
        name: labels[level]
        for (name, labels), level in zip(COMPARISONS, pattern, strict=True)
        if level >= 0
    }
