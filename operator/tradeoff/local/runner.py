"""The local study loop: the engine decides, the executor runs, the file store remembers.

Level-based like the operator: every turn looks at the records as they are (stop rules,
free slots, Pending trials) and acts; events from the executor (intermediate values,
ended attempts) change records, and every state change is saved before anything else
happens. What an ended attempt means for its trial (state, reason, message, retry, what
the next attempt resets) is the engine's lifecycle (`tradeoff.engine.lifecycle`), as in
the operator. A run that died leaves Pending/Running records behind; the next run starts
those again with the same number and parameters and never asks anew for them. An attempt
cut short by the run's own end (Ctrl-C, a crash) uses up none of the trial's retries.

When a stop rule cancels running trials (``cancel_running``), those trials are cancelled:
Pending with reason ``Cancelled``, not failed; a later run of the same study (say with a
longer timeout) runs them again while its budget allows. The first stop decision of a run
is final.

A trial's ``economics`` sum every attempt that ran (failed, interrupted and retried ones
cost money too); its ``cost``/``carbon``/``energy`` objectives are those of the attempt
that produced its metrics (the final one), as in the operator.
"""

from __future__ import annotations

import functools
import queue
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study
from tradeoff.api.template import render_pod_spec
from tradeoff.api.trial import INTERMEDIATE_CAP, StepValue, Trial
from tradeoff.economics import (
    EconomicsConfig,
    IntensitySettings,
    NodeInfo,
    build_source,
    config_for_node,
    read_intensity,
    resources_from_pod_spec,
    study_fixes_intensity,
)
from tradeoff.economics._local_energy import POWERCAP
from tradeoff.engine import Engine, StopDecision, Summary, lifecycle
from tradeoff.engine.ensembles import ensemble_of
from tradeoff.engine.priors import Priors
from tradeoff.engine.records import RecordBook
from tradeoff.engine.validation import choose_algorithm, recorded_problem
from tradeoff.local.carbon import CarbonGate
from tradeoff.local.display import NullDisplay, RunDisplay
from tradeoff.local.energy import EnergyMeter
from tradeoff.local.ensemble import run_ensemble
from tradeoff.local.events import AttemptResult, Event, Intermediate, Wakeup
from tradeoff.local.executor import LocalExecutor
from tradeoff.local.history import past_studies
from tradeoff.local.outcome import IntensityReader, attempt_outcome, price_attempt
from tradeoff.local.store import FileStore, StoreError
from tradeoff.local.warmstart import load_priors
from tradeoff.observe import NullObserver, StudyObserver

__all__ = ["LOCAL_NAMESPACE", "RunResult", "StudyRunner"]

LOCAL_NAMESPACE = "local"
"""The namespace label local studies report to observers."""

PUBLISH_SECONDS = 0.2
"""The observer and the progress bar get a new summary at most this often."""


@dataclass(frozen=True)
class RunResult:
    """How a run ended. ``interrupted``: stopped by a signal, the study is not over."""

    state: str
    reason: str
    message: str
    records: list[Trial]
    summary: Summary
    interrupted: bool = False
    algorithm: AlgorithmChoice | None = None
    priors: Priors | None = None
    warm_line: str = ""
    """What the prior trials are and whether they inform the sampler (`Engine.priors_line`)."""


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
    ) -> None:
        self.study = study
        self.spec = study.spec
        self.name = study.metadata.name
        self.store = store
        self.region = region
        self.observer: StudyObserver = observer or NullObserver()
        self.display: RunDisplay = display or NullDisplay()
        self.economics = config_for_node(
            EconomicsConfig.default(), NodeInfo(region=region), study.spec.economics
        )
        self.intensity = intensity
        self.intensity_source = build_source(intensity) if intensity is not None else None
        rule = study.spec.schedule.carbon_aware if study.spec.schedule else None
        self.carbon: CarbonGate | None = None
        if rule is not None:
            say = self.display.warn
            self.carbon = CarbonGate(
                rule, self.intensity_source, intensity, region, say, poll=carbon_poll
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
        self.energy = EnergyMeter(store.scratch_dir / "energy", powercap=powercap)
        self.records: dict[str, Trial] = {}
        self.book = RecordBook()
        """The records by number; each change is `put`, so the engine reads only those."""
        self._active: dict[str, Trial] = {}  # the unfinished records (and some finished)
        self.interrupts = 0
        self.decision: StopDecision | None = None
        self._started_at = datetime.now(UTC)
        self._pods: dict[str, dict[str, Any]] = {}
        self._next_publish = 0.0  # monotonic; a summary is due then if _unpublished
        self._unpublished = False

    # -- signals -----------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop starting trials and stop the running ones (safe in a signal handler).

        A second call kills the children at once (SIGKILL).
        """
        self.interrupts += 1
        self.events.put(Wakeup("interrupt"))
        self.executor.wake()

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run until a stop rule ends the study or an interruption stops the run."""
        opened = self.store.open(self.study)
        self._started_at = opened.started_at
        self.algorithm = self._algorithm(opened.algorithm)
        priors = load_priors(self.spec, self.store)
        self.engine = Engine(
            self.spec,
            self.algorithm.name,
            study=self.name,
            key=self.store.signing_key(),
            priors=priors,
        )
        if priors.dropped:
            self.display.warn(f"warm start: {priors.describe()}")
        self.records = {r.metadata.name: r for r in self.store.load_trials()}
        self.book = RecordBook(self.records.values())  # loaded by number
        self._active = {
            k: r for k, r in self.records.items() if not r.finished and not r.is_ensemble
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
                self._save(record)
        self.display.begin(self.spec, self.algorithm, self._list(), self._summary())
        try:
            self._loop()
            if self.decision is not None and not self.interrupts:
                self._ensemble()
        finally:
            self.executor.stop_all("interrupt", force=True)
            self.executor.close()
            self.display.end()
            self.store.sync()
        records, summary = self._list(), self._summary()
        if self.decision is None:
            active = sum(1 for r in records if r.state in ("Pending", "Running"))
            message = f"{active} unfinished trial(s) will re-run on resume"
            return RunResult(
                "Running",
                "Interrupted",
                message,
                records,
                summary,
                True,
                self.algorithm,
                self.engine.priors,
                self.engine.priors_line(records),
            )
        state, reason, why = self.decision.state, self.decision.reason, self.decision.message
        self.observer.study_updated(LOCAL_NAMESPACE, self.name, self.spec, state, records, summary)
        return RunResult(
            state,
            reason,
            why,
            records,
            summary,
            algorithm=self.algorithm,
            priors=self.engine.priors,
            warm_line=self.engine.priors_line(records),
        )

    def _algorithm(self, recorded: AlgorithmChoice | None) -> AlgorithmChoice:
        """The algorithm recorded when the study started, or the one chosen now (recorded)."""
        problem = recorded_problem(self.spec, recorded) if recorded is not None else None
        if problem is not None:
            raise StoreError(
                f"{self.store.study_path}: {problem} (or start afresh with another --workdir)"
            )
        history = functools.partial(past_studies, self.spec, self.store.workdir)  # read if needed
        chosen = choose_algorithm(self.spec, recorded, datetime.now(UTC), history)
        if chosen is not recorded:
            self.store.record_algorithm(chosen)
        return chosen

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
                if not self._running() and self._held is not None:
                    self.executor.poll(self._held)  # waiting for a cleaner grid
                    continue
                if not self._running():
                    self._check_stop()
                    if self.decision is None:  # the engine proposes until it is exhausted
                        raise RuntimeError("no trial runs and no stop rule ended the study")
            if not self._running():
                return
            self._publish()
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
        self.decision = self.engine.stop_decision(self.book, self._elapsed())
        if self.decision is not None:
            self._cancel_all(self.decision)

    def _wait_seconds(self) -> float | None:
        waits = [self.executor.seconds_to_next_timer(), self._held]
        if self._unpublished:
            waits.append(max(0.0, self._next_publish - time.monotonic()))
        timeout = self.spec.budget.timeout_seconds
        if timeout is not None and self.decision is None:
            waits.append(max(0.0, timeout - self._elapsed()) + 0.01)
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    # -- starting ----------------------------------------------------------------------

    def _start_trials(self) -> None:
        self._held = self.carbon.wait(datetime.now(UTC)) if self.carbon else None
        free = self.spec.budget.parallelism - len(self._running())
        for record in [r for r in self._unfinished() if r.state == "Pending"][: max(0, free)]:
            if self._held is None or record.status.attempts > 0:  # retries are not held
                self._start(record)
        count = self.engine.trials_to_start(self.book)
        if self._held is not None:
            return
        if count <= 0:
            return
        suggestions = self.engine.ask(self.book, count)
        self.observer.suggest_latency(self.engine.algorithm, self.engine.last_ask_seconds)
        for warning in self.engine.warnings:
            self.display.warn(warning)
        self.engine.warnings.clear()
        for s in suggestions:
            record = Trial.new(self.name, s.number, s.parameters, s.sampler_state)
            self.records[record.metadata.name] = self._active[record.metadata.name] = record
            self._start(
                record
            )  # puts it in the book  # saves it, Running, before its process starts

    def _start(self, record: Trial) -> None:
        name = record.metadata.name
        pod = render_pod_spec(
            self.spec.trial_template,
            record.spec.parameters,
            study=self.name,
            trial=name,
            number=record.number,
        )
        record.status = lifecycle.started(lifecycle.begin_attempt(record.status), datetime.now(UTC))
        status = record.status
        self._save(record)
        self.display.trial_started(record)
        try:
            resources_from_pod_spec(pod)
        except ValueError as exc:
            self.events.put(
                AttemptResult(name, status.attempts, None, 0.0, 0.0, {}, start_error=str(exc))
            )
            return
        pod = self.energy.begin(
            name, status.attempts, pod, self.spec.trial_template.primary_index()
        )
        self._pods[name] = pod
        self.executor.start(name, status.attempts, pod)

    def _reader(self) -> IntensityReader | None:
        """Reads the intensity over an attempt's run, unless the study fixed it."""
        if self.intensity_source is None or study_fixes_intensity(self.spec.economics):
            return None
        return functools.partial(read_intensity, self.intensity_source, self.intensity)

    def _ensemble(self) -> None:
        """The study's Ensemble trial, when the engine says one is due (or a run that
        stopped made one but never finished it): saved Pending, then run in-process."""
        record = ensemble_of(self._list()) or self.engine.ensemble_due(self._list(), self.decision)
        if record is None or record.finished:
            return
        self.records[record.metadata.name] = record
        self._save(record)
        self.display.trial_started(record)
        record.status = run_ensemble(self.spec, record, self.records, self.store.workdir)
        self._save(record)
        self.observer.trial_finished(LOCAL_NAMESPACE, self.name, record)
        self.display.trial_finished(record)

    # -- events ------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if isinstance(event, Intermediate):
            self._on_intermediate(event)
        elif isinstance(event, AttemptResult):
            self._on_result(event)

    def _on_intermediate(self, event: Intermediate) -> None:
        record = self.records.get(event.trial)
        if record is None or record.state != "Running" or event.attempt != record.status.attempts:
            return
        status = record.status
        status.last_intermediate[event.metric] = event.value
        if event.metric != self.spec.pruning_metric:
            return
        status.intermediate = [*status.intermediate, StepValue(step=event.step, value=event.value)]
        del status.intermediate[:-INTERMEDIATE_CAP]
        self.book.put(record)  # saved with its next state change
        if self.spec.early_stopping.algorithm == "none" or self.interrupts or self.decision:
            return
        decision = self.engine.should_prune(self.book, record.number)
        status.pruning_state = decision.pruning_state
        self.book.put(record)
        if decision.prune:
            self.executor.stop(event.trial, "prune")

    def _on_result(self, result: AttemptResult) -> None:
        record = self.records.get(result.trial)
        if record is None or result.attempt != record.status.attempts:
            return
        self.executor.finished(result.trial)
        pod = self._pods.pop(result.trial, None)
        spent = None
        if result.start_error is None and pod is not None:
            measured = self.energy.end(result.trial, result.cpu_seconds)
            spent = price_attempt(
                pod, result, self.economics, self.region, self._reader(), measured
            )
        transition = lifecycle.end_attempt(
            self.spec,
            record.status,
            attempt_outcome(result, spent),
            now=datetime.now(UTC),
            stopped=None if self.decision is None else self.decision.message,
        )
        record.status = transition.status
        self._save(record)
        if transition.finished:
            self.observer.trial_finished(LOCAL_NAMESPACE, self.name, record)
            self.display.trial_finished(record)
        elif lifecycle.waits_for_resume(record.state, record.status.reason):
            self.display.trial_finished(record)
        self._check_stop()  # before the next result: a failure may have ended the study

    # -- state changes -------------------------------------------------------------------

    def _cancel_all(self, decision: StopDecision) -> None:
        if not decision.cancel_running:
            return
        for record in self._unfinished():
            if record.state == "Pending":
                record.status = lifecycle.cancel(record.status, decision.message)
                self._save(record)
        self.executor.stop_all("cancel")

    def _save(self, record: Trial) -> None:
        """Save a new or changed record, and tell the book."""
        self.store.save_trial(record)
        self.book.put(record)

    # -- views -------------------------------------------------------------------------

    def _list(self) -> list[Trial]:
        """The records by number, as a list of their own (for results and observers)."""
        return list(self.book)

    def _unfinished(self) -> list[Trial]:
        """The records not finished, by number (a finished record never runs again)."""
        for name in [k for k, r in self._active.items() if r.finished]:
            del self._active[name]
        return sorted(self._active.values(), key=lambda r: r.number)

    def _running(self) -> list[Trial]:
        return [r for r in self._unfinished() if r.state == "Running"]

    def _summary(self) -> Summary:
        return self.engine.summarize(self.book)

    def _elapsed(self) -> float:
        return (datetime.now(UTC) - self._started_at).total_seconds()

    def _publish(self) -> None:
        """Summarise for the observer and the display, if either looks, at most every
        ``PUBLISH_SECONDS`` (a skipped one is due then: the loop wakes up for it)."""
        if not self.display.live and isinstance(self.observer, NullObserver):
            return
        now = time.monotonic()
        self._unpublished = now < self._next_publish
        if self._unpublished:
            return
        self._next_publish = now + PUBLISH_SECONDS
        records, summary = self._list(), self._summary()
        state = "Running" if records else "Pending"
        self.observer.study_updated(LOCAL_NAMESPACE, self.name, self.spec, state, records, summary)
        self.display.update(records, summary, self._elapsed())
