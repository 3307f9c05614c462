"""The next study's budget, estimated from how this study converged.

The convergence curve is the best value after each feasible succeeded trial (one
objective) or the normalised hypervolume of the first k trials' front, scaled over all
of them (several). The study "settled" at the first trial after which the curve still
gained less than `SETTLED_SHARE` of its whole gain. A warm-started study needs about as
many trials again to settle in its new space; a study still gaining in its last fifth
gets as many trials as it ran.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.ensembles import search_records
from tradeoff.engine.pareto import completed, hypervolume_of, losses, nondominated_mask

__all__ = ["MIN_TRIALS", "SETTLED_SHARE", "convergence", "next_budget"]

SETTLED_SHARE = 0.01
"""Settled: what is left to gain is below this share of the whole gain."""
MIN_TRIALS = 10
"""The proposed budget is at least this (or the current budget, if smaller)."""
MIN_FOR_ESTIMATE = 5
"""No estimate from fewer feasible succeeded trials."""
STILL_IMPROVING = 0.8
"""Settled after this share of the trials: the study was still improving."""
POINTS = 200
"""The hypervolume curve is computed at most at this many trial counts."""


def convergence(spec: StudySpec, records: Sequence[Trial]) -> tuple[int, int] | None:
    """(trials after which the curve settled, feasible succeeded trials); None if too few."""
    records = search_records(records)  # an Ensemble trial has no parameters
    done = sorted(completed(records), key=lambda r: r.number)
    n = len(done)
    if n < MIN_FOR_ESTIMATE:
        return None
    all_losses = losses(spec, done)
    counts = np.unique(np.linspace(1, n, min(n, POINTS)).round().astype(int))
    if len(spec.objectives) == 1:
        curve = np.minimum.accumulate(all_losses[:, 0])[counts - 1]
        gain = curve[0] - curve
    else:
        hv = [hypervolume_of(all_losses, _front(all_losses[:k])) for k in counts]
        gain = np.array(hv) - hv[0]
    total = float(gain[-1])
    if total <= 0:
        return int(counts[0]), n
    settled = int(np.argmax(gain >= (1 - SETTLED_SHARE) * total))
    return int(counts[settled]), n


def _front(points: np.ndarray) -> np.ndarray:
    front: np.ndarray = points[nondominated_mask(points)]
    return front


def next_budget(spec: StudySpec, records: Sequence[Trial]) -> tuple[int, str] | None:
    """(maxTrials, why) for the next study, or None without an estimate."""
    found = convergence(spec, records)
    if found is None:
        return None
    settled, n = found
    what = "the best value" if len(spec.objectives) == 1 else "the hypervolume"
    if settled > STILL_IMPROVING * n:
        trials = n
        why = f"{what} still improved after trial {settled} of {n}: as many again"
    else:
        trials = settled
        why = (
            f"{what} was within {SETTLED_SHARE:.0%} of its final value after {settled} of"
            f" {n} trials: about as many again, warm-started"
        )
    floor = min(MIN_TRIALS, spec.budget.max_trials)
    if trials < floor:
        trials = floor
        why += f" (at least {floor})"
    if trials == spec.budget.max_trials:
        return trials, f"kept {trials}: {why}"
    return trials, f"{spec.budget.max_trials} -> {trials}: {why}"
