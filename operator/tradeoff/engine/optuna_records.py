"""A study's trial records as Optuna sees them: frozen trials in a kept study
(`history.Mirror`) updated with the records that changed, each record's signed sampler
state verified once, and the configurations the records have taken."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import outcome, signing
from tradeoff.engine.history import Mirror, frozen_trial, optuna_state, paused_gc
from tradeoff.engine.space import ConfigKey, SearchSpace, config_key


class OptunaRecords:
    """The records mirrored into an Optuna study, after the prior trials `priors`.

    Priors are Optuna trials 0..P-1; record n is trial P + n. `warnings` gets one line
    per record whose sampler state did not verify (for the adapters)."""

    def __init__(
        self,
        spec: StudySpec,
        space: SearchSpace,
        key: bytes,
        study_name: str,
        priors: Sequence[Trial],
    ) -> None:
        self.spec = spec
        self.space = space
        self.key = key
        self.study_name = study_name
        self.warnings: list[str] = []
        self._verifier = signing.Verifier(key, study_name)
        self._pruning_verifier = signing.Verifier(key, signing.pruning_label(study_name))
        self._unverified: set[int] = set()
        self._unverified_pruning: set[int] = set()
        self._signed: dict[int, dict[str, Any]] = {}
        self._states: dict[int, dict[str, Any]] = {}
        """Each record's signed state, as verified (`state_of`)."""
        self._offset = 0
        self.base = [self.to_frozen(t) for t in priors]
        """The prior trials as Optuna trials (before the records')."""
        self._offset = len(self.base)
        self.mirror = Mirror(
            [o.direction for o in spec.objectives],
            self.to_frozen,
            self._fingerprints,
            lambda r: self.state_of(r).get("study", {}),
            self.base,
        )
        self._keys: dict[int, ConfigKey | None] = {}
        self.taken: Counter[ConfigKey] = Counter()
        """The configurations of the records that did not fail, counted."""

    def state_of(self, record: Trial) -> dict[str, Any]:
        """The record's sampler state if this engine's key signed it, else nothing."""
        signed = record.spec.sampler_state
        if not signed:
            return {}
        number = record.spec.number
        if self._signed.get(number) is signed:  # a record's spec never changes
            return self._states[number]
        state, ok = self._verifier.verified(number, signed)
        self._signed[number], self._states[number] = signed, state  # no tuple for the gc
        if not ok and number not in self._unverified:
            self._unverified.add(number)
            self.warnings.append(signing.unsigned_line(record.metadata.name))
        return state

    def pruning_state_of(self, record: Trial) -> dict[str, Any]:
        """The record's pruning state if this engine's key signed it, else nothing."""
        number = record.spec.number
        state, ok = self._pruning_verifier.verified(number, record.status.pruning_state)
        if not ok and number not in self._unverified_pruning:
            self._unverified_pruning.add(number)
            self.warnings.append(signing.unsigned_line(record.metadata.name, "pruning state"))
        return state

    def sign_pruning_state(self, number: int, state: dict[str, Any]) -> dict[str, Any]:
        return self._pruning_verifier.sign(number, state)

    @staticmethod
    def _fingerprints(records: Sequence[Trial]) -> list[tuple[Any, ...]]:
        """What `to_frozen` reads of each record that can change (the spec cannot)."""
        return [
            (
                r.spec.number,
                (s := r.status).state,
                None if s.values is None else tuple(s.values),
                s.feasible,
                len(s.metrics),
                len(s.intermediate),
            )
            for r in records
        ]

    def to_frozen(self, record: Trial) -> FrozenTrial:
        if record.is_ensemble:  # not the sampler's: a failed placeholder keeps numbers
            return frozen_trial(record.number + self._offset, TrialState.FAIL)
        state = optuna_state(record)
        # Samplers read intermediate values as values of the (single) objective: a
        # multi-objective study keeps them for the pruner only.
        single = len(self.spec.objectives) == 1
        constraints = None
        if self.spec.constraints and state == TrialState.COMPLETE:
            constraints = outcome.constraint_values(
                self.spec, outcome.all_metrics(record.status.metrics, record.status.economics)
            )
        return frozen_trial(
            record.number + self._offset,
            state,
            params=record.spec.parameters,
            space=self.space,
            values=record.status.values,
            system_attrs=self.state_of(record).get("trial", {}),
            intermediate={s.step: s.value for s in record.status.intermediate} if single else None,
            constraints=constraints,
        )

    def sync(self, records: Sequence[Trial]) -> optuna.Study:
        """The kept study, updated with the records that are new or changed."""
        with paused_gc():
            self._sync_keys(records)
        return self.mirror.study

    def _sync_keys(self, records: Sequence[Trial]) -> None:
        resets = self.mirror.resets
        changed = self.mirror.sync(records)
        if self.mirror.resets != resets:
            self._keys.clear()
            self.taken.clear()
            changed = list(records)
        keys, taken = self._keys, self.taken
        for record in changed:
            number = record.spec.number
            old = keys.get(number)
            if old is not None:
                taken[old] -= 1
                if not taken[old]:
                    del taken[old]
            failed = record.status.state == "Failed" or record.spec.kind == "Ensemble"
            key = None if failed else config_key(record.spec.parameters)
            keys[number] = key
            if key is not None:
                taken[key] = taken.get(key, 0) + 1
