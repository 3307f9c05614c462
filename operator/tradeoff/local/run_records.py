"""A local run's trial records: loaded from the file store, saved on every change, and
the views the run loop asks for (by number, unfinished, running)."""

from __future__ import annotations

from tradeoff.api.trial import Trial
from tradeoff.engine import lifecycle
from tradeoff.engine.records import RecordBook
from tradeoff.local.store import FileStore


class RunRecords:
    """The records of one study, by name and (in the book) by number."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.by_name: dict[str, Trial] = {}
        self.book = RecordBook()
        """The records by number; each change is `put`, so the engine reads only those."""
        self._active: dict[str, Trial] = {}  # the unfinished records (and some finished)

    def load(self) -> None:
        """Load the store's records; those a dead run left Pending/Running re-run."""
        self.by_name = {r.metadata.name: r for r in self.store.load_trials()}
        self.book = RecordBook(self.by_name.values())  # loaded by number
        self._active = {
            k: r for k, r in self.by_name.items() if not r.finished and not r.is_ensemble
        }
        for record in self._active.values():
            # The run died, not the trial: it re-runs without using up a retry. Cancelled
            # trials stay so until this run's stop rules let them run.
            if record.state == "Running" or (
                record.state == "Pending" and record.status.reason is None
            ):
                record.status = lifecycle.interrupted(
                    record.status, "re-run after an interrupted run"
                )
                self.save(record)

    def add(self, record: Trial, *, active: bool = True) -> None:
        """Take a new record (not saved yet); `active` ones are run by the loop."""
        self.by_name[record.metadata.name] = record
        if active:
            self._active[record.metadata.name] = record

    def save(self, record: Trial) -> None:
        """Save a new or changed record, and tell the book."""
        self.store.save_trial(record)
        self.book.put(record)

    def listed(self) -> list[Trial]:
        """The records by number, as a list of their own (for results and observers)."""
        return list(self.book)

    def unfinished(self) -> list[Trial]:
        """The records not finished, by number (a finished record never runs again)."""
        for name in [k for k, r in self._active.items() if r.finished]:
            del self._active[name]
        return sorted(self._active.values(), key=lambda r: r.number)

    def running(self) -> int:
        """How many records are Running (the loop asks several times a turn: no sort)."""
        return sum(1 for r in self._active.values() if r.status.state == "Running")
