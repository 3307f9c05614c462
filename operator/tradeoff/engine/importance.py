"""Which parameters matter: Optuna's fANOVA importance of each parameter, per objective."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState, create_trial

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.ensembles import search_records
from tradeoff.engine.pareto import completed
from tradeoff.engine.space import SearchSpace

MIN_TRIALS = 5
"""Succeeded trials needed before importance is estimated (fewer say nothing)."""
MAX_TRIALS = 100
"""At most this many succeeded trials, evenly spread by number, feed the estimate: fANOVA's
cost grows with the trials, and a hundred tell which parameters matter."""
TREES, DEPTH = 32, 8
"""fANOVA's random forest: enough trees and depth for a ranking, in about a second."""


@dataclass(frozen=True)
class Importance:
    """Importance of each parameter for each objective (each objective's shares sum to 1),
    or why there is none yet (`reason`)."""

    by_objective: dict[str, dict[str, float]]
    trials: int
    """Succeeded trials the estimate used (at most MAX_TRIALS)."""
    succeeded: int
    reason: str | None = None


def spread(records: Sequence[Trial], cap: int = MAX_TRIALS) -> list[Trial]:
    """At most `cap` of `records`, evenly spread by trial number (all of them if fewer)."""
    used = sorted(records, key=lambda r: r.number)
    if len(used) > cap:
        used = [used[i * len(used) // cap] for i in range(cap)]
    return used


def _objective(index: int) -> Callable[[FrozenTrial], float]:
    def value(trial: FrozenTrial) -> float:
        return float(trial.values[index])

    return value


def param_importances(
    spec: StudySpec, records: Sequence[Trial], seed: int | None = None
) -> Importance:
    """fANOVA importances over the succeeded trials (feasible or not: each has its values),
    at most MAX_TRIALS of them.

    Parameters active in only some trials (`when`) or that never varied are left out, as
    Optuna does; `seed` makes the random forest reproducible (default the study's seed).
    """
    records = search_records(records)  # an Ensemble trial has no parameters
    done = completed(records, feasible_only=False)
    if len(done) < MIN_TRIALS:
        why = f"not enough trials: {len(done)} succeeded, {MIN_TRIALS} needed"
        return Importance({}, 0, len(done), why)
    used = spread(done, MAX_TRIALS)
    space = SearchSpace(spec.parameters)
    study = optuna.create_study(directions=[o.direction for o in spec.objectives])
    for record in used:
        params, dists = space.known(record.spec.parameters)
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                params=params,
                distributions=dists,
                values=record.status.values,
            )
        )
    if seed is None:
        seed = spec.algorithm.seed if spec.algorithm.seed is not None else 0
    # Imported here: it loads scikit-learn, a second of start-up that no ask needs.
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    out: dict[str, dict[str, float]] = {}
    for index, name in enumerate(spec.objective_names):
        try:
            found = get_param_importances(
                study,
                evaluator=FanovaImportanceEvaluator(n_trees=TREES, max_depth=DEPTH, seed=seed),
                target=_objective(index),
            )
        except (RuntimeError, ValueError):  # no parameter present in every trial
            found = {}
        out[name] = {p: float(v) for p, v in found.items()}
    if not any(out.values()):
        why = "no parameter varied across all succeeded trials to compare"
        return Importance({}, len(used), len(done), why)
    return Importance(out, len(used), len(done))
