"""Rebuilding an in-memory Optuna study from trial records alone.

The records are the single source of truth: every ask rebuilds the study, so a restarted
process proposes exactly what a running one would. Optuna's trial ids equal the trial
numbers (gaps are filled with failed placeholders) because samplers keep trial ids in
their state (e.g. NSGA-II's parent population).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.space import SearchSpace

STUDY_NAME = "tradeoff"

optuna.logging.set_verbosity(optuna.logging.WARNING)


def new_study(directions: Sequence[Literal["minimize", "maximize"]]) -> optuna.Study:
    return optuna.create_study(
        directions=list(directions),
        study_name=STUDY_NAME,
        storage=optuna.storages.InMemoryStorage(),
    )


def _state(record: Trial) -> TrialState:
    return {
        "Succeeded": TrialState.COMPLETE,
        "Failed": TrialState.FAIL,
        "Pruned": TrialState.PRUNED,
    }.get(record.state, TrialState.RUNNING)


def to_frozen(
    record: Trial,
    space: SearchSpace,
    constraints: list[float] | None,
    *,
    values: list[float] | None = None,
    pruning: bool = False,
    intermediate: bool = True,
) -> FrozenTrial:
    """The Optuna view of one record."""
    params, dists = space.known(record.spec.parameters)
    attrs: dict[str, Any] = dict(record.spec.sampler_state.get("trial", {}))
    if pruning:
        attrs.update(record.status.pruning_state)
    state = _state(record)
    if state == TrialState.COMPLETE and values is None:
        state = TrialState.FAIL
    feasibility = None
    if constraints is not None and state == TrialState.COMPLETE:
        # Optuna's samplers read feasibility from the trial (<= 0 is feasible).
        feasibility = {f"c{i}": v for i, v in enumerate(constraints)}
    return optuna.trial.create_trial(
        state=state,
        values=values if state == TrialState.COMPLETE else None,
        params=params,
        distributions=dists,
        system_attrs=attrs,
        intermediate_values={s.step: s.value for s in record.status.intermediate}
        if intermediate
        else None,
        constraints=feasibility,
    )


def _placeholder() -> FrozenTrial:
    return optuna.trial.create_trial(state=TrialState.FAIL)


def rebuild(
    spec: StudySpec,
    records: Sequence[Trial],
    space: SearchSpace,
    constraint_values: dict[int, list[float]],
) -> optuna.Study:
    """An in-memory study holding every record, trial id == trial number."""
    study = new_study([o.direction for o in spec.objectives])
    # Samplers read intermediate values as values of the (single) objective: a
    # multi-objective study keeps them for the pruner only.
    single = len(spec.objectives) == 1
    frozen: list[FrozenTrial] = []
    by_number = sorted(records, key=lambda r: r.number)
    for record in by_number:
        while len(frozen) < record.number:
            frozen.append(_placeholder())
        frozen.append(
            to_frozen(
                record,
                space,
                constraint_values.get(record.number) if spec.constraints else None,
                values=record.status.values,
                intermediate=single,
            )
        )
    study.add_trials(frozen)
    _restore_study_attrs(study, by_number)
    return study


def _restore_study_attrs(study: optuna.Study, records: Sequence[Trial]) -> None:
    storage = study._storage
    for record in records:
        for key, value in record.spec.sampler_state.get("study", {}).items():
            storage.set_study_system_attr(study._study_id, key, value)


def distributions_of(space: SearchSpace) -> dict[str, BaseDistribution]:
    return dict(space.distributions)
