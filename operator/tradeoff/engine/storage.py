"""An in-memory Optuna storage whose trials are set from records, not told.

One study per storage; a trial's id is its number. Trials are stored as given (no deep
copies: the engine builds each FrozenTrial itself and never shares it), can be replaced
when their record changes, and the newest can be taken back, so a discarded proposal
leaves no trace and ids never drift from trial numbers.

Numbers may have gaps (a record deleted, or one forged with a huge number): the list
holds only the trials that exist, in number order, and Optuna's number-to-place map
(`_trial_id_to_study_id_and_number`) points each id at its place in that list, so memory
and time follow the records, not the highest number a record claims.
"""

from __future__ import annotations

import bisect
from collections.abc import Container, Sequence
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

    @property
    def next_number(self) -> int:
        """The number after the highest stored (what Optuna would give a new trial)."""
        return self._max_trial_id + 1

    def put(self, trial: FrozenTrial) -> bool:
        """Store `trial` under its number: replaces that trial, or adds it in number order.

        True when trials before the newest changed (a finished trial replaced, or one put
        in a gap): caches that follow the trials in order are then stale."""
        number = trial.number
        trials = self.trials
        places = self._trial_id_to_study_id_and_number
        trial._trial_id = number
        found = places.get(number)
        stale = False
        if found is not None:
            replaced = trials[found[1]]
            trials[found[1]] = trial
            stale = replaced.state.is_finished()
            if self._studies[self.study_id].best_trial_id == number and replaced is not trial:
                self._recompute_best()
        elif not trials or number > trials[-1].number:
            places[number] = (self.study_id, len(trials))
            trials.append(trial)
            self._max_trial_id = number
        else:  # into a gap: the trials after it move one place on
            at = bisect.bisect_left(trials, number, key=lambda t: t.number)
            trials.insert(at, trial)
            for place in range(at, len(trials)):
                places[trials[place]._trial_id] = (self.study_id, place)
            waiting = self._prev_waiting_trial_number
            waiting[self.study_id] = min(waiting[self.study_id], at)
            stale = True
        self._update_cache(number, self.study_id)
        return stale

    def extend(self, new: Sequence[FrozenTrial]) -> None:
        """`put` each of `new` (numbered upwards, after the last stored trial) in one
        step: the best trial is updated once, as the puts one by one would leave it."""
        if not new:
            return
        trials = self.trials
        first = len(trials)
        study_id = self.study_id
        places = self._trial_id_to_study_id_and_number
        last = trials[-1].number if trials else -1
        for place, trial in enumerate(new, first):
            assert trial.number > last, "trials are stored in number order"
            last = trial._trial_id = trial.number
            places[last] = (study_id, place)
        trials.extend(new)
        self._max_trial_id = last
        complete = [t for t in new if t.state == TrialState.COMPLETE]
        study = self._studies[study_id]
        if not complete:
            return
        if study.best_trial_id is None:
            study.best_trial_id = complete[0].number
        if len(study.directions) == 1:
            # Each put keeps the best unless a later trial is strictly better: min or max
            # over the old best and the new trials in order does the same comparisons.
            pick = max if study.directions[0] == StudyDirection.MAXIMIZE else min
            best = trials[places[study.best_trial_id][1]]
            candidates = [best, *complete] if best.value is not None else complete
            study.best_trial_id = pick(candidates, key=_value).number

    def pop(self) -> None:
        """Take back the newest trial (a proposal that is not kept)."""
        trials = self.trials
        number = trials.pop()._trial_id
        del self._trial_id_to_study_id_and_number[number]
        self._max_trial_id = trials[-1]._trial_id if trials else -1
        if self._studies[self.study_id].best_trial_id == number:
            self._recompute_best()

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        """Optuna's, numbering the new trial by its id (the next number), not its place."""
        trial_id = super().create_new_trial(study_id, template_trial)
        self.trials[-1].number = trial_id
        return trial_id

    def get_trial_number_from_id(self, trial_id: int) -> int:
        self._check_trial_id(trial_id)
        return trial_id

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        self._check_study_id(study_id)
        self._check_trial_id(trial_number)
        return trial_number

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        trials = super().get_all_trials(study_id, deepcopy, states)
        if states == (TrialState.WAITING,) and trials:
            # Optuna notes where the first waiting trial is by its number: its place here.
            place = self._trial_id_to_study_id_and_number[trials[0]._trial_id][1]
            self._prev_waiting_trial_number[study_id] = place
        return trials

    def _recompute_best(self) -> None:
        self._studies[self.study_id].best_trial_id = None
        for trial in self.trials:
            if trial.state == TrialState.COMPLETE:
                self._update_cache(trial.number, self.study_id)


def _value(trial: FrozenTrial) -> float:
    value = trial.value
    assert value is not None, "a complete trial has its value"
    return value
