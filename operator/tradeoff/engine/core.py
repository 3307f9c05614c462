"""The engine: given a study spec and its trial records, decide what happens next.

Pure: no Kubernetes, no processes, no files. The records are the only state: the engine
keeps the Optuna study it derives from them between calls (`history.Mirror`), updated with
the records that are new or changed, and everything it holds is exactly what a fresh
rebuild from the same records would hold, so a restarted adapter continues the identical
search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.space import ParamValue
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import MAX_TRIAL_NUMBER, Trial
from tradeoff.engine import outcome, progress, pruning, signing
from tradeoff.engine.ensembles import due
from tradeoff.engine.genetic import remember_parents
from tradeoff.engine.history import Mirror
from tradeoff.engine.intersection import bring_up_to_date
from tradeoff.engine.optuna_records import OptunaRecords
from tradeoff.engine.prior_agreement import PriorAgreement
from tradeoff.engine.priors import Priors
from tradeoff.engine.records import RecordBook, SharedRecords
from tradeoff.engine.samplers import make_sampler, reseed, resolve_algorithm, with_algorithm
from tradeoff.engine.space import ConfigKey, SearchSpace, config_key
from tradeoff.engine.suggestions import (
    SAMPLER_TRIES,
    Suggestion,
    derive_seed,
    grid_suggestion,
    untried_config,
)
from tradeoff.engine.summary_memo import SummaryMemo
from tradeoff.engine.tally import Tally

__all__ = ["Engine", "Suggestion", "derive_seed"]


class Engine:
    """Decisions for one study spec.

    `algorithm` is the one recorded when the study started (default: resolve `auto` now);
    `self.spec` names it in place of `auto`, so nothing downstream resolves it again.
    `study` names the study (records' sampler state is signed for it) and `key` is the
    signing key the adapter keeps; without one, the engine makes a key of its own, and
    state recorded by another process is then used without its sampler state.
    """

    def __init__(
        self,
        spec: StudySpec,
        algorithm: str | None = None,
        *,
        study: str = "",
        key: bytes | None = None,
        priors: Priors | None = None,
    ) -> None:
        self.algorithm = algorithm or resolve_algorithm(spec).name
        self.spec = with_algorithm(spec, self.algorithm)
        self.study_name = study
        self.key = key if key is not None else signing.new_key()
        self.space = SearchSpace(spec.parameters)
        self.last_ask_seconds = 0.0
        self.priors = priors or Priors()
        """Earlier trials that inform the sampler (Optuna trials before the records')."""
        self._records = OptunaRecords(self.spec, self.space, self.key, study, self.priors.trials)
        self.warnings = self._records.warnings
        """One line per record whose sampler state did not verify (for the adapters)."""
        self._mirror = self._records.mirror
        self._taken = self._records.taken
        self._agreement = PriorAgreement(spec.parameters, self.priors, self._records)
        self._pruning_mirror: Mirror | None = None
        self._spaces: dict[tuple[str, bool], IntersectionSearchSpace] = {}
        self._spaces_epoch = -1
        self._kept: optuna.samplers.BaseSampler | None = None
        self._tally = Tally(self.spec)
        self._summaries = SummaryMemo(self.spec, self.priors.front_trials)
        self._shared = RecordBook()

    def _view(self, records: Sequence[Trial]) -> Sequence[Trial]:
        """`SharedRecords` (never changed in place) as a book the engine keeps in step
        with them by identity, so each decision reads only what changed; other sequences
        as given."""
        if isinstance(records, SharedRecords) and self._shared.follow(records):
            return self._shared
        return records

    # -- the records, as Optuna sees them ----------------------------------------------

    def _state_of(self, record: Trial) -> dict[str, Any]:
        return self._records.state_of(record)

    def _to_frozen(self, record: Trial) -> FrozenTrial:
        return self._records.to_frozen(record)

    def _sync(self, records: Sequence[Trial]) -> optuna.Study:
        """The kept Optuna study, updated with the records that are new or changed."""
        return self._records.sync(records)

    # -- proposing -------------------------------------------------------------------

    def ask(self, records: Sequence[Trial], count: int) -> list[Suggestion]:
        """Up to `count` new configurations, none equal to one already tried or running."""
        if count <= 0:
            return []
        started = time.perf_counter()
        records = self._view(records)
        resets = self._mirror.resets
        study = self._sync(records)
        self._agreement.check(records, reset=self._mirror.resets != resets)
        mirror = self._mirror
        snapshot = mirror.snapshot()
        number = mirror.next_number
        new: set[ConfigKey] = set()
        out: list[Suggestion] = []
        try:
            for _ in range(count):
                size = self.space.size
                if size is not None and len(self._taken) + len(new) >= size:
                    break
                if number > MAX_TRIAL_NUMBER:  # a record claims the last number there is
                    break
                suggestion = self._ask_one(study, number, new)
                if suggestion is None:
                    break
                out.append(suggestion)
                new.add(config_key(suggestion.parameters))
                number += 1
                if len(out) < count:
                    # Later proposals of this call see it running, exactly as a rebuild would.
                    mirror.storage.put(self._to_frozen(self._record(suggestion)))
                    mirror.study._thread_local.cached_all_trials = None
        finally:
            mirror.restore(snapshot)
        self.last_ask_seconds = time.perf_counter() - started
        return out

    def priors_line(self, records: Sequence[Trial]) -> str:
        """What the priors are, for status and CLI, and whether they inform the sampler now."""
        return self._agreement.line(self._view(records))

    @property
    def priors_in_use(self) -> bool:
        """Whether the prior trials informed the latest proposals."""
        return self._agreement.in_use

    def _record(self, suggestion: Suggestion) -> Trial:
        return Trial.new(
            self.study_name, suggestion.number, suggestion.parameters, suggestion.sampler_state
        )

    def _is_taken(self, params: dict[str, ParamValue], new: set[ConfigKey]) -> bool:
        key = config_key(params)
        return key in self._taken or key in new

    def _ask_one(self, study: optuna.Study, number: int, new: set[ConfigKey]) -> Suggestion | None:
        if self.algorithm == "grid":
            return self._ask_grid(number, new)
        storage = self._mirror.storage
        attrs_before = dict(storage.get_study_system_attrs(storage.study_id))
        trial_attrs: dict[str, Any] = {}
        params: dict[str, ParamValue] | None = None
        generation: tuple[str, int] | None = None
        for attempt in range(SAMPLER_TRIES):
            study.sampler = self._sampler(derive_seed(self.spec.algorithm.seed, number, attempt))
            if attempt == 0 and number < len(self.priors.points):
                # A configuration to run first (warmStart.trials), as Optuna enqueues one.
                study.enqueue_trial(self.priors.points[number])
            trial = study.ask()
            if generation is not None:
                # The retry's generation is the first attempt's (the stored trials are the
                # same): set it, sparing the sampler a pass over every finished trial. The
                # sampler reads the trial's cached copy, so it goes there too.
                storage.set_trial_system_attr(trial._trial_id, *generation)
                trial._cached_frozen_trial.system_attrs[generation[0]] = generation[1]
            proposed = self.space.sample(trial)
            trial_attrs = dict(storage.trials[-1].system_attrs)
            trial_attrs.pop("fixed_params", None)
            generation = _generation(study.sampler, trial_attrs)
            storage.pop()  # proposals are never kept: the record adds the trial back
            study._thread_local.cached_all_trials = None
            if not self._is_taken(proposed, new):
                params = proposed
                break
        if params is None:
            # The sampler keeps proposing taken configurations: take a seeded untried one,
            # keeping the sampler's trial state (e.g. its NSGA-II generation).
            params = self._untried(number, new)
            if params is None:
                return None
        state: dict[str, Any] = {}
        if trial_attrs:
            state["trial"] = trial_attrs
        attrs_now = storage.get_study_system_attrs(storage.study_id)
        changed = {k: v for k, v in attrs_now.items() if attrs_before.get(k) != v}
        if changed:
            state["study"] = changed
        return Suggestion(number, params, signing.sign(self.key, self.study_name, number, state))

    def _sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        """The sampler for one ask, as `make_sampler(spec, seed)` makes it (its seed follows
        the trial number), sharing the kept study's incremental search space.

        Optuna's intersection search space is a cache over the trials that costs a pass
        over every trial when new (`intersection`: one comparison per distinct set of
        distributions); the engine keeps one per kind, and a TPE or random
        sampler reseeded per ask (`samplers.reseed`), while no finished trial changed.
        """
        if self._spaces_epoch != self._mirror.epoch:
            self._spaces.clear()
            self._kept = None
            self._spaces_epoch = self._mirror.epoch
        sampler = self._kept
        if sampler is None or not reseed(sampler, seed):
            sampler = make_sampler(self.spec, seed)
            self._kept = sampler
        self._remember_parents(sampler)
        for attr in ("_search_space", "_intersection_search_space"):
            space = getattr(sampler, attr, None)
            if type(space) is IntersectionSearchSpace:
                space = self._spaces.setdefault((attr, space._include_pruned), space)
                bring_up_to_date(space, self._mirror.study)
                setattr(sampler, attr, space)
        return sampler

    def _remember_parents(self, sampler: optuna.samplers.BaseSampler) -> None:
        """A genetic sampler finds each generation's parents once (`genetic`)."""
        remember_parents(sampler, self._mirror.storage)

    def _untried(self, number: int, new: set[ConfigKey]) -> dict[str, ParamValue] | None:
        """A seeded configuration nobody tried (`suggestions.untried_config`)."""
        seed = self.spec.algorithm.seed
        return untried_config(self.space, seed, number, lambda p: self._is_taken(p, new))

    def _ask_grid(self, number: int, new: set[ConfigKey]) -> Suggestion | None:
        """The first untried grid point (`suggestions.grid_suggestion`)."""
        seed, first = self.spec.algorithm.seed, self.priors.points
        return grid_suggestion(self.space, seed, first, number, lambda p: self._is_taken(p, new))

    # -- judging ---------------------------------------------------------------------

    def evaluate(
        self, reported: dict[str, float], economics: TrialEconomics | None
    ) -> outcome.Evaluation:
        """Objective values and feasibility of a cleanly finished attempt."""
        return outcome.evaluate(self.spec, reported, economics)

    def should_prune(self, records: Sequence[Trial], number: int) -> pruning.PruneDecision:
        """Whether running trial `number` should stop, from its intermediate values."""
        if self._pruning_mirror is None:
            self._pruning_mirror = pruning.mirror(
                self.spec, self.space, self._state_of, self._records.pruning_state_of
            )
        return pruning.should_prune(
            self.spec,
            self._pruning_mirror,
            records,
            number,
            self._state_of,
            self._records.sign_pruning_state,
        )

    # -- the study as a whole --------------------------------------------------------

    def exhausted(self, records: Sequence[Trial]) -> bool:
        """Every configuration of a finite space has been proposed."""
        size = self.space.size
        if size is None:
            return False
        self._sync(self._view(records))
        return len(self._taken) >= size

    def stop_decision(
        self, records: Sequence[Trial], elapsed_seconds: float | None = None
    ) -> progress.StopDecision | None:
        records = self._view(records)
        counts, hit = self._tally.read(records)
        idle = counts.pending + counts.running + counts.cancelled == 0
        return progress.decide(
            self.spec,
            counts,
            hit,
            elapsed_seconds=elapsed_seconds,
            exhausted=self.exhausted(records),
            numbered_out=idle and any(r.spec.number >= MAX_TRIAL_NUMBER for r in records),
        )

    def trials_to_start(self, records: Sequence[Trial]) -> int:
        records = self._view(records)
        if self.exhausted(records):
            return 0
        return progress.slots(self.spec, self._tally.read(records)[0])

    def waiting_to_resume(self, records: Sequence[Trial]) -> list[Trial]:
        """The cancelled trials, by number: they run again when the study runs."""
        return self._tally.cancelled(self._view(records))

    def ensemble_due(
        self,
        records: Sequence[Trial],
        decision: progress.StopDecision | None,
        namespace: str | None = None,
    ) -> Trial | None:
        """The Ensemble trial to create now (`ensembles.due`), if any."""
        return due(self.spec, self.study_name, records, decision, namespace)

    def summarize(self, records: Sequence[Trial]) -> progress.Summary:
        """The study's summary; prior trials are on its front only with includeInFront."""
        records = self._view(records)
        if isinstance(records, RecordBook):
            return self._summaries.read(records, self._tally.read(records)[0])
        return progress.summarize(self.spec, records, self.priors.front_trials)


def _generation(
    sampler: optuna.samplers.BaseSampler, attrs: dict[str, Any]
) -> tuple[str, int] | None:
    """A genetic sampler's (generation key, generation) as it set them on a trial, if any."""
    if not isinstance(sampler, optuna.samplers.NSGAIISampler | optuna.samplers.NSGAIIISampler):
        return None
    key = sampler._get_generation_key()
    return (key, attrs[key]) if key in attrs else None
