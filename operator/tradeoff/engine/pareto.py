"""Pareto front, normalised hypervolume and the recommended trade-off."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from optuna._hypervolume import compute_hypervolume

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial

HV_REFERENCE = 1.1
"""Reference point of the normalised hypervolume, in units of the observed range."""


def losses(spec: StudySpec, trials: Sequence[Trial]) -> np.ndarray:
    """Objective values turned into losses (maximised objectives negated)."""
    sign = np.array([-1.0 if o.direction == "maximize" else 1.0 for o in spec.objectives])
    values = np.array([t.status.values for t in trials], dtype=float).reshape(-1, len(sign))
    return np.asarray(values * sign)


def completed(records: Sequence[Trial], *, feasible_only: bool = True) -> list[Trial]:
    """Succeeded trials with objective values (feasible ones by default)."""
    return [
        r
        for r in records
        if r.state == "Succeeded"
        and r.status.values is not None
        and (r.status.feasible is not False or not feasible_only)
    ]


def nondominated_mask(points: np.ndarray) -> np.ndarray:
    """True for points no other point dominates; of identical points only the first."""
    n = len(points)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        p = points[i]
        dominated = np.all(points <= p, axis=1) & np.any(points < p, axis=1)
        if dominated.any():
            keep[i] = False
            continue
        same = np.all(points == p, axis=1)
        same[: i + 1] = False
        keep[same] = False
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
    lo, hi = all_losses.min(axis=0), all_losses.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    front = losses(spec, pareto_front(spec, records))
    scaled = (front - lo) / span
    m = all_losses.shape[1]
    volume = compute_hypervolume(scaled, np.full(m, HV_REFERENCE), assume_pareto=True)
    return float(volume / HV_REFERENCE**m)


def cap_front(front: Sequence[Trial], cap: int) -> list[Trial]:
    """At most `cap` points, spread evenly along the first objective."""
    if len(front) <= cap:
        return list(front)
    ordered = sorted(front, key=lambda t: (t.status.values or [0.0])[0])
    picks = np.linspace(0, len(ordered) - 1, cap).round().astype(int)
    return [ordered[i] for i in sorted(set(picks.tolist()))]
