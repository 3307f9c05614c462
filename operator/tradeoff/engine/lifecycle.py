"""One trial lifecycle for both modes: what an attempt's end means for its trial (pure).

Local mode and the operator describe how an attempt ended as an `AttemptOutcome` (exit
code or signal, a deadline, a lost or evicted pod, a start error, a prune, a cancellation
by a stop rule, the metrics it reported and what it cost) and call `end_attempt`, which
says the trial's next status: its state, reason and message, whether it gets another
attempt, and the attempt's cost added to the trial's. `begin_attempt` resets what belongs
to one attempt (metrics, intermediate values, pruning state) and keeps the start of the
first attempt; `start_attempt` is both with the attempt running. Neither adapter decides
any of this itself (`AttemptOutcome` and the words a failure gets are in
`attempt_ending`). Every function returns a new status that shares no list or dict with
the one it was given (the models inside them, conditions, steps, artifacts, economics,
are values nothing changes in place, so they are shared rather than deep-copied: a deep
copy per call was most of what these cost per attempt).

Reasons: `Error` (non-zero exit or a signal), `DeadlineExceeded`, `PodLost`, `Evicted`,
`StartError` (or the runtime's own word for it), `MetricsMissing` (an objective never
reported), `MetricsInvalid` (an objective is NaN or infinite), all `Failed` once the
retries are used up; `Infeasible` on a `Succeeded` trial that violates a constraint;
`Pruned`. A trial a stop rule cancels is not finished: it waits `Pending` with reason
`Cancelled` (it counts neither as failed nor against `maxFailedTrials`) and runs again
when the study resumes and its budget allows (`resume`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import FINISHED_STATES, TrialStatus
from tradeoff.economics import add_attempt
from tradeoff.engine import outcome as evaluation
from tradeoff.engine.attempt_ending import AttemptOutcome, failure_of, pruned_message

__all__ = [
    "CANCELLED",
    "INTERRUPTED",
    "RESUMED",
    "RETRYING",
    "Transition",
    "begin_attempt",
    "cancel",
    "end_attempt",
    "interrupted",
    "needs_attempt",
    "resume",
    "start_attempt",
    "started",
    "waits_for_resume",
]

CANCELLED = "Cancelled"
"""Reason of a trial a stop rule cancelled: Pending until the study resumes."""
RESUMED = "Resumed"
"""Reason of a cancelled trial whose study resumed: its next attempt is due."""
RETRYING = "Retrying"
"""Reason of a trial whose attempt failed with retries left: its next attempt is due."""
INTERRUPTED = "Interrupted"
"""Reason of a trial whose attempt stopped with the run (local mode): it re-runs."""


@dataclass(frozen=True)
class Transition:
    """The trial's status after an attempt, and whether its next attempt starts now."""

    status: TrialStatus
    retry: bool = False

    @property
    def finished(self) -> bool:
        return self.status.state in FINISHED_STATES


_CONTAINERS = (
    "conditions",
    "metrics",
    "intermediate",
    "last_intermediate",
    "artifacts",
    "values",
    "violations",
    "pruning_state",
)
"""The status's lists and dicts: each copy of a status gets new ones."""


def _copy(status: TrialStatus, **changes: Any) -> TrialStatus:
    """`status` with `changes`, its lists and dicts new (their items shared)."""
    fresh = {}
    for name in _CONTAINERS:
        if name not in changes:
            value = getattr(status, name)
            fresh[name] = None if value is None else value.copy()
    return status.model_copy(update={**fresh, **changes})


def begin_attempt(status: TrialStatus, note: str | None = None) -> TrialStatus:
    """The status for the trial's next attempt: counted, with what belongs to one attempt
    reset (metrics, intermediate values, pruning state, results); the start of the first
    attempt and the cost of every attempt are kept. `note` says why (e.g. a retry)."""
    return _copy(
        status,
        attempts=status.attempts + 1,
        state="Pending",
        reason=None,
        message=note,
        completion_time=None,
        metrics={},
        intermediate=[],
        last_intermediate={},
        pruning_state={},
        artifacts=[],
        values=None,
        feasible=None,
        violations={},
        summary=None,
    )


def started(status: TrialStatus, now: datetime) -> TrialStatus:
    """The attempt runs: `start_time` stays that of the trial's first attempt."""
    return _copy(
        status, state="Running", start_time=status.start_time or now, reason=None, message=None
    )


def start_attempt(status: TrialStatus, now: datetime) -> TrialStatus:
    """`started(begin_attempt(status), now)` in one copy: the next attempt, running."""
    s = begin_attempt(status)
    s.state, s.start_time = "Running", s.start_time or now
    return s


def end_attempt(
    spec: StudySpec,
    status: TrialStatus,
    outcome: AttemptOutcome,
    *,
    now: datetime,
    stopped: str | None = None,
) -> Transition:
    """The trial's status after an attempt ended as `outcome` says.

    `status` holds the attempt's intermediate values; `stopped` says why the study
    stopped, if a stop rule stopped it: a cancelled attempt needs it, and a failed attempt
    that would be retried is cancelled instead (it runs again when the study resumes).
    """
    s = _copy(status)
    if outcome.economics is not None:
        s.economics = add_attempt(s.economics, outcome.economics)
    if outcome.ending not in ("cancelled", "interrupted"):  # those keep what they had
        s.metrics = {k: v for k, v in outcome.metrics.items() if math.isfinite(v)}
        s.artifacts = list(outcome.artifacts)
    if outcome.ending == "interrupted":
        return Transition(interrupted(s, "stopped by an interrupt; re-runs on resume"))
    if outcome.ending == "cancelled":
        if stopped is None:
            raise ValueError("a cancelled attempt needs the reason its study stopped")
        return Transition(cancel(s, stopped))
    if outcome.ending == "pruned":
        return Transition(_finished(s, "Pruned", "Pruned", pruned_message(spec, s), now))
    failure = failure_of(spec, outcome)
    if failure is not None:
        retryable = outcome.ending != "refused"  # the same pod would be refused again
        return _failed(spec, s, *failure, now=now, stopped=stopped, retryable=retryable)
    judged = evaluation.evaluate(spec, s.metrics, outcome.economics, outcome.invalid)
    if judged.values is None:
        reason = judged.failure_reason or "MetricsMissing"
        message = judged.failure_message or "no objective values"
        if reason == "MetricsMissing" and outcome.problems:
            message += f"; {outcome.problems[0]}"
        return _failed(spec, s, reason, message, now=now, stopped=stopped, retryable=True)
    s.values, s.feasible, s.violations = judged.values, judged.feasible, dict(judged.violations)
    if judged.feasible:
        return Transition(_finished(s, "Succeeded", None, None, now))
    message = "infeasible: " + "; ".join(
        evaluation.violation_lines(spec, s.metrics, outcome.economics)
    )
    return Transition(_finished(s, "Succeeded", "Infeasible", message, now))


def cancel(status: TrialStatus, stopped: str) -> TrialStatus:
    """A trial a stop rule cancels (running or not yet started) because the study
    `stopped` (why, in a few words): Pending with reason `Cancelled`; not failed, and it
    runs again when the study resumes."""
    s = _copy(status)
    s.state, s.reason, s.message = "Pending", CANCELLED, f"cancelled: {stopped}"
    s.completion_time = None
    return s


def interrupted(status: TrialStatus, message: str) -> TrialStatus:
    """A trial whose attempt stopped with the run itself (local mode): it re-runs on
    resume and the stopped attempt uses up none of its retries."""
    s = _copy(status)
    s.state, s.reason, s.message = "Pending", INTERRUPTED, message
    s.completion_time = None
    return s


def waits_for_resume(state: str | None, reason: str | None) -> bool:
    """A cancelled trial: nothing runs for it until its study resumes."""
    return state == "Pending" and reason == CANCELLED


def resume(status: TrialStatus) -> TrialStatus:
    """A cancelled trial whose study resumed: its next attempt is due."""
    s = _copy(status)
    s.reason, s.message = RESUMED, "the study resumed: the trial runs again"
    return s


def needs_attempt(status: TrialStatus) -> bool:
    """Whether the trial's next attempt is due: none ran yet, the last one failed with
    retries left, or the trial was cancelled and its study resumed. (Its last attempt has
    been judged: judging it again would count it twice.)"""
    return status.state == "Pending" and (
        status.attempts == 0 or status.reason in (RETRYING, RESUMED)
    )


def _failed(
    spec: StudySpec,
    s: TrialStatus,
    reason: str,
    message: str,
    *,
    now: datetime,
    stopped: str | None,
    retryable: bool,
) -> Transition:
    """A failed attempt: retried while `trialTemplate.retries` allows, else Failed."""
    s.failures += 1
    if retryable and s.failures <= spec.trial_template.retries:
        if stopped is not None:
            return Transition(cancel(s, stopped))
        s.state, s.reason = "Pending", RETRYING
        s.message = f"attempt {s.attempts} failed ({reason}: {message}); retrying"
        return Transition(s, retry=True)
    return Transition(_finished(s, "Failed", reason, message, now))


def _finished(
    s: TrialStatus, state: str, reason: str | None, message: str | None, now: datetime
) -> TrialStatus:
    s.state = state  # type: ignore[assignment]
    s.reason, s.message = reason, message
    s.completion_time = now
    return s
