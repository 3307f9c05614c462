"""Where a study stands: counts, stop rules, how many trials to start, and its summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tradeoff.api.status import StudyState, TrialCounts
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import MAX_TRIAL_NUMBER, Trial
from tradeoff.engine.lifecycle import CANCELLED
from tradeoff.engine.pareto import completed
from tradeoff.engine.summary import (  # re-exported: the summary is part of where a study stands
    Summary,
    exact_total,
    summarize,
    summary_of,
    tally_records,
    totals_of,
)

__all__ = [
    "ACTIVE_STATES",
    "StopDecision",
    "Summary",
    "counts",
    "decide",
    "exact_total",
    "goal_reached",
    "kind",
    "meets_goal",
    "running_best",
    "slots",
    "stop_decision",
    "summarize",
    "summary_of",
    "totals_of",
    "trials_to_start",
]

ACTIVE_STATES = ("Pending", "Running")


@dataclass(frozen=True)
class StopDecision:
    """The study is over (or must wind down): its final state and why.

    With `cancel_running`, trials still pending or running are cancelled
    (`lifecycle.cancel`): they run again if the study resumes.
    """

    state: StudyState
    reason: str
    message: str
    cancel_running: bool = False


def counts(records: Sequence[Trial]) -> TrialCounts:
    """Trials by state; cancelled ones (Pending until the study resumes) apart."""
    return tally_records(records).counts


def kind(record: Trial) -> str:
    """What `counts` counts the record as: its state, or "Cancelled"."""
    s = record.status
    return "Cancelled" if s.state == "Pending" and s.reason == CANCELLED else s.state


def goal_reached(spec: StudySpec, records: Sequence[Trial]) -> Trial | None:
    """The first feasible succeeded trial meeting every goal value, if any."""
    if not spec.goal:
        return None
    return next((r for r in completed(records) if meets_goal(spec, r)), None)


def meets_goal(spec: StudySpec, record: Trial) -> bool:
    """Whether `record` is a feasible succeeded trial meeting every goal value."""
    s = record.status
    if not spec.goal or s.state != "Succeeded" or s.values is None or s.feasible is False:
        return False
    values = dict(zip(spec.objective_names, s.values, strict=True))
    directions = {o.name: o.direction for o in spec.objectives}
    return all(
        (values[n] >= g) if directions[n] == "maximize" else (values[n] <= g)
        for n, g in spec.goal.items()
    )


def stop_decision(
    spec: StudySpec,
    records: Sequence[Trial],
    *,
    elapsed_seconds: float | None = None,
    exhausted: bool = False,
) -> StopDecision | None:
    """Whether the study's search is finished (or must stop), by the budget and goal rules
    (an Ensemble trial is no part of the search: `ensembles.due`)."""
    records = [r for r in records if r.spec.kind != "Ensemble"]
    return decide(
        spec,
        counts(records),
        goal_reached(spec, records),
        elapsed_seconds=elapsed_seconds,
        exhausted=exhausted,
    )


def decide(
    spec: StudySpec,
    c: TrialCounts,
    hit: Trial | None,
    *,
    elapsed_seconds: float | None = None,
    exhausted: bool = False,
    numbered_out: bool = False,
) -> StopDecision | None:
    """`stop_decision` from the search's counts and the first trial that met the goal;
    `numbered_out`: a record holds the last trial number, so no trial can be made."""
    active = c.pending + c.running + c.cancelled  # cancelled trials still have to run
    budget = spec.budget
    if c.failed >= budget.max_failed_trials:
        return StopDecision(
            "Failed",
            "TooManyFailedTrials",
            f"{c.failed} trials failed (maxFailedTrials is {budget.max_failed_trials})",
            cancel_running=True,
        )
    if hit is not None:
        return StopDecision(
            "Succeeded",
            "GoalReached",
            f"trial {hit.metadata.name} met the goal",
            cancel_running=True,
        )
    # Nothing left to run is why the study ended, however late it is looked at (a finished
    # study run again after its timeout still ended by its budget); the timeout is the
    # reason only when it cut something short.
    if active == 0 and exhausted:
        return _ended(c, "SearchSpaceExhausted", "every configuration has been tried", False)
    if active == 0 and c.created >= budget.max_trials:
        return _ended(c, "MaxTrialsReached", f"all {budget.max_trials} trials ran", False)
    timeout = budget.timeout_seconds
    if timeout is not None and elapsed_seconds is not None and elapsed_seconds >= timeout:
        return _ended(c, "Timeout", f"the study's timeout of {budget.timeout} ran out", True)
    if active == 0 and numbered_out:
        return StopDecision(
            "Failed",
            "TrialNumbersUsedUp",
            f"a trial holds number {MAX_TRIAL_NUMBER:,}, the last there is (made by hand?):"
            " no further trial can be numbered",
        )
    return None


def _ended(c: TrialCounts, reason: str, message: str, cancel: bool) -> StopDecision:
    if c.succeeded == 0:
        return StopDecision(
            "Failed", "NoTrialSucceeded", f"{message}, but no trial succeeded", cancel
        )
    return StopDecision("Succeeded", reason, message, cancel)


def trials_to_start(spec: StudySpec, records: Sequence[Trial]) -> int:
    """New trials to create now: free parallel slots, within the trial budget."""
    return slots(spec, counts([r for r in records if r.spec.kind != "Ensemble"]))


def slots(spec: StudySpec, c: TrialCounts) -> int:
    """`trials_to_start` from the search's counts."""
    free = spec.budget.parallelism - (c.pending + c.running + c.cancelled)
    return max(0, min(free, spec.budget.max_trials - c.created))


def running_best(spec: StudySpec, records: Sequence[Trial], index: int) -> list[tuple[int, float]]:
    """(trial number, best value so far) of objective `index` after each feasible succeeded
    trial, by number: infeasible trials never count, as in `Summary.best`."""
    better = max if spec.objectives[index].direction == "maximize" else min
    out: list[tuple[int, float]] = []
    for r in sorted(completed(records), key=lambda r: r.number):
        value = (r.status.values or [])[index]
        out.append((r.number, value if not out else better(out[-1][1], value)))
    return out
