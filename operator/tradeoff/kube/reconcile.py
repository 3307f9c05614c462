"""Study reconciliation as a pure function of what is: the Study object and its Trials.

`plan_study` answers, from the objects alone, which Trials to create, what the Study's
status should read, and which Events tell users what changed. The caller does the I/O.
Because nothing here depends on the event that triggered it, a restarted operator takes
exactly the decisions a running one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tradeoff.api.errors import ManifestError
from tradeoff.api.status import StudyStatus
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial
from tradeoff.engine import Engine
from tradeoff.engine.progress import StopDecision, Summary
from tradeoff.engine.validation import choose_algorithm, validate_study
from tradeoff.kube.pods import MANAGED_BY, owner_reference
from tradeoff.kube.status import invalid_status, study_status

Obj = dict[str, Any]


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to record on the Study."""

    type: str
    reason: str
    message: str


@dataclass
class StudyPlan:
    """What to do for one Study now."""

    status: StudyStatus
    status_changed: bool
    new_trials: list[Obj] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    study: Study | None = None
    records: list[Trial] = field(default_factory=list)
    summary: Summary | None = None
    stop: StopDecision | None = None
    ask_seconds: float = 0.0
    algorithm: str | None = None


def previous_status(obj: Obj) -> StudyStatus:
    """The Study's current status, or a fresh one if it is missing or unreadable."""
    try:
        return StudyStatus.model_validate(obj.get("status") or {})
    except ValidationError:
        return StudyStatus()


def records_of(trial_objects: Sequence[Obj]) -> list[Trial]:
    """Trial records from Trial objects; objects that do not parse are skipped."""
    out: list[Trial] = []
    for obj in trial_objects:
        body = {k: obj[k] for k in ("apiVersion", "kind", "metadata", "spec", "status") if k in obj}
        try:
            out.append(Trial.model_validate(body))
        except ValidationError:
            continue
    return sorted(out, key=lambda r: r.number)


def trial_manifest(study: Study, uid: str, record: Trial) -> Obj:
    """A new Trial object, owned by its Study."""
    body: Obj = dict(record.wire())
    body.pop("status", None)
    meta = body["metadata"]
    meta["labels"] = {**MANAGED_BY, **(meta.get("labels") or {})}
    meta["ownerReferences"] = [owner_reference("Study", study.metadata.name, uid)]
    return body


def _changed(old: StudyStatus, new: StudyStatus) -> bool:
    return old.wire() != new.wire()


def final_stop(old: StudyStatus, generation: int | None) -> StopDecision | None:
    """The stop decision the Study recorded for this spec generation, if it ended.

    The first decision is final (as in local mode): trials it cancelled end Failed (say on
    a Timeout) and must not turn the outcome into another one. An edit of the spec (a new
    generation) decides afresh, so a larger `maxTrials` reopens the study.
    """
    if old.state not in ("Succeeded", "Failed"):
        return None
    for c in old.conditions:
        if c.type == old.state and c.status == "True" and c.observed_generation == generation:
            return StopDecision(old.state, c.reason, c.message, cancel_running=True)
    return None


def plan_study(obj: Obj, trial_objects: Sequence[Obj], now: datetime) -> StudyPlan:
    """The plan for one Study object and the Trial objects labelled with its name."""
    old = previous_status(obj)
    meta = obj.get("metadata") or {}
    generation = meta.get("generation")
    body = {k: v for k, v in obj.items() if k != "status"}
    try:
        study = validate_study(body, recorded=old.algorithm)
    except ManifestError as error:
        message = "; ".join(error.problems)
        status = invalid_status(old, message, generation=generation, now=now)
        events = [] if old.state == "Failed" else [Event("Warning", "InvalidSpec", message)]
        return StudyPlan(status, _changed(old, status), events=events)
    records = records_of(trial_objects)
    algorithm = choose_algorithm(study.spec, old.algorithm, now)
    engine = Engine(study.spec, algorithm.name)
    start = old.start_time or now
    elapsed = (now - start).total_seconds()
    stop = final_stop(old, generation) or engine.stop_decision(records, elapsed)
    plan = StudyPlan(old, False, study=study, records=records, stop=stop, algorithm=algorithm.name)
    if stop is None:
        count = engine.trials_to_start(records)
        suggestions = engine.ask(records, count)
        plan.ask_seconds = engine.last_ask_seconds if count else 0.0
        uid = str(meta.get("uid") or "")
        namespace = meta.get("namespace")
        for s in suggestions:
            record = Trial.new(
                study.metadata.name, s.number, s.parameters, s.sampler_state, namespace
            )
            plan.new_trials.append(trial_manifest(study, uid, record))
            record.status.state = "Pending"
            records.append(record)
    summary = engine.summarize(records)
    status = study_status(
        old,
        summary,
        stop,
        max_trials=study.spec.budget.max_trials,
        generation=generation,
        now=now,
    )
    status.algorithm = algorithm
    plan.status, plan.status_changed, plan.summary = status, _changed(old, status), summary
    plan.events = _events(old, status, stop)
    return plan


def _events(old: StudyStatus, new: StudyStatus, stop: StopDecision | None) -> list[Event]:
    events: list[Event] = []
    if old.state in ("Pending",) and new.state == "Running" and old.start_time is None:
        events.append(Event("Normal", "StudyStarted", new.message or "the study started"))
    if new.state != old.state and stop is not None:
        kind = "Normal" if stop.state == "Succeeded" else "Warning"
        reason = "StudySucceeded" if stop.state == "Succeeded" else "StudyFailed"
        text = stop.message
        if new.recommended_summary:
            text += f"; recommended: {new.recommended_summary}"
        events.append(Event(kind, reason, f"{stop.reason}: {text}"))
    return events
