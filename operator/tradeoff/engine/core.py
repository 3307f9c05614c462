"""The engine: given a study spec and its trial records, decide what happens next.

Pure: no Kubernetes, no processes, no files. Every call takes the records as they are
and rebuilds what it needs from them, so whatever store holds the records is the single
source of truth and a restarted adapter continues the identical search.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import optuna
from optuna.trial import TrialState

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.space import ParamValue
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import history, outcome, progress, pruning
from tradeoff.engine.samplers import make_sampler, resolve_algorithm, with_algorithm
from tradeoff.engine.space import SearchSpace, config_key

_RETRIES_WITH_SAMPLER = 8
_RETRIES_WITH_RANDOM = 24


@dataclass(frozen=True)
class Suggestion:
    """A new trial to create: its number, parameters and the sampler state to record."""

    number: int
    parameters: dict[str, ParamValue]
    sampler_state: dict[str, Any] = field(default_factory=dict)


def derive_seed(seed: int | None, number: int, attempt: int = 0) -> int | None:
    """The sampler seed for one ask: fixed by the study seed and the trial number."""
    if seed is None:
        return None
    return (seed * 1_000_003 + number * 7_919 + attempt * 104_729) % (2**31 - 1)


class Engine:
    """Decisions for one study spec."""

    def __init__(self, spec: StudySpec, algorithm: str | None = None) -> None:
        """`algorithm`: the one recorded when the study started (default: resolve `auto` now).

        `self.spec` names it in place of `auto`, so nothing downstream resolves it again.
        """
        self.algorithm = algorithm or resolve_algorithm(spec).name
        self.spec = with_algorithm(spec, self.algorithm)
        self.space = SearchSpace(spec.parameters)
        self._grid = self.space.grid() if self.algorithm == "grid" else None
        self._size = self.space.size()
        self.last_ask_seconds = 0.0

    # -- proposing -------------------------------------------------------------------

    def ask(self, records: Sequence[Trial], count: int) -> list[Suggestion]:
        """Up to `count` new configurations, none equal to one already tried or running."""
        if count <= 0:
            return []
        started = time.perf_counter()
        study = history.rebuild(self.spec, records, self.space, self._constraint_values(records))
        taken = {config_key(r.spec.parameters) for r in records if r.state != "Failed"}
        number = max((r.number for r in records), default=-1) + 1
        out: list[Suggestion] = []
        for _ in range(count):
            if self._size is not None and len(taken) >= self._size:
                break
            suggestion = self._ask_one(study, number, taken)
            if suggestion is None:
                break
            out.append(suggestion)
            taken.add(config_key(suggestion.parameters))
            number += 1
        self.last_ask_seconds = time.perf_counter() - started
        return out

    def _ask_one(self, study: optuna.Study, number: int, taken: set[Any]) -> Suggestion | None:
        seed = self.spec.algorithm.seed
        if self._grid is not None:
            return self._ask_grid(number, taken)
        for attempt in range(_RETRIES_WITH_SAMPLER + _RETRIES_WITH_RANDOM):
            attempt_seed = derive_seed(seed, number, attempt)
            if attempt < _RETRIES_WITH_SAMPLER:
                study.sampler = make_sampler(self.spec, attempt_seed)
            else:
                study.sampler = optuna.samplers.RandomSampler(seed=attempt_seed)
            study_attrs = dict(study._storage.get_study_system_attrs(study._study_id))
            trial = study.ask()
            params = self.space.sample(trial)
            if config_key(params) in taken:
                # Discard without `tell`: no sampler callbacks (the grid sampler would stop).
                study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
                continue
            attrs = study._storage.get_trial(trial._trial_id).system_attrs
            new_study_attrs = {
                k: v
                for k, v in study._storage.get_study_system_attrs(study._study_id).items()
                if study_attrs.get(k) != v
            }
            state: dict[str, Any] = {}
            if attrs:
                state["trial"] = dict(attrs)
            if new_study_attrs:
                state["study"] = new_study_attrs
            return Suggestion(number, params, state)
        return None

    def _ask_grid(self, number: int, taken: set[Any]) -> Suggestion | None:
        """The first untried grid point in an order fixed by the study seed.

        Failed configurations count as untried, so they are run again.
        """
        assert self._grid is not None
        names = list(self._grid)
        points = [dict(zip(names, combo, strict=True)) for combo in product(*self._grid.values())]
        random.Random(self.spec.algorithm.seed).shuffle(points)
        for params in points:
            if config_key(params) not in taken:
                return Suggestion(number, params)
        return None

    def _constraint_values(self, records: Sequence[Trial]) -> dict[int, list[float]]:
        if not self.spec.constraints:
            return {}
        return {
            r.number: outcome.constraint_values(
                self.spec, outcome.all_metrics(r.status.metrics, r.status.economics)
            )
            for r in records
            if r.state == "Succeeded"
        }

    # -- judging ---------------------------------------------------------------------

    def evaluate(
        self, reported: dict[str, float], economics: TrialEconomics | None
    ) -> outcome.Evaluation:
        """Objective values and feasibility of a cleanly finished attempt."""
        return outcome.evaluate(self.spec, reported, economics)

    def should_prune(self, records: Sequence[Trial], number: int) -> pruning.PruneDecision:
        """Whether running trial `number` should stop, from its intermediate values."""
        return pruning.should_prune(self.spec, self.space, records, number)

    def retry(self, record: Trial) -> bool:
        """Whether a failed attempt of `record` gets another one."""
        return record.status.attempts <= self.spec.trial_template.retries

    # -- the study as a whole --------------------------------------------------------

    def exhausted(self, records: Sequence[Trial]) -> bool:
        """Every configuration of a finite space has been proposed."""
        if self._size is None:
            return False
        taken = {config_key(r.spec.parameters) for r in records if r.state != "Failed"}
        return len(taken) >= self._size

    def stop_decision(
        self, records: Sequence[Trial], elapsed_seconds: float | None = None
    ) -> progress.StopDecision | None:
        return progress.stop_decision(
            self.spec, records, elapsed_seconds=elapsed_seconds, exhausted=self.exhausted(records)
        )

    def trials_to_start(self, records: Sequence[Trial]) -> int:
        return 0 if self.exhausted(records) else progress.trials_to_start(self.spec, records)

    def summarize(self, records: Sequence[Trial]) -> progress.Summary:
        return progress.summarize(self.spec, records)
