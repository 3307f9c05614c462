"""An in-memory Optuna storage whose trials are set from records, not told.

One study per storage; a trial's id is its number. Trials are stored as given (no deep
copies: the engine builds each FrozenTrial itself and never shares it), can be replaced
when their record changes, and the newest can be taken back, so a discarded proposal
leaves no trace and ids never drift from trial numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from optuna.storages import InMemoryStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

STUDY_NAME = "tradeoff"


class RecordStorage(InMemoryStorage):
    """InMemoryStorage holding one study, with `put` and `pop` for the engine's mirror."""

    def __init__(self, directions: Sequence[Literal["minimize", "maximize"]]) -> None:
        super().__init__()
        self.study_id = self.create_new_study(
            [
                StudyDirection.MAXIMIZE if d == "maximize" else StudyDirection.MINIMIZE
                for d in directions
            ],
            STUDY_NAME,
        )

    @property
    def trials(self) -> list[FrozenTrial]:
        return self._studies[self.study_id].trials

    def put(self, trial: FrozenTrial) -> None:
        """Store `trial` under its number: replaces that trial, or appends the next one."""
        number = trial.number
        trials = self.trials
        trial._trial_id = number
        if number < len(trials):
            replaced = trials[number]
            trials[number] = trial
            if self._studies[self.study_id].best_trial_id == number and replaced is not trial:
                self._recompute_best()
        else:
            assert number == len(trials), "trials are stored in number order"
            trials.append(trial)
            self._trial_id_to_study_id_and_number[number] = (self.study_id, number)
            self._max_trial_id = number
        self._update_cache(number, self.study_id)

    def extend(self, new: Sequence[FrozenTrial]) -> None:
        """`put` each of `new`, numbered on from the last stored trial, in one step: the
        best trial is updated once, as the puts one by one would leave it."""
        trials = self.trials
        first = len(trials)
        for number, trial in enumerate(new, first):
            assert trial.number == number, "trials are stored in number order"
            trial._trial_id = number
        trials.extend(new)
        study_id = self.study_id
        self._trial_id_to_study_id_and_number.update(
            (number, (study_id, number)) for number in range(first, len(trials))
        )
        self._max_trial_id = len(trials) - 1
        complete = [t for t in new if t.state == TrialState.COMPLETE]
        study = self._studies[self.study_id]
        if not complete:
            return
        if study.best_trial_id is None:
            study.best_trial_id = complete[0].number
        if len(study.directions) == 1:
            # Each put keeps the best unless a later trial is strictly better: min or max
            # over the old best and the new trials in order does the same comparisons.
            pick = max if study.directions[0] == StudyDirection.MAXIMIZE else min
            best = trials[study.best_trial_id]
            candidates = [best, *complete] if best.value is not None else complete
            study.best_trial_id = pick(candidates, key=_value).number

    def pop(self) -> None:
        """Take back the newest trial (a proposal that is not kept)."""
        trials = self.trials
        number = len(trials) - 1
        trials.pop()
        del self._trial_id_to_study_id_and_number[number]
        self._max_trial_id = number - 1
        if self._studies[self.study_id].best_trial_id == number:
            self._recompute_best()

    def _recompute_best(self) -> None:
        self._studies[self.study_id].best_trial_id = None
        for trial in self.trials:
            if trial.state == TrialState.COMPLETE:
                self._update_cache(trial.number, self.study_id)


def _value(trial: FrozenTrial) -> float:
    value = trial.value
    assert value is not None, "a complete trial has its value"
    return value
