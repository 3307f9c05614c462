"""A local run's insights, kept as the operator keeps a Study's (`tradeoff.engine.insight_status`).

The rule is the operator's own `refresh_insights`: the insights are recomputed when the
finished trials reach a milestone or the study ends (`engine.insights.insights_due`), at
most `INSIGHTS_CAP` are kept, and each whose key the previous status did not hold is
announced. Computing them costs 0.6-1.3 s of CPU at 40-400 records (fANOVA), and SciPy's
imports the first time: a child process computes them (`insight_worker`), one
computation at a time, from the finished records (the only ones the insights read; a
finished record never changes again); a thread waits for it, and the loop's next turn
records them. Recording saves the workdir's status file (`status_file`), gives them to
the observer (the `tradeoff_parameter_importance` gauge), then announces the new ones: a
run killed at any moment announces nothing twice once resumed. When the study ends, the
run computes its final insights before it returns, so a resumed run ends with the
insights an uninterrupted run has on the same records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from tradeoff.api.status import Insight, StudyStatus
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.insight_status import InsightSource, refresh_insights
from tradeoff.engine.insights import insights_due, milestone
from tradeoff.engine.records import RecordBook
from tradeoff.engine.tally import Tally
from tradeoff.local.insight_worker import InsightWorker
from tradeoff.local.run_publisher import LOCAL_NAMESPACE
from tradeoff.local.status_file import read_status, save_status
from tradeoff.observe import StudyObserver

__all__ = ["RunInsights"]

Computed = tuple[int, list[Insight]]
"""(the finished trials they were computed from, the insights)."""


class RunInsights:
    """The insights of one local run: computed in the background, recorded by the loop."""

    def __init__(
        self,
        name: str,
        spec: StudySpec,
        workdir: Path,
        observer: StudyObserver,
        say: Callable[[str], None],
        warn: Callable[[str], None],
        wake: Callable[[], None],
        compute: Callable[[Sequence[Trial]], list[Insight]] | None = None,
    ) -> None:
        """`say` announces an insight, `warn` a problem; `wake` is called from the
        background thread when insights are ready (the loop then records them).
        `compute`: the insights of some records (default: in an `InsightWorker`)."""
        self.name, self.spec, self.workdir = name, spec, workdir
        self._worker: InsightWorker | None = None
        if compute is None:
            self._worker = InsightWorker(spec)
            compute = self._worker.compute
        self.compute = compute
        self.observer, self.say, self.warn, self.wake = observer, say, warn, wake
        self.status, problem = read_status(workdir)
        if problem:
            warn(problem)
        self._tally = Tally(spec)
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False  # a computation started and not yet handed over
        self._ready: Computed | None = None
        self._failed: tuple[int, str] | None = None  # (finished count, why), not yet said
        self._failed_from: int | None = None  # no retry before the next milestone
        if self.status.insights:  # what a previous run recorded, for the gauge
            self.observer.insights_updated(LOCAL_NAMESPACE, self.name, self.status.insights)

    def refresh(self, book: RecordBook) -> None:
        """Record the insights computed since the last turn; start a computation when due."""
        self._apply(book, False, self._in_background)

    def finish(self, book: RecordBook, ended: bool) -> None:
        """At the end of a run: when the study ended, wait for a computation in flight and
        record its final insights (computed here unless one in flight had them all)."""
        if not ended:
            self._apply(book, False, self._ready_only)
            return
        thread = self._thread
        if thread is not None:
            thread.join()
        try:
            self._apply(book, True, self._here)
        except Exception as error:  # the run's outcome stands without them
            self.warn(f"insights not computed: {_first_line(error)}")

    def close(self) -> None:
        """Stop computing (a computation in flight is dropped; a resumed run redoes it)."""
        if self._worker is not None:
            self._worker.close()

    # -- sources (`InsightSource`) -------------------------------------------------------

    def _in_background(
        self, spec: StudySpec, records: Sequence[Trial], finished: int
    ) -> Computed | None:
        with self._guard:
            ready, self._ready = self._ready, None
            if ready is not None or self._running:
                return ready
            failed = self._failed_from
            if failed is not None and milestone(finished) <= milestone(failed):
                return None
            self._running = True
        done = [r for r in records if r.finished]
        self._thread = threading.Thread(
            target=self._compute, args=(done, finished), name="insights", daemon=True
        )
        self._thread.start()
        return None

    def _ready_only(
        self, spec: StudySpec, records: Sequence[Trial], finished: int
    ) -> Computed | None:
        with self._guard:
            ready, self._ready = self._ready, None
        return ready

    def _here(self, spec: StudySpec, records: Sequence[Trial], finished: int) -> Computed:
        ready = self._ready_only(spec, records, finished)
        if ready is not None and ready[0] == finished:
            return ready
        return finished, self.compute([r for r in records if r.finished])

    def _compute(self, records: list[Trial], finished: int) -> None:
        try:
            found = self.compute(records)
        except Exception as error:  # a thread's error would end it unsaid
            with self._guard:
                self._failed, self._running = (finished, _first_line(error)), False
        else:
            with self._guard:
                self._ready, self._running = (finished, found), False
        self.wake()

    # -- recording -------------------------------------------------------------------------

    def _apply(self, book: RecordBook, ended: bool, source: InsightSource) -> None:
        with self._guard:
            failed, self._failed = self._failed, None
            ready = self._ready is not None
        if failed is not None:
            self._failed_from = failed[0]
            self.warn(f"insights not computed: {failed[1]}")
        old = self.status
        counts = self._tally.read(book)[0]
        finished = counts.succeeded + counts.failed + counts.pruned
        if not ready and not insights_due(old.insights_from, finished, ended):
            return  # most turns: spared building a status (refresh_insights would say so)
        status = StudyStatus(trials=counts, insights=old.insights, insights_from=old.insights_from)
        found = refresh_insights(old, status, self.spec, book, ended, source)
        if (status.insights_from, status.insights) == (old.insights_from, old.insights):
            return
        self.status = StudyStatus(insights=status.insights, insights_from=status.insights_from)
        save_status(self.workdir, self.status)  # before announcing: never announced twice
        self.observer.insights_updated(LOCAL_NAMESPACE, self.name, self.status.insights)
        for insight in found:
            self.say(insight.message)


def _first_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else error.__class__.__name__
    return text[:300]
