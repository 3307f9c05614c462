"""A cold rebuild's shortcuts by property: storing many trials in one step leaves the
storage exactly as storing them one by one does (the trials, their ids, the best trial,
with ties, NaN and both directions), and an intersection search space brought up to date
over one trial per distinct set of distributions is the one Optuna calculates over all."""

from __future__ import annotations

import math
from typing import Literal

import optuna
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from tradeoff.engine.history import frozen_trial
from tradeoff.engine.intersection import bring_up_to_date
from tradeoff.engine.storage import STUDY_NAME, RecordStorage

STATES = st.sampled_from([TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED])
VALUES = st.one_of(st.sampled_from([0.0, 1.0, 2.0, math.nan]), st.floats(-3, 3))


def trials_from(
    first: int, rows: list[tuple[TrialState, float, float]], objectives: int
) -> list[FrozenTrial]:
    return [
        frozen_trial(first + i, state, values=[a, b][:objectives])
        for i, (state, a, b) in enumerate(rows)
    ]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    direction=st.sampled_from(["minimize", "maximize"]),
    objectives=st.sampled_from([1, 2]),
    before=st.lists(st.tuples(STATES, VALUES, VALUES), max_size=6),
    after=st.lists(st.tuples(STATES, VALUES, VALUES), max_size=8),
)
def test_extend_stores_what_puts_one_by_one_do(
    direction: Literal["minimize", "maximize"],
    objectives: int,
    before: list[tuple[TrialState, float, float]],
    after: list[tuple[TrialState, float, float]],
) -> None:
    directions: list[Literal["minimize", "maximize"]] = [direction, "minimize"][:objectives]
    one_by_one, in_one_step = RecordStorage(directions), RecordStorage(directions)
    for storage in (one_by_one, in_one_step):
        for trial in trials_from(0, before, objectives):
            storage.put(trial)
    for trial in trials_from(len(before), after, objectives):
        one_by_one.put(trial)
    in_one_step.extend(trials_from(len(before), after, objectives))
    study_a, study_b = (s._studies[s.study_id] for s in (one_by_one, in_one_step))
    assert study_b.best_trial_id == study_a.best_trial_id
    assert [t.number for t in study_b.trials] == [t.number for t in study_a.trials]
    assert [t._trial_id for t in study_b.trials] == [t._trial_id for t in study_a.trials]
    ids = "_trial_id_to_study_id_and_number"
    assert getattr(in_one_step, ids) == getattr(one_by_one, ids)
    assert in_one_step._max_trial_id == one_by_one._max_trial_id


# Distribution sets a trial may have: the very same objects (as the engine builds them),
# equal copies, another range, fewer names.
_X, _K = FloatDistribution(0.0, 1.0), CategoricalDistribution(["a", "b"])
SHAPES: list[dict[str, BaseDistribution]] = [
    {"x": _X, "k": _K},
    {"k": _K, "x": _X},
    {"x": FloatDistribution(0.0, 1.0), "k": CategoricalDistribution(["a", "b"])},
    {"x": FloatDistribution(0.0, 2.0), "k": _K},
    {"x": _X},
    {},
]
TRIAL_ROWS = st.lists(
    st.tuples(
        st.sampled_from(list(TrialState)),
        st.integers(0, len(SHAPES) - 1),
    ),
    max_size=14,
)


def add_trials(storage: RecordStorage, rows: list[tuple[TrialState, int]]) -> None:
    for state, shape in rows:
        trial = frozen_trial(len(storage.trials), state, values=[1.0])
        dists = SHAPES[shape]
        trial.distributions = dict(dists)
        trial.params = {name: 0.5 if name == "x" else "a" for name in dists}
        storage.put(trial)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(rows=TRIAL_ROWS, later=TRIAL_ROWS, include_pruned=st.booleans())
def test_an_intersection_brought_up_to_date_is_optunas(
    rows: list[tuple[TrialState, int]], later: list[tuple[TrialState, int]], include_pruned: bool
) -> None:
    """`bring_up_to_date` leaves a new intersection search space as its first `calculate`
    does (search space, cursor), and both calculate the same after more trials."""
    storage = RecordStorage(["minimize"])
    study = optuna.Study(study_name=STUDY_NAME, storage=storage)
    add_trials(storage, rows)
    optunas, ours = (IntersectionSearchSpace(include_pruned) for _ in range(2))
    optunas.calculate(study)
    bring_up_to_date(ours, study)
    assert ours._cached_trial_number == optunas._cached_trial_number
    assert ours._search_space == optunas._search_space
    add_trials(storage, later)
    assert ours.calculate(study) == optunas.calculate(study)
    assert ours._cached_trial_number == optunas._cached_trial_number
