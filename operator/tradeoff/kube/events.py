"""Which Events tell users how a trial ended (pure: references and messages as data)."""

from __future__ import annotations

from typing import Any

from tradeoff.api.study import Study
from tradeoff.api.trial import Trial
from tradeoff.kube.reconcile import Event

Obj = dict[str, Any]


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
