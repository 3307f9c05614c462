"""Which Events tell users what happened (pure: references and messages as data).

A Study's Events come from comparing its status before and after a reconcile (it
started, it ended, the next trial's name is taken); a trial's from how it ended. The
caller records them; nothing here talks to the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tradeoff.api.status import Condition, StudyStatus
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial
from tradeoff.engine.progress import StopDecision

Obj = dict[str, Any]


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to record on the Study."""

    type: str
    reason: str
    message: str


def study_events(old: StudyStatus, new: StudyStatus, stop: StopDecision | None) -> list[Event]:
    """Events for what changed between a Study's `old` and `new` status."""
    events: list[Event] = []
    was, now = _blocked(old), _blocked(new)
    if now is not None and (was is None or was.message != now.message):
        events.append(Event("Warning", "TrialNameTaken", now.message))
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


def _blocked(status: StudyStatus) -> Condition | None:
    found = next((c for c in status.conditions if c.type == "Blocked"), None)
    return found if found is not None and found.status == "True" else None


def object_ref(obj: Study | Trial, namespace: str) -> Obj:
    """The minimal object an Event's `involvedObject` is built from."""
    if isinstance(obj, Study):
        name, uid = obj.metadata.name, obj.metadata.uid
    else:
        name, uid = obj.metadata.name, (obj.metadata.model_extra or {}).get("uid")
    return {
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
    }


def trial_outcome_events(study: Study, trial: Trial, namespace: str) -> list[tuple[Obj, Event]]:
    """Events for a finished trial: on the Trial always, on the Study when it failed."""
    s = trial.status
    on_trial = object_ref(trial, namespace)
    if s.state == "Succeeded":
        names = study.spec.objective_names
        text = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, s.values or [], strict=False))
        return [(on_trial, Event("Normal", "TrialSucceeded", text))]
    text = f"{s.reason}: {s.message}" if s.message else str(s.reason)
    kind = "Warning" if s.state == "Failed" else "Normal"
    out = [(on_trial, Event(kind, f"Trial{s.state}", text))]
    if s.state == "Failed":
        name = trial.metadata.name
        out.append(
            (object_ref(study, namespace), Event("Warning", "TrialFailed", f"{name}: {text}"))
        )
    return out
