"""Picking one recommended trial from the Pareto front.

- knee: the front point nearest the ideal point once each objective is scaled to [0, 1]
  over the front (the balanced compromise).
- weighted-sum: the smallest weighted sum of the scaled losses.
- epsilon-constraint: the best value of one objective (default the first) among the
  feasible front; the study's constraints are the epsilons.
- lexicographic: best on the first objective of `order`, ties broken by the next.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.pareto import completed, losses


def _scaled(spec: StudySpec, front: Sequence[Trial]) -> np.ndarray:
    loss = losses(spec, front)
    lo, hi = loss.min(axis=0), loss.max(axis=0)
    return np.asarray((loss - lo) / np.where(hi > lo, hi - lo, 1.0))


def recommend(spec: StudySpec, front: Sequence[Trial]) -> Trial | None:
    """The trial the study's selection policy picks, or None for an empty front."""
    if not front:
        return None
    ordered = sorted(front, key=lambda t: t.number)
    names = spec.objective_names
    sel = spec.selection
    if sel.policy == "knee":
        score = np.linalg.norm(_scaled(spec, ordered), axis=1)
        return ordered[int(np.argmin(score))]
    if sel.policy == "weighted-sum":
        weights = np.array([(sel.weights or {}).get(n, 0.0) for n in names])
        return ordered[int(np.argmin(_scaled(spec, ordered) @ weights))]
    loss = losses(spec, ordered)
    if sel.policy == "epsilon-constraint":
        column = names.index(sel.objective or names[0])
        return ordered[int(np.argmin(loss[:, column]))]
    order = [names.index(n) for n in (sel.order or names)]
    best = min(range(len(ordered)), key=lambda i: tuple(loss[i, j] for j in order))
    return ordered[best]


def best_for(spec: StudySpec, records: Sequence[Trial], objective: str) -> Trial | None:
    """The feasible succeeded trial with the best value of ``objective`` (ties: the
    lowest trial number), or None before any; ``objective`` must be one of the spec's."""
    done = sorted(completed(records), key=lambda t: t.number)
    if not done:
        return None
    column = losses(spec, done)[:, spec.objective_names.index(objective)]
    return done[int(np.argmin(column))]
