"""The Optuna study of a set of trial records, kept in step with them (a memo, not a state).

The records are the single source of truth. A `Mirror` holds the study built from them and,
on each `sync`, converts only records it has not seen or that changed since; whatever it
holds is exactly what a fresh rebuild from the same records would hold, so a restarted
process proposes what a running one would. Trial ids equal trial numbers because samplers
keep trial ids in their state (e.g. NSGA-II's parent population); a gap in the numbers
costs nothing (`storage.RecordStorage` keeps only the trials that exist).
"""

from __future__ import annotations

import datetime
import gc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import optuna
from optuna.trial import FrozenTrial, TrialState

from tradeoff.api.trial import Trial
from tradeoff.engine.records import VERIFY, RecordBook, UnloggedChange
from tradeoff.engine.space import SearchSpace
from tradeoff.engine.storage import STUDY_NAME, RecordStorage

optuna.logging.set_verbosity(optuna.logging.WARNING)

_EPOCH = datetime.datetime(2000, 1, 1)
_STATES = {
    "Succeeded": TrialState.COMPLETE,
    "Failed": TrialState.FAIL,
    "Pruned": TrialState.PRUNED,
}


def frozen_trial(
    number: int,
    state: TrialState,
    *,
    params: dict[str, Any] | None = None,
    space: SearchSpace | None = None,
    values: Sequence[float] | None = None,
    system_attrs: dict[str, Any] | None = None,
    intermediate: dict[int, float] | None = None,
    constraints: Sequence[float] | None = None,
) -> FrozenTrial:
    """A FrozenTrial built directly (no validation pass, no copies): the engine's view."""
    kept, dists = space.known(params or {}) if space is not None else ({}, {})
    if state == TrialState.COMPLETE and values is None:
        state = TrialState.FAIL
    attrs = dict(system_attrs or {})
    if constraints is not None and state == TrialState.COMPLETE:
        attrs["constraints"] = list(constraints)  # Optuna's key (<= 0 is feasible)
    finished = state.is_finished()
    return FrozenTrial(
        number=number,
        state=state,
        value=None,
        values=list(values) if values is not None and state == TrialState.COMPLETE else None,
        datetime_start=_EPOCH,
        datetime_complete=_EPOCH if finished else None,
        params=kept,
        distributions=dists,
        user_attrs={},
        system_attrs=attrs,
        intermediate_values=dict(intermediate or {}),
        trial_id=number,
    )


def _check_unique(records: Sequence[Trial]) -> None:
    """Each number in one record only (the adapters leave out records that repeat one)."""
    counts = Counter(r.spec.number for r in records)
    if len(counts) != len(records):
        repeated = sorted(n for n, c in counts.items() if c > 1)[:5]
        raise ValueError(f"trial numbers {repeated} are each in more than one record")


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while converting many records: they make no cycles,
    and collections triggered by their allocations cost about a third of a cold rebuild."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def optuna_state(record: Trial) -> TrialState:
    return _STATES.get(record.state, TrialState.RUNNING)


class Mirror:
    """An Optuna study over records, updated with the records that are new or changed.

    `convert` gives a record's FrozenTrial, `fingerprints` for each record a tuple, its
    number first, of what `convert` reads (equal fingerprints mean an equal FrozenTrial),
    `study_attrs` the study attributes a record carries; attributes are applied in
    trial-number order, as a rebuild would.
    """

    def __init__(
        self,
        directions: Sequence[Literal["minimize", "maximize"]],
        convert: Callable[[Trial], FrozenTrial],
        fingerprints: Callable[[Sequence[Trial]], list[tuple[Any, ...]]],
        study_attrs: Callable[[Trial], dict[str, Any]] | None = None,
        base: Sequence[FrozenTrial] = (),
    ) -> None:
        self._directions = list(directions)
        self._base = list(base)
        self.offset = len(self._base)
        """Optuna trials before the records' (prior trials): record n is Optuna trial
        `offset + n`, as `Study.add_trials` would number them."""
        self._convert, self._fingerprints = convert, fingerprints
        self._study_attrs = study_attrs
        self.resets = 0
        """How often the mirror started afresh (a record disappeared)."""
        self.epoch = 0
        """Bumped whenever a finished trial is replaced: incremental caches over the trials
        (Optuna's intersection search space) are valid only within one epoch."""
        self.reset()

    def reset(self) -> None:
        self.epoch += 1
        self.storage = RecordStorage(self._directions)
        self.study = optuna.Study(study_name=STUDY_NAME, storage=self.storage)
        for trial in self._base:
            self.storage.put(trial)
        self._prints: dict[int, tuple[Any, ...] | None] = {}
        self._last: list[tuple[Any, ...]] | None = []
        self._book: RecordBook | None = None
        self._book_generation = self._book_version = 0
        self._attrs: dict[int, dict[str, Any]] = {}
        self._newest = -1  # max(self._attrs), kept: a max per decision passed over them all

    def sync(self, records: Sequence[Trial]) -> list[Trial]:
        """Bring the study in step with `records`; returns the records that changed.

        A `RecordBook` says what changed since the last call. Other sequences may have
        been changed in place, so only fingerprints tell: one list of them per call,
        compared with the last call's at C speed where the records come in the same order
        (the usual case), record by record otherwise.
        """
        with paused_gc():
            if isinstance(records, RecordBook):
                changed = self._changed_in_book(records)
            else:
                self._book = None
                changed = self._changed_by_prints(records)
            if len(self._prints) != len(records):  # a record disappeared: start afresh
                _check_unique(records)  # else it would start afresh without end
                self.reset()
                self.resets += 1
                return self.sync(records)
            if changed:
                numbers = [r.spec.number for r in changed]
                if numbers != sorted(numbers):  # timsort checks a sorted list in one pass
                    changed = sorted(changed, key=lambda r: r.spec.number)
                self._apply(changed)
            return changed

    def _changed_by_prints(self, records: Sequence[Trial]) -> list[Trial]:
        prints = self._fingerprints(records)
        last = self._last
        if last is not None and len(prints) >= len(last) and prints[: len(last)] == last:
            indices: Sequence[int] = range(len(last), len(prints))
        elif last is not None and len(prints) == len(last):
            indices = [i for i, (a, b) in enumerate(zip(prints, last, strict=True)) if a != b]
        else:
            known = self._prints
            indices = [i for i, fp in enumerate(prints) if known.get(fp[0]) != fp]
        self._last = prints
        for i in indices:
            self._prints[prints[i][0]] = prints[i]
        return [records[i] for i in indices]

    def _changed_in_book(self, book: RecordBook) -> list[Trial]:
        if not self._prints:
            # Nothing mirrored yet (a cold start): every record is new, and the book's log
            # says what changes from now on. Fingerprints are taken as records change; a
            # plain sequence given later finds the others unknown and converts them again.
            changed = list(book)
            if VERIFY:  # checked against every record from now on
                self._prints = {fp[0]: fp for fp in self._fingerprints(changed)}
            else:
                self._prints = dict.fromkeys(r.spec.number for r in changed)
            self._last = None
        elif self._book is not book or self._book_generation != book.generation:
            changed = self._changed_by_prints(book)
        else:
            changed = book.changed_since(self._book_version)
            for fp in self._fingerprints(changed):
                self._prints[fp[0]] = fp
            self._last = None  # the order of the last plain sequence no longer holds
            if VERIFY:
                missed = [fp[0] for fp in self._fingerprints(book) if self._prints.get(fp[0]) != fp]
                if missed:
                    raise UnloggedChange(f"records {missed[:5]} changed without RecordBook.put")
        self._book, self._book_generation, self._book_version = (
            book,
            book.generation,
            book.version,
        )
        return changed

    def _apply(self, changed: list[Trial]) -> None:
        storage = self.storage
        convert = self._convert
        new: list[FrozenTrial] = []  # trials after the stored ones, stored in one step
        for record in changed:
            trial = convert(record)
            if trial.number > (new[-1].number if new else storage.next_number - 1):
                new.append(trial)
                continue
            storage.extend(new)
            new = []
            if storage.put(trial):
                self.epoch += 1
        storage.extend(new)
        if self._study_attrs is not None:
            self._apply_study_attrs(changed, self._study_attrs)
        self.study._thread_local.cached_all_trials = None

    def _apply_study_attrs(
        self, changed: list[Trial], study_attrs: Callable[[Trial], dict[str, Any]]
    ) -> None:
        known = self._attrs
        reorder = False
        newest = self._newest
        for record in changed:
            number = record.spec.number
            if number not in known:
                attrs = study_attrs(record)
                known[number] = attrs
                if attrs and number < newest:
                    reorder = True
                elif attrs:
                    self._system_attrs.update(attrs)
                newest = max(newest, number)
        self._newest = newest
        if reorder:
            self._system_attrs.clear()
            for number in sorted(known):
                self._system_attrs.update(known[number])

    @property
    def _system_attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = self.storage.get_study_system_attrs(self.storage.study_id)
        return attrs

    @property
    def next_number(self) -> int:
        """The record number after the highest mirrored (the next proposal's)."""
        return self.storage.next_number - self.offset

    def snapshot(self) -> tuple[int, dict[str, Any]]:
        """What `restore` goes back to: the trial count and the study attributes."""
        return len(self.storage.trials), dict(self._system_attrs)

    def restore(self, snapshot: tuple[int, dict[str, Any]]) -> None:
        """Take back trials and study attributes added since `snapshot` (kept proposals are
        added again from their records, exactly as a rebuild would add them)."""
        count, attrs = snapshot
        while len(self.storage.trials) > count:
            self.storage.pop()
        self._system_attrs.clear()
        self._system_attrs.update(attrs)
        self.study._thread_local.cached_all_trials = None

    def replace(self, record: Trial) -> None:
        """Put `record`'s own view back (undoing what a pruner wrote on its trial)."""
        self.storage.put(self._convert(record))
        self.study._thread_local.cached_all_trials = None
