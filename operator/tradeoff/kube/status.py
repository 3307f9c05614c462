"""Study and Trial status as data: conditions in the Kubernetes conventions, summaries.

A condition's `lastTransitionTime` changes only when its status flips, and the list is
rewritten only when something in it changed, so status writes stay rare and meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from tradeoff.api.status import Condition, Recommendation, StudyStatus, Totals
from tradeoff.engine.progress import StopDecision, Summary

ConditionStatus = Literal["True", "False", "Unknown"]


def set_condition(
    conditions: Sequence[Condition],
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """`conditions` with `type` set; an unchanged condition keeps its object and time."""
    out: list[Condition] = []
    found = False
    for c in conditions:
        if c.type != type:
            out.append(c)
            continue
        found = True
        if (c.status, c.reason, c.message, c.observed_generation) == (
            status,
            reason,
            message,
            generation,
        ):
            out.append(c)
            continue
        when = c.last_transition_time if c.status == status else now
        out.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=when,
                observed_generation=generation,
            )
        )
    if not found:
        out.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=now,
                observed_generation=generation,
            )
        )
    return out


def get_condition(conditions: Sequence[Condition], type: str) -> Condition | None:
    return next((c for c in conditions if c.type == type), None)


def _number(value: float) -> str:
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.3g}"
    return f"{value:.4g}"


def values_summary(names: list[str], values: list[float] | None) -> str | None:
    """Objective values in one line: `accuracy=0.97 cost=0.0004`."""
    if values is None:
        return None
    return " ".join(f"{k}={_number(v)}" for k, v in zip(names, values, strict=False))


def spent_summary(totals: Totals) -> str:
    """What a study has cost so far in one line: `$0.0021 0.082 gCO2e`."""
    return f"${_number(totals.cost_usd)} {_number(totals.carbon_grams)} gCO2e"


def recommended_summary(recommended: Recommendation | None) -> str | None:
    """The recommended trial in one line: `quickstart-0007 accuracy=0.97 cost=0.0004`."""
    if recommended is None:
        return None
    values = " ".join(f"{k}={_number(v)}" for k, v in recommended.values.items())
    return f"{recommended.trial} {values}".strip()


MAX_PROBLEM_LINES = 20
"""Lines of problems a Study's status holds at most (a status must stay small)."""


def problems_message(problems: Sequence[str]) -> str:
    """One line per problem, at most `MAX_PROBLEM_LINES` of them."""
    lines = list(problems[:MAX_PROBLEM_LINES])
    if len(problems) > MAX_PROBLEM_LINES:
        more = len(problems) - MAX_PROBLEM_LINES
        lines.append(f"... and {more} more (`tradeoff validate` lists every problem)")
    return "\n".join(lines)


def invalid_status(
    previous: StudyStatus, message: str, *, generation: int | None, now: datetime
) -> StudyStatus:
    """The status of a Study whose spec the models refuse."""
    status = previous.model_copy(deep=True)
    conditions = set_condition(
        status.conditions, "Valid", "False", "InvalidSpec", message, generation=generation, now=now
    )
    conditions = set_condition(
        conditions, "Failed", "True", "InvalidSpec", message, generation=generation, now=now
    )
    status.conditions = conditions
    status.state = "Failed"
    status.observed_generation = generation
    status.message = message
    status.completion_time = status.completion_time or now
    return status


def waiting_status(
    previous: StudyStatus, message: str, *, generation: int | None, now: datetime
) -> StudyStatus:
    """The status of a Study that waits for the Studies it warm-starts from to end."""
    status = previous.model_copy(deep=True)
    status.conditions = set_condition(
        status.conditions,
        "WarmStartReady",
        "False",
        "WaitingForSource",
        message,
        generation=generation,
        now=now,
    )
    status.observed_generation = generation
    status.message = message
    return status


def study_status(
    previous: StudyStatus,
    summary: Summary,
    stop: StopDecision | None,
    *,
    max_trials: int,
    generation: int | None,
    now: datetime,
) -> StudyStatus:
    """The observed state of a valid Study from its summary and the stop decision."""
    status = previous.model_copy(deep=True)
    c = summary.counts
    finished = c.succeeded + c.failed + c.pruned
    status.trials = c
    status.progress = f"{finished}/{max_trials}"
    status.ensemble = summary.ensemble
    status.pareto_front = summary.front
    status.recommended = summary.recommended
    status.recommended_summary = recommended_summary(summary.recommended)
    status.hypervolume = summary.hypervolume
    status.totals = summary.totals
    status.spent = spent_summary(summary.totals)
    status.observed_generation = generation
    status.start_time = status.start_time or now
    cond = status.conditions
    cond = set_condition(
        cond, "Valid", "True", "SpecAccepted", "the spec is valid", generation=generation, now=now
    )
    if stop is None:
        state = "Running" if c.created > 0 else "Pending"
        status.state = state  # type: ignore[assignment]
        status.completion_time = None
        status.message = f"{c.running + c.pending} running, {finished} of {max_trials} finished"
        cond = set_condition(
            cond, "Running", "True", "TrialsRunning", status.message, generation=generation, now=now
        )
        for type in ("Succeeded", "Failed"):
            if get_condition(cond, type) is not None:
                cond = set_condition(
                    cond,
                    type,
                    "False",
                    "Resumed",
                    "the study runs again",
                    generation=generation,
                    now=now,
                )
    else:
        other = "Failed" if stop.state == "Succeeded" else "Succeeded"
        status.state = stop.state
        status.completion_time = status.completion_time or now
        status.message = stop.message
        cond = set_condition(
            cond, "Running", "False", stop.reason, stop.message, generation=generation, now=now
        )
        cond = set_condition(
            cond, stop.state, "True", stop.reason, stop.message, generation=generation, now=now
        )
        if get_condition(cond, other) is not None:
            cond = set_condition(
                cond, other, "False", stop.reason, stop.message, generation=generation, now=now
            )
        if stop.reason == "GoalReached":
            cond = set_condition(
                cond,
                "GoalReached",
                "True",
                stop.reason,
                stop.message,
                generation=generation,
                now=now,
            )
    status.conditions = cond
    return status


def blocked_status(
    status: StudyStatus, blocked: str | None, *, generation: int | None, now: datetime
) -> StudyStatus:
    """`status` saying whether the Study waits for a trial name that a Trial it does not
    control holds (condition `Blocked`; the operator never adopts such a Trial)."""
    if blocked is None:
        found = get_condition(status.conditions, "Blocked")
        if found is None or found.status == "False":
            return status
        status.conditions = set_condition(
            status.conditions,
            "Blocked",
            "False",
            "TrialNameFree",
            "the next trial name is free",
            generation=generation,
            now=now,
        )
        return status
    message = (
        f"trial name {blocked} is taken by a Trial this study does not control; "
        "no more trials start until that Trial is deleted"
    )
    status.conditions = set_condition(
        status.conditions,
        "Blocked",
        "True",
        "TrialNameTaken",
        message,
        generation=generation,
        now=now,
    )
    status.message = message
    return status
