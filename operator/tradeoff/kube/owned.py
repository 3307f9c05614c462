"""A Study's own Trial records and the Trials labelled for it that it does not control,
kept from the watch store's entries and updated by what changed since the last read.

A pass (and a pruning driver) needs the Study's records by number, the foreign Trials,
its unfinished trials and the records of the trials whose pods run. Sorting and
splitting every Trial of the store again on each read made every pass cost time in
proportion to the study's size (about 70 ms at 10,000 trials, with the pod clean-up's
and the undriven-trial check's loops over every record). The store's entries are never
changed in place (a changed Trial is a new entry) and keep their order: a read compares
them by identity with the last read's (a C loop), and handles only the entries that
changed or are new. Anything unusual (an entry gone, a Trial that changes hands, a
number out of order) makes it split and sort every entry again, as a fresh read would:
the result is always exactly the fresh one (`fresh`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import compress
from operator import is_not
from typing import Any

from tradeoff.api.trial import FINISHED_STATES, Trial
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.kube.cache import TrialEntry, study_records

Obj = dict[str, Any]

__all__ = ["OwnedTrials", "fresh", "is_open"]


def fresh(entries: Sequence[TrialEntry], uid: str) -> tuple[list[Trial], list[Obj]]:
    """(the records of the entries Study `uid` controls, by number; the other entries'
    references), from every entry: what `OwnedTrials` keeps."""
    records: list[Trial] = []
    others: list[Obj] = []
    for entry in entries:
        if not entry.owned_by(uid):
            others.append(entry.ref)
        elif entry.record is not None:
            records.append(entry.record)
    return sorted(records, key=_number), others


def is_open(record: Trial) -> bool:
    """Whether a trial may still run: neither finished nor cancelled waiting to resume."""
    return record.state not in FINISHED_STATES and not waits_for_resume(
        record.state, record.status.reason
    )


class OwnedTrials:
    """One Study's view of its Trials in the store, kept in step with it (`follow`)."""

    def __init__(self) -> None:
        self._reset("")

    def _reset(self, uid: str) -> None:
        self._uid = uid
        self._entries: list[TrialEntry] = []
        self.records: list[Trial] = []
        """The records of the Trials the Study controls, by number (then store order)."""
        self._slot: dict[str, int] = {}
        """Where each owned entry's record is in `records`, by the Trial's uid."""
        self._foreign: dict[str, Obj] = {}
        self._by_uid: dict[str, Trial] = {}
        self._open: dict[str, Trial] = {}
        self._widths: Counter[int] = Counter()
        """How many records hold objective values, by how many values they hold."""
        self._ensembles: dict[str, Trial] = {}

    @property
    def foreign(self) -> list[Obj]:
        """The references of the Trials labelled for the Study that it does not control."""
        return list(self._foreign.values())

    def open_records(self) -> list[Trial]:
        """The Study's trials that may still run (`is_open`), in the order of `records`."""
        slot = self._slot
        return [self._open[uid] for uid in sorted(self._open, key=slot.__getitem__)]

    def admitted(self, objectives: int) -> list[Trial]:
        """`records`, without those no record of a study of `objectives` objectives
        (`study_records`): the check reads every record only when the counts kept as
        records change say one may be such (values of another width, an Ensemble trial
        sharing its number), so a usual pass costs no loop over the study."""
        odd = any(width != objectives for width, n in self._widths.items() if n)
        if not odd and not any(map(self._shares_number, self._ensembles)):
            return list(self.records)
        return study_records(self.records, objectives)

    def _shares_number(self, trial_uid: str) -> bool:
        at, records = self._slot[trial_uid], self.records
        number = records[at].number
        return (at > 0 and records[at - 1].number == number) or (
            at + 1 < len(records) and records[at + 1].number == number
        )

    def record(self, trial_uid: str) -> Trial | None:
        """The record of the Study's own Trial with this uid, if it has one."""
        return self._by_uid.get(trial_uid)

    def follow(self, entries: list[TrialEntry], uid: str) -> None:
        """Take the store's entries of the Study (whose uid is `uid`) now."""
        mine, n = self._entries, len(self._entries)
        if uid != self._uid or len(entries) < n:
            self._rebuild(entries, uid)
            return
        for i in compress(range(n), map(is_not, entries, mine)):
            if not self._replace(mine[i], entries[i]):
                self._rebuild(entries, uid)
                return
        for i in range(n, len(entries)):
            if not self._append(entries[i]):
                self._rebuild(entries, uid)
                return
        self._entries = entries

    def _rebuild(self, entries: list[TrialEntry], uid: str) -> None:
        self._reset(uid)
        self._entries = entries
        owned: list[tuple[int, TrialEntry]] = []
        for entry in entries:
            if not entry.owned_by(uid):
                self._foreign[entry.uid] = entry.ref
            elif entry.record is not None:
                owned.append((entry.record.number, entry))
        owned.sort(key=_first)  # stable: equal numbers keep the store's order
        for _, entry in owned:
            self._put(entry, len(self.records))

    def _put(self, entry: TrialEntry, at: int) -> None:
        record = entry.record
        assert record is not None
        if at == len(self.records):
            self.records.append(record)
        else:
            self.records[at] = record
        self._slot[entry.uid] = at
        old = self._by_uid.get(entry.uid)
        if old is not None and old.status.values is not None:
            self._widths[len(old.status.values)] -= 1
        if record.status.values is not None:
            self._widths[len(record.status.values)] += 1
        if record.is_ensemble:
            self._ensembles[entry.uid] = record
        else:
            self._ensembles.pop(entry.uid, None)
        self._by_uid[entry.uid] = record
        if is_open(record):
            self._open[entry.uid] = record
        else:
            self._open.pop(entry.uid, None)

    def _replace(self, old: TrialEntry, new: TrialEntry) -> bool:
        """A newer entry of the same Trial; False when only a rebuild can take it."""
        if new.uid != old.uid:
            return False
        if new.uid in self._foreign:
            if new.owned_by(self._uid):
                return False
            self._foreign[new.uid] = new.ref
            return True
        at = self._slot.get(new.uid)
        if at is None or new.record is None or not new.owned_by(self._uid):
            return False  # was unparsed, or no longer parses or belongs
        if new.record.number != self.records[at].number:
            return False
        self._put(new, at)
        return True

    def _append(self, entry: TrialEntry) -> bool:
        """A Trial new to the store; False when only a rebuild can take it."""
        if entry.uid in self._foreign or entry.uid in self._slot:
            return False
        if not entry.owned_by(self._uid):
            self._foreign[entry.uid] = entry.ref
            return True
        if entry.record is None:
            return True  # left out, as a rebuild leaves it out (it has no slot)
        if self.records and entry.record.number <= self.records[-1].number:
            return False
        self._put(entry, len(self.records))
        return True


def _number(record: Trial) -> int:
    return record.number


def _first(pair: tuple[int, TrialEntry]) -> int:
    return pair[0]
