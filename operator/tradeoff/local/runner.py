"""The local study loop: the engine decides, the executor runs, the file store remembers.

Level-based like the operator: every turn looks at the records as they are (stop rules,
free slots, Pending trials) and acts; events from the executor (intermediate values,
ended attempts) change records, and every state change is saved before anything else
happens: a trial's start before its process starts, an ended attempt before the next
trial starts (so a crash never re-runs a trial whose end was seen); only telling the
observer and the display of it waits until the turn has started the next trials. What an
ended attempt means for its trial (state, reason, message, retry, what
the next attempt resets) is the engine's lifecycle (`tradeoff.engine.lifecycle`), as in
the operator. A run that died leaves Pending/Running records behind; the next run starts
those again with the same number and parameters and never asks anew for them. An attempt
cut short by the run's own end (Ctrl-C, a crash) uses up none of the trial's retries.

When a stop rule cancels running trials (``cancel_running``), those trials are cancelled:
Pending with reason ``Cancelled``, not failed; a later run of the same study (say with a
longer timeout) runs them again while its budget allows. The first stop decision of a run
is final.

The records live in `run_records`, each attempt's process and price in `trial_processes`,
the summaries the observer and display see in `run_publisher`, the insights (when asked
for) in `run_insights`.
"""

from __future__ import annotations

import queue
from datetime import UTC, datetime
from pathlib import Path

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial
from tradeoff.economics import (
    IntensitySettings,
    build_source,
)
from tradeoff.economics._local_energy import POWERCAP
from tradeoff.engine import Engine, StopDecision, Summary, lifecycle
from tradeoff.engine.ensembles import ensemble_of
from tradeoff.local.carbon import CarbonGate
from tradeoff.local.display import NullDisplay, RunDisplay
from tradeoff.local.energy import EnergyMeter
from tradeoff.local.ensemble import run_ensemble
from tradeoff.local.events import AttemptResult, Event, Intermediate, Wakeup
from tradeoff.local.executor import LocalExecutor
from tradeoff.local.intermediate_values import record_intermediate
from tradeoff.local.outcome import attempt_outcome
from tradeoff.local.run_insights import RunInsights
from tradeoff.local.run_publisher import LOCAL_NAMESPACE, SummaryPublisher
from tradeoff.local.run_records import RunRecords
from tradeoff.local.run_result import RunResult, ended_result, interrupted_result
from tradeoff.local.run_start import open_run
from tradeoff.local.store import FileStore
from tradeoff.local.trial_processes import TrialProcesses
from tradeoff.observe import NullObserver, StudyObserver

__all__ = ["StudyRunner"]


class StudyRunner:
    """Runs one study to its end (or until interrupted), trials as local processes."""

    engine: Engine
    """Set when the run starts, with the algorithm recorded in the workdir."""
    algorithm: AlgorithmChoice

    def __init__(
        self,
        study: Study,
        store: FileStore,
        *,
        region: str | None = None,
        intensity: IntensitySettings | None = None,
        carbon_poll: float = 60.0,
        powercap: Path = POWERCAP,
        observer: StudyObserver | None = None,
        display: RunDisplay | None = None,
        grace_seconds: float = 5.0,
        live_insights: bool = False,
    ) -> None:
        """`live_insights`: compute the insights as the study runs, as the operator does
        (about a second of CPU at each milestone, in a child process)."""
        self.study = study
        self.spec = study.spec
        self.name = study.metadata.name
        self.store = store
        self.observer: StudyObserver = observer or NullObserver()
        self.display: RunDisplay = display or NullDisplay()
        intensity_source = build_source(intensity) if intensity is not None else None
        rule = study.spec.schedule.carbon_aware if study.spec.schedule else None
        self.carbon: CarbonGate | None = None
        if rule is not None:
            say = self.display.warn
            self.carbon = CarbonGate(
                rule, intensity_source, intensity, region, say, poll=carbon_poll
            )
        self._held: float | None = None  # seconds until the grid is read again
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.executor = LocalExecutor(
            study.spec,
            self.events,
            logs_dir=store.logs_dir,
            scratch_dir=store.scratch_dir,
            artifacts_dir=store.artifacts_dir,
            warn=self.display.warn,
            grace_seconds=grace_seconds,
        )
        self.processes = TrialProcesses(
            study.spec,
            self.name,
            self.executor,
            self.events,
            EnergyMeter(store.scratch_dir / "energy", powercap=powercap),
            region=region,
            intensity=intensity,
            intensity_source=intensity_source,
        )
        self.records = RunRecords(store)
        self._ended: list[Trial] = []  # saved, not yet told to the observer and display
        self.publisher = SummaryPublisher(self.name, self.spec, self.observer, self.display)
        say, warn, workdir = self.display.insight, self.display.warn, store.workdir
        self.insights = (
            RunInsights(self.name, self.spec, workdir, self.observer, say, warn, self.look_around)
            if live_insights
            else None
        )
        self.interrupts = 0
        self.decision: StopDecision | None = None
        self._started_at = datetime.now(UTC)

    # -- signals -----------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop starting trials and stop the running ones (safe in a signal handler).

        A second call kills the children at once (SIGKILL).
        """
        self.interrupts += 1
        self.events.put(Wakeup("interrupt"))
        self.executor.wake()

    def look_around(self) -> None:
        """Make the loop look around now (news from another thread)."""
        self.events.put(Wakeup("news"))
        self.executor.wake()

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run until a stop rule ends the study or an interruption stops the run."""
        opened = open_run(self.study, self.store, self.display.warn)
        self._started_at, self.algorithm = opened.started_at, opened.algorithm
        self.engine = opened.engine
        self.records.load()
        self.display.begin(self.spec, self.algorithm, self.records.listed(), self._summary())
        try:
            self._loop()
            if self.decision is not None and not self.interrupts:
                self._ensemble()
            if self.insights is not None:
                self.insights.finish(self.records.book, ended=self.decision is not None)
        finally:
            if self.insights is not None:
                self.insights.close()
            self.executor.stop_all("interrupt", force=True)
            self.executor.close()
            self._announce_ended()
            self.display.end()
            self.store.sync()
        return self._result()

    def _result(self) -> RunResult:
        records, summary = self.records.listed(), self._summary()
        if self.decision is None:
            return interrupted_result(records, summary, self.algorithm, self.engine)
        state = self.decision.state
        self.observer.study_updated(LOCAL_NAMESPACE, self.name, self.spec, state, records, summary)
        return ended_result(self.decision, records, summary, self.algorithm, self.engine)

    def _loop(self) -> None:
        stopping_children = 0
        while True:
            if self.interrupts > stopping_children:
                stopping_children = self.interrupts
                force = self.interrupts > 1
                running = len(self.executor.running)
                how = "killing" if force else "stopping"
                again = "" if force else " (interrupt again to kill them)"
                self.display.warn(f"interrupted: {how} {running} running trial(s){again}")
                self.executor.stop_all("interrupt", force=force)
            self._check_stop()
            if not self.interrupts and self.decision is None:
                self._start_trials()
            self._announce_ended()  # the attempts that ended, now that the next ones started
            if self.insights is not None:
                self.insights.refresh(self.records.book)
            if not self.interrupts and self.decision is None:
                if not self.records.running() and self._held is not None:
                    self.executor.poll(self._held)  # waiting for a cleaner grid
                    continue
                if not self.records.running():
                    self._check_stop()
                    if self.decision is None:  # the engine proposes until it is exhausted
                        raise RuntimeError("no trial runs and no stop rule ended the study")
            if not self.records.running():
                return
            self.publisher.publish(self._view, self._elapsed)
            self._wait_for_news()
            self.executor.fire_timers()

    def _wait_for_news(self) -> None:
        """Follow the children until an event arrives (output alone needs no look around)
        or a wait runs out (a timer, the study's timeout, a summary due); handle events."""
        while self.events.empty():
            if not self.executor.poll(self._wait_seconds()):
                break
        try:
            while True:
                self._handle(self.events.get_nowait())
        except queue.Empty:
            pass

    def _check_stop(self) -> None:
        """Take the engine's stop decision, once; cancel what it stops."""
        if self.interrupts or self.decision is not None:
            return
        self.decision = self.engine.stop_decision(self.records.book, self._elapsed())
        if self.decision is not None:
            self._cancel_all(self.decision)

    def _wait_seconds(self) -> float | None:
        waits = [self.executor.seconds_to_next_timer(), self._held]
        waits.append(self.publisher.seconds_to_due())
        timeout = self.spec.budget.timeout_seconds
        if timeout is not None and self.decision is None:
            waits.append(max(0.0, timeout - self._elapsed()) + 0.01)
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    # -- starting ----------------------------------------------------------------------

    def _start_trials(self) -> None:
        self._held = self.carbon.wait(datetime.now(UTC)) if self.carbon else None
        free = self.spec.budget.parallelism - self.records.running()
        pending = [r for r in self.records.unfinished() if r.state == "Pending"]
        for record in pending[: max(0, free)]:
            if self._held is None or record.status.attempts > 0:  # retries are not held
                self._start(record)
        count = self.engine.trials_to_start(self.records.book)
        if self._held is not None:
            return
        if count <= 0:
            return
        suggestions = self.engine.ask(self.records.book, count)
        self.observer.suggest_latency(self.engine.algorithm, self.engine.last_ask_seconds)
        for warning in self.engine.warnings:
            self.display.warn(warning)
        self.engine.warnings.clear()
        for s in suggestions:
            record = Trial.new(self.name, s.number, s.parameters, s.sampler_state)
            self.records.add(record)
            self._start(record)  # saves it, Running, before its process starts

    def _start(self, record: Trial) -> None:
        pod = self.processes.render(record)
        record.status = lifecycle.start_attempt(record.status, datetime.now(UTC))
        self.records.save(record)
        self.display.trial_started(record)
        self.processes.start(record.metadata.name, record.status.attempts, pod)

    def _ensemble(self) -> None:
        """The study's Ensemble trial, when the engine says one is due (or a run that
        stopped made one but never finished it): saved Pending, then run in-process."""
        listed = self.records.listed
        record = ensemble_of(listed()) or self.engine.ensemble_due(listed(), self.decision)
        if record is None or record.finished:
            return
        self.records.add(record, active=False)
        self.records.save(record)
        self.display.trial_started(record)
        record.status = run_ensemble(self.spec, record, self.records.by_name, self.store.workdir)
        self.records.save(record)
        self.observer.trial_finished(LOCAL_NAMESPACE, self.name, record)
        self.display.trial_finished(record)

    # -- events ------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if isinstance(event, Intermediate):
            self._on_intermediate(event)
        elif isinstance(event, AttemptResult):
            self._on_result(event)

    def _on_intermediate(self, event: Intermediate) -> None:
        may_prune = not (self.interrupts or self.decision)
        if record_intermediate(event, self.records, self.spec, self.engine, may_prune=may_prune):
            self.executor.stop(event.trial, "prune")

    def _on_result(self, result: AttemptResult) -> None:
        record = self.records.by_name.get(result.trial)
        if record is None or result.attempt != record.status.attempts:
            return
        spent = self.processes.finish(result)
        transition = lifecycle.end_attempt(
            self.spec,
            record.status,
            attempt_outcome(result, spent),
            now=datetime.now(UTC),
            stopped=None if self.decision is None else self.decision.message,
        )
        record.status = transition.status
        self.records.save(record)
        self._ended.append(record)  # told once the next trials have started
        self._check_stop()  # before the next result: a failure may have ended the study

    def _announce_ended(self) -> None:
        """Tell the observer and the display of the attempts that ended (``_on_result``,
        their records saved) whose trials finished or wait for a later run."""
        ended, self._ended = self._ended, []
        for record in ended:
            if record.finished:
                self.observer.trial_finished(LOCAL_NAMESPACE, self.name, record)
                self.display.trial_finished(record)
            elif lifecycle.waits_for_resume(record.state, record.status.reason):
                self.display.trial_finished(record)

    def _cancel_all(self, decision: StopDecision) -> None:
        if not decision.cancel_running:
            return
        for record in self.records.unfinished():
            if record.state == "Pending":
                record.status = lifecycle.cancel(record.status, decision.message)
                self.records.save(record)
        self.executor.stop_all("cancel")

    # -- views -------------------------------------------------------------------------

    def _view(self) -> tuple[list[Trial], Summary]:
        return self.records.listed(), self._summary()

    def _summary(self) -> Summary:
        return self.engine.summarize(self.records.book)

    def _elapsed(self) -> float:
        return (datetime.now(UTC) - self._started_at).total_seconds()
