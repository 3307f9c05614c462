"""Pareto front, normalised hypervolume and the recommended trade-off."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
from optuna._hypervolume import compute_hypervolume
from optuna.study._multi_objective import _is_pareto_front

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial

HV_REFERENCE = 1.1
"""Reference point of the normalised hypervolume, in units of the observed range."""


def losses(spec: StudySpec, trials: Sequence[Trial]) -> np.ndarray:
    """Objective values turned into losses (maximised objectives negated)."""
    return losses_of(spec, [t.status.values or () for t in trials])


def losses_of(spec: StudySpec, values: Sequence[Sequence[float]]) -> np.ndarray:
    """Rows of objective values turned into losses (`losses`)."""
    sign = np.array([-1.0 if o.direction == "maximize" else 1.0 for o in spec.objectives])
    flat = np.fromiter(chain.from_iterable(values), dtype=float, count=len(values) * len(sign))
    return np.asarray(flat.reshape(-1, len(sign)) * sign)


def completed(records: Sequence[Trial], *, feasible_only: bool = True) -> list[Trial]:
    """Succeeded trials with objective values (feasible ones by default)."""
    return [
        r
        for r in records
        if (s := r.status).state == "Succeeded"
        and s.values is not None
        and (s.feasible is not False or not feasible_only)
    ]


def nondominated_mask(points: np.ndarray) -> np.ndarray:
    """True for points no other point dominates; of identical points only the first.

    Optuna's sort-based front (O(n log n) for two objectives), on unique points.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort(points.T[::-1])  # stable: equal points keep their order
    ordered = points[order]
    first = np.ones(n, dtype=bool)  # the first of each run of equal points
    first[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    keep = np.zeros(n, dtype=bool)
    keep[order[first]] = _is_pareto_front(ordered[first], assume_unique_lexsorted=True)
    return keep


def pareto_front(spec: StudySpec, records: Sequence[Trial]) -> list[Trial]:
    """Feasible succeeded trials that no other one dominates, by trial number."""
    candidates = sorted(completed(records), key=lambda r: r.number)
    if not candidates:
        return []
    mask = nondominated_mask(losses(spec, candidates))
    return [t for t, keep in zip(candidates, mask, strict=True) if keep]


def normalised_hypervolume(spec: StudySpec, records: Sequence[Trial]) -> float | None:
    """Hypervolume of the front in [0, 1]; None before any feasible trial.

    Each objective is scaled to [0, 1] over all feasible trials (0 the ideal, 1 the
    nadir); the result is the share of the box from the ideal point to a reference point
    10% of the range beyond the nadir that the front dominates.
    """
    done = completed(records)
    if not done:
        return None
    all_losses = losses(spec, done)
    return hypervolume_of(all_losses, all_losses[nondominated_mask(all_losses)])


def hypervolume_of(all_losses: np.ndarray, front_losses: np.ndarray) -> float:
    """Normalised hypervolume of `front_losses`, scaled over `all_losses`."""
    return hypervolume_within(all_losses.min(axis=0), all_losses.max(axis=0), front_losses)


def hypervolume_within(lo: np.ndarray, hi: np.ndarray, front_losses: np.ndarray) -> float:
    """Normalised hypervolume of `front_losses`, each objective scaled over [lo, hi]."""
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = (front_losses - lo) / span
    m = front_losses.shape[1]
    volume = compute_hypervolume(scaled, np.full(m, HV_REFERENCE), assume_pareto=True)
    return float(volume / HV_REFERENCE**m)


def cap_front(front: Sequence[Trial], cap: int) -> list[Trial]:
    """At most `cap` points, spread evenly along the first objective."""
    if len(front) <= cap:
        return list(front)
    ordered = sorted(front, key=lambda t: (t.status.values or [0.0])[0])
    picks = np.linspace(0, len(ordered) - 1, cap).round().astype(int)
    return [ordered[i] for i in sorted(set(picks.tolist()))]
