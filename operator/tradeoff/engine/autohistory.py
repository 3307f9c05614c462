"""`auto` from history: the algorithm that did best on finished studies of the same space.

Adapters find the finished studies whose `space_signature` equals the new study's (in the
workdir root, or the Study's namespace: at most `MAX_STUDIES`) and hand them over as
`PastStudy`; the rule is here. Each past study is scored at a common budget (the fewest
completed trials any of them has): the hypervolume of its first trials, all studies
scaled together as `normalised_hypervolume` scales one, as a share of the best study's
(one objective: the best value, likewise). An algorithm replaces the fixed rule's choice
only with the benchmark's evidence (BENCHMARKS.md section 14): at least `MIN_STUDIES`
studies of it and of the fixed rule's algorithm, its worst above the other's best, and its
median ahead by more than `MARGIN`. With one study each, or overlapping results, history
picked worse than the fixed rule as often as better.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.ensembles import search_records
from tradeoff.engine.pareto import completed, hypervolume_of, losses, nondominated_mask
from tradeoff.engine.samplers import algorithm_problems, with_algorithm

__all__ = [
    "MARGIN",
    "MAX_STUDIES",
    "MIN_STUDIES",
    "PastStudy",
    "from_history",
    "past_algorithm",
    "space_signature",
    "study_scores",
]

MAX_STUDIES = 50
"""At most this many past studies are read for one choice (each costs its trials)."""
MIN_STUDIES = 3
"""Past studies needed of each of the two algorithms compared."""
MARGIN = 0.02
"""Lead of the medians (share of the best study's score) needed to leave the fixed rule."""
_NAMES_SHOWN = 4

_SPACE_FIELDS = {"name", "type", "low", "high", "log", "step", "values", "when"}


def space_signature(spec: StudySpec) -> str:
    """A stable hash of the parameters (names, types, ranges, choices, conditions) and the
    objectives (names, directions, in order); the order of parameters does not count."""
    parameters = sorted(
        (p.model_dump(mode="json", include=_SPACE_FIELDS) for p in spec.parameters),
        key=lambda p: str(p["name"]),
    )
    objectives = [[o.name, o.direction] for o in spec.objectives]
    text = json.dumps({"p": parameters, "o": objectives}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PastStudy:
    """A finished study of the same space: its name, the algorithm it ran, its trials."""

    name: str
    algorithm: str
    records: Sequence[Trial]


def past_algorithm(spec_algorithm: str, recorded: AlgorithmChoice | None) -> str | None:
    """The algorithm a past study ran: what `auto` resolved to, or what its spec named."""
    if spec_algorithm != "auto":
        return spec_algorithm
    return recorded.name if recorded is not None else None


def study_scores(spec: StudySpec, studies: Sequence[PastStudy]) -> tuple[dict[str, float], int]:
    """Each study's score (share of the best one's) at the common budget, and that budget;
    a study without a completed trial has none."""
    firsts = {
        s.name: sorted(completed(search_records(s.records)), key=lambda r: r.number)
        for s in studies
    }
    firsts = {name: trials for name, trials in firsts.items() if trials}
    budget = min((len(t) for t in firsts.values()), default=0)
    if budget == 0:
        return {}, 0
    own = {name: losses(spec, trials[:budget]) for name, trials in firsts.items()}
    pooled = np.vstack(list(own.values()))
    raw = {name: hypervolume_of(pooled, x[nondominated_mask(x)]) for name, x in own.items()}
    top = max(raw.values())
    return {name: (v / top if top > 0 else 0.0) for name, v in raw.items()}, budget


def from_history(
    spec: StudySpec, fixed: AlgorithmChoice, studies: Sequence[PastStudy]
) -> AlgorithmChoice:
    """`fixed` (the fixed rule's choice), or the algorithm history shows does better;
    either way the reason says what history held."""
    if spec.algorithm.name != "auto" or not studies:
        return fixed
    scores, budget = study_scores(spec, list(studies)[:MAX_STUDIES])
    studies = [s for s in studies[:MAX_STUDIES] if s.name in scores]
    if not studies:
        return fixed
    by_algorithm: dict[str, list[tuple[str, float]]] = {}
    for s in studies:
        by_algorithm.setdefault(s.algorithm, []).append((s.name, scores[s.name]))
    rule = by_algorithm.get(fixed.name, [])
    rivals = {
        name: runs
        for name, runs in by_algorithm.items()
        if name != fixed.name
        and len(runs) >= MIN_STUDIES
        and not algorithm_problems(with_algorithm(spec, name))
    }
    seen = f"history: {len(studies)} finished studies of this space ({_count(by_algorithm)})"
    if len(rule) < MIN_STUDIES or not rivals:
        need = f"needs {MIN_STUDIES} of {fixed.name} and of another algorithm"
        return _noted(fixed, f"{seen}, {need}")
    best = min(rivals, key=lambda name: (-_median(rivals[name]), name))  # ties: by name
    lead = _median(rivals[best]) - _median(rule)
    apart = min(v for _, v in rivals[best]) > max(v for _, v in rule)
    figures = (
        f"at {budget} trials, {best} {_figures(rivals[best])} against {fixed.name} {_figures(rule)}"
    )
    if lead > MARGIN and apart:
        fixed_why = fixed.reason.removeprefix("auto: ")
        reason = (
            f"auto from {seen}: {best} did better, {figures}; lead {lead:.3f} > {MARGIN} with"
            f" no overlap (the fixed rule said {fixed.name}: {fixed_why})"
        )
        return AlgorithmChoice.model_validate({"name": best, "reason": reason})
    why = "overlap" if not apart else f"lead {lead:.3f} <= {MARGIN}"
    return _noted(fixed, f"{seen}, {best} not ahead beyond noise ({why}; {figures})")


def _median(runs: Sequence[tuple[str, float]]) -> float:
    return float(statistics.median(v for _, v in runs))


def _figures(runs: Sequence[tuple[str, float]]) -> str:
    """`median 0.981 over 3 (a, b, c)`: the score and the studies behind it."""
    names = sorted(n for n, _ in runs)
    shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
    return f"median {_median(runs):.3f} over {len(runs)} ({shown})"


def _count(by_algorithm: Mapping[str, Sequence[object]]) -> str:
    return ", ".join(f"{len(v)} {k}" for k, v in sorted(by_algorithm.items()))


def _noted(fixed: AlgorithmChoice, note: str) -> AlgorithmChoice:
    return fixed.model_copy(update={"reason": f"{fixed.reason}; {note}"})
