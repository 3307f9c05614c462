"""A study's summary kept up to date from a `RecordBook`'s change log (a memo, never
persisted).

`summary.summarize` passes over every record: totals, the feasible succeeded trials, a
front over all of them. Given a book, this reads only the records put since it last
looked: economics by the record's position (totals are `summary.exact_total` of them,
as a fresh summary's), the front of the trials it had plus the ones that finished since
(a trial dominated once stays dominated), and each objective's range. When a trial that
was on the front's candidates changes or goes, the front is computed afresh. Either way
the summary is exactly `summary.summarize`'s; with `TRADEOFF_VERIFY_RECORDS=1` that is
checked on every read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tradeoff.api.status import TrialCounts
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import summary as summaries
from tradeoff.engine.pareto import completed, hypervolume_within, losses, nondominated_mask
from tradeoff.engine.records import VERIFY, RecordBook, UnloggedChange

__all__ = ["SummaryMemo"]

_NO_ECONOMICS = (0.0, 0.0, 0.0)


class SummaryMemo:
    """`summary.summarize` of a book's records, updated with what changed."""

    def __init__(self, spec: StudySpec, priors: Sequence[Trial] = ()) -> None:
        self.spec = spec
        self.priors = list(priors)
        self._prior_done = completed(self.priors)
        self._prior_ids = {id(t) for t in self._prior_done}
        self._book: RecordBook | None = None
        self._generation = -1
        self._version = 0

    def read(self, book: RecordBook, counts: TrialCounts) -> summaries.Summary:
        """The summary of `book`'s records; `counts` are the search's (`Tally`)."""
        if book is not self._book or book.generation != self._generation:
            self._start(book)
            changed: Sequence[Trial] = book
        else:
            changed = book.changed_since(self._version)
        self._version = book.version
        for column in self._economics:  # a record's economics sit at its position
            column.extend([0.0] * (len(book) - len(column)))
        for record in changed:
            self._take(book, record)
        self._update_front()
        totals = summaries.totals_of(*self._economics)
        summary = summaries.summary_of(
            self.spec, counts, totals, self._front, self._hypervolume(), self._ensemble(book)
        )
        if VERIFY and summary != summaries.summarize(self.spec, book, self.priors):
            raise UnloggedChange("a record changed without RecordBook.put (the summary differs)")
        return summary

    def _start(self, book: RecordBook) -> None:
        self._book, self._generation = book, book.generation
        self._economics: tuple[list[float], list[float], list[float]] = ([], [], [])
        self._done: dict[int, Trial] = {}
        self._ensembles: set[int] = set()
        self._stale = True  # the front is computed from every done trial at the next read
        self._added: list[Trial] = []
        self._front: list[Trial] = []
        self._front_losses = np.zeros((0, len(self.spec.objectives)))
        self._lo: np.ndarray | None = None
        self._hi: np.ndarray | None = None

    def _take(self, book: RecordBook, record: Trial) -> None:
        number = record.number
        s = record.status
        ensemble = record.spec.kind == "Ensemble"
        at = book.position(number)
        economics = _NO_ECONOMICS
        if not ensemble and (e := s.economics) is not None:
            economics = (e.cost_usd, e.carbon_grams, e.energy_kwh)
        for column, value in zip(self._economics, economics, strict=True):
            column[at] = value
        if ensemble:
            self._ensembles.add(number)
        else:
            self._ensembles.discard(number)
        if self._done.pop(number, None) is not None:
            self._stale = True  # a candidate changed: the front is computed afresh
        if s.state == "Succeeded" and s.values is not None and s.feasible is not False:
            self._done[number] = record
            if not self._stale:
                self._added.append(record)

    def _update_front(self) -> None:
        if self._stale:
            done = self._prior_done + sorted(self._done.values(), key=_number)
            self._stale, self._added = False, []
            self._lo = self._hi = None
            self._set_front(done, losses(self.spec, done))
            return
        if not self._added:
            return
        added = sorted(self._added, key=_number)
        self._added = []
        loss = losses(self.spec, added)
        # Prior trials stay first and the study's own in number order, as a fresh summary
        # orders them: of identical points the first is kept.
        front = self._front + added
        order = sorted(range(len(front)), key=lambda i: _place(front[i], self._prior_ids))
        candidates = [front[i] for i in order]
        rows = np.concatenate([self._front_losses, loss])[order]
        self._set_front(candidates, rows, loss)

    def _set_front(
        self, candidates: list[Trial], rows: np.ndarray, new: np.ndarray | None = None
    ) -> None:
        """The front of `candidates` (their losses `rows`); the range widened by `new`
        (all of `rows` when None)."""
        seen = rows if new is None else new
        if len(seen):
            lo, hi = seen.min(axis=0), seen.max(axis=0)
            self._lo = lo if self._lo is None else np.minimum(self._lo, lo)
            self._hi = hi if self._hi is None else np.maximum(self._hi, hi)
        mask = nondominated_mask(rows)
        self._front = [t for t, keep in zip(candidates, mask, strict=True) if keep]
        self._front_losses = rows[mask]

    def _hypervolume(self) -> float | None:
        if not self._front or self._lo is None or self._hi is None:
            return None
        return hypervolume_within(self._lo, self._hi, self._front_losses)

    def _ensemble(self, book: RecordBook) -> Trial | None:
        """The book's first Ensemble trial (there is at most one, but for a user's own)."""
        if not self._ensembles:
            return None
        if len(self._ensembles) == 1:
            return book.get(next(iter(self._ensembles)))
        return next(r for r in book if r.spec.kind == "Ensemble")


def _number(record: Trial) -> int:
    return record.spec.number


def _place(record: Trial, priors: set[int]) -> tuple[int, int]:
    return (0, 0) if id(record) in priors else (1, record.spec.number)
