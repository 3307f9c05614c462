"""A study's trial records, with a log of which ones changed.

The engine's decisions take the study's records. Given a plain sequence, the engine
compares a fingerprint of every record with the last call's to find what changed: a pass
over all records per decision, the dominant cost of a cheap sampler's ask at 10,000
records. An adapter that keeps its records in a `RecordBook` and `put`s each record it
adds or changes spares that pass: the engine reads only the records logged since it last
looked. Reading stays exact only if every change is `put`; with `TRADEOFF_VERIFY_RECORDS=1`
(set by the test suite) the engine checks every record as well and raises on a change that
was not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress
from operator import is_not
from typing import overload

from tradeoff.api.trial import Trial

VERIFY = os.environ.get("TRADEOFF_VERIFY_RECORDS", "") not in ("", "0", "false")
"""Check the change log against every record on each read (tests, debugging)."""


class SharedRecords(list[Trial]):
    """Records that are never changed in place: a changed trial is a new object (the
    operator's records, shared with its watch store). The engine finds what changed by
    identity, against the records it last saw, instead of by a fingerprint of each."""


class UnloggedChange(AssertionError):
    """A record changed without `RecordBook.put`: the adapter's bug, never the user's."""


class RecordBook(Sequence[Trial]):
    """Records in the order they were added, one per trial number, and a change log.

    `put` adds a record or replaces the one with its number, and must be called again
    after changing a record in place. `remove` starts a new generation: readers then
    look at every record again.
    """

    def __init__(self, records: Iterable[Trial] = ()) -> None:
        self._records: list[Trial] = []
        self._index: dict[int, int] = {}
        self._log: list[int] = []
        self.generation = 0
        for record in records:
            self.put(record)

    @overload
    def __getitem__(self, index: int) -> Trial: ...
    @overload
    def __getitem__(self, index: slice) -> list[Trial]: ...
    def __getitem__(self, index: int | slice) -> Trial | list[Trial]:
        return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self._records)

    def get(self, number: int) -> Trial | None:
        at = self._index.get(number)
        return None if at is None else self._records[at]

    def position(self, number: int) -> int:
        """Where the record of `number` is in the book (it must be there)."""
        return self._index[number]

    def put(self, record: Trial) -> None:
        """Add `record`, or replace the record of its number; log the change."""
        number = record.number
        at = self._index.get(number)
        if at is None:
            self._index[number] = len(self._records)
            self._records.append(record)
        else:
            self._records[at] = record
        self._log.append(number)

    def remove(self, number: int) -> None:
        """Drop the record of `number` (if any); readers start over."""
        at = self._index.pop(number, None)
        if at is None:
            return
        del self._records[at]
        self._index = {r.number: i for i, r in enumerate(self._records)}
        self._log.clear()
        self.generation += 1

    def follow(self, records: Sequence[Trial]) -> bool:
        """Make the book hold `records`, which are never changed in place: only those that
        are not the very objects it holds are put. Records keep their positions, new ones
        come last (the usual case); otherwise the book starts a new generation holding
        them. False (the book unchanged) if two records have the same number."""
        mine, n = self._records, len(self._records)
        if len(records) >= n:
            moved = False
            for i in compress(range(n), map(is_not, records, mine)):
                if records[i].number != mine[i].number:
                    moved = True
                    break
                self.put(records[i])
            if not moved:
                for i in range(n, len(records)):
                    if records[i].number in self._index:
                        moved = True
                        break
                    self.put(records[i])
            if not moved:
                return True
        numbers = [r.number for r in records]
        if len(set(numbers)) != len(numbers):
            return False
        self._records = list(records)
        self._index = {number: i for i, number in enumerate(numbers)}
        self._log.clear()
        self.generation += 1
        return True

    @property
    def version(self) -> int:
        """A position in the change log: `changed_since` takes it back."""
        return len(self._log)

    def changed_since(self, version: int) -> list[Trial]:
        """The records put since `version` (each once, in number order)."""
        numbers = sorted(set(self._log[version:]))
        return [self._records[self._index[n]] for n in numbers if n in self._index]


def find(records: Sequence[Trial], number: int) -> Trial | None:
    """The record of trial `number`: a lookup in a book, a scan otherwise."""
    if isinstance(records, RecordBook):
        return records.get(number)
    return next((r for r in records if r.number == number), None)
