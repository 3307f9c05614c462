"""Optuna's intersection search space, brought up to date cheaply when new.

A sampler's `IntersectionSearchSpace` is a cache over the study's trials: new, its first
`calculate` compares every finished trial's distributions with the intersection so far,
one Python-level `==` per parameter per trial (most of a restarted engine's first NSGA-II
ask at 10,000 records, beyond the rebuild). The engine builds trials whose distributions
are the same objects, so most trials repeat one set of them: the intersection of a
repeated set is the set's own, and Optuna's calculation over one trial of each distinct
set (by identity), every unfinished trial and the newest trial it looks at gives the same
search space and the same cursor as over all of them.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.search_space import IntersectionSearchSpace
from optuna.search_space.intersection import _calculate
from optuna.trial import FrozenTrial, TrialState

__all__ = ["bring_up_to_date"]


def bring_up_to_date(space: IntersectionSearchSpace, study: optuna.Study) -> None:
    """Set a new `space` (never calculated) as `space.calculate(study)` would leave it."""
    if space._study_id is not None:
        return
    trials = study._get_trials(deepcopy=False, use_cache=False)
    space._search_space, space._cached_trial_number = _calculate(
        distinct(trials, space._include_pruned), space._include_pruned
    )
    space._study_id = study._study_id


def distinct(trials: list[FrozenTrial], include_pruned: bool) -> list[FrozenTrial]:
    """The trials `_calculate` reads, less finished ones whose distributions (the same
    names, the very same objects) an earlier one has: they change neither the
    intersection nor the cursor, which comes from the newest trial of interest (kept)."""
    finished = {TrialState.COMPLETE}
    if include_pruned:
        finished.add(TrialState.PRUNED)
    unfinished = {TrialState.RUNNING, TrialState.WAITING}
    newest = next(
        (t for t in reversed(trials) if t.state in finished or t.state in unfinished), None
    )
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for trial in trials:
        state = trial.state
        if state in unfinished or trial is newest:
            kept.append(trial)
        elif state in finished:
            dists = trial.distributions
            shape = (*dists, *map(id, dists.values()))
            if shape not in seen:
                seen.add(shape)
                kept.append(trial)
    return kept
