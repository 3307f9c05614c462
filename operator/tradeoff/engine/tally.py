"""Trial counts and the goal, kept up to date from a `RecordBook`'s change log.

A stop decision and the number of trials to start read the counts of every record and,
with a goal, look for a trial that met it: a pass over all records, made several times
per trial by an adapter's loop. Given a `RecordBook`, the tally reads only the records put
since it last looked; given a plain sequence, it passes over all of them
(`progress.counts`, `progress.goal_reached`). Both give the same answer; with
`TRADEOFF_VERIFY_RECORDS=1` the tally checks that, and raises on a change that was not
put.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tradeoff.api.status import TrialCounts
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import progress
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.engine.records import VERIFY, RecordBook, UnloggedChange

__all__ = ["Tally"]


class Tally:
    """Counts and the first goal-meeting trial of a study's records."""

    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec
        self._book: RecordBook | None = None
        self._generation = -1
        self._version = 0
        self._kinds: dict[int, str] = {}
        self._by_kind: Counter[str] = Counter()
        self._hits: set[int] = set()
        self._cancelled: set[int] = set()

    def read(self, records: Sequence[Trial]) -> tuple[TrialCounts, Trial | None]:
        """(the search's counts, the first trial by number that met the goal, if any): an
        Ensemble trial is no part of the search (`progress.stop_decision`)."""
        if not isinstance(records, RecordBook):
            search = _search(records)
            return progress.counts(search), progress.goal_reached(self.spec, search)
        if records is not self._book or records.generation != self._generation:
            self._book, self._generation = records, records.generation
            self._kinds.clear()
            self._by_kind.clear()
            self._hits.clear()
            self._cancelled.clear()
            changed: Sequence[Trial] = records
        else:
            changed = records.changed_since(self._version)
        self._version = records.version
        for record in changed:
            self._count(record)
        by = self._by_kind
        counts = TrialCounts(
            created=len(records) - by["Ensemble"],
            cancelled=by["Cancelled"],
            pending=by["Pending"],
            running=by["Running"],
            succeeded=by["Succeeded"],
            failed=by["Failed"],
            pruned=by["Pruned"],
        )
        hit = records.get(min(self._hits)) if self._hits else None
        if VERIFY and (counts, hit) != (
            progress.counts(_search(records)),
            progress.goal_reached(self.spec, _search(records)),
        ):
            raise UnloggedChange("a record changed without RecordBook.put (the tally differs)")
        return counts, hit

    def cancelled(self, records: Sequence[Trial]) -> list[Trial]:
        """The cancelled trials, Ensemble ones too (`lifecycle.waits_for_resume`), by
        number."""
        if not isinstance(records, RecordBook):
            return _cancelled(records)
        self.read(records)
        kept = [records.get(n) for n in sorted(self._cancelled)]
        cancelled = [r for r in kept if r is not None]
        if VERIFY and cancelled != _cancelled(records):
            raise UnloggedChange("a record changed without RecordBook.put (cancelled differ)")
        return cancelled

    def _count(self, record: Trial) -> None:
        number = record.number
        old = self._kinds.get(number)
        if old is not None:
            self._by_kind[old] -= 1
        ensemble = record.spec.kind == "Ensemble"
        new = "Ensemble" if ensemble else progress.kind(record)
        self._kinds[number] = new
        self._by_kind[new] += 1
        if waits_for_resume(record.state, record.status.reason):
            self._cancelled.add(number)
        else:
            self._cancelled.discard(number)
        if not ensemble and progress.meets_goal(self.spec, record):
            self._hits.add(number)
        else:
            self._hits.discard(number)


def _cancelled(records: Sequence[Trial]) -> list[Trial]:
    found = (r for r in records if waits_for_resume(r.state, r.status.reason))
    return sorted(found, key=_number)


def _number(record: Trial) -> int:
    return record.number


def _search(records: Sequence[Trial]) -> list[Trial]:
    return [r for r in records if r.spec.kind != "Ensemble"]
