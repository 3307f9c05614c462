"""A cold rebuild's shortcuts by property: storing many trials in one step leaves the
storage exactly as storing them one by one does (the trials, their ids, the best trial,
with ties, NaN and both directions)."""

from __future__ import annotations

import math
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.trial import FrozenTrial, TrialState

from tradeoff.engine.history import frozen_trial
from tradeoff.engine.storage import RecordStorage

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
