"""Which Trial objects count for a Study: only those the operator made for it.

Labels are a query, not a proof: anyone who may create Trials can label one for any
Study. A Trial counts only when its controller owner reference names the Study by uid,
which is what the operator writes when it creates one (`reconcile.trial_manifest`).
Every place that reads Trials for a Study (the Study's reconcile, the trial driver, the
pruner's view of the other trials, pod clean-up) asks this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tradeoff.api.study import GROUP

Obj = dict[str, Any]

__all__ = ["controller_of", "foreign_message", "owned_by", "split_owned"]


def controller_of(obj: Obj) -> Obj | None:
    """The object's controller owner reference, if it has one."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            return ref
    return None


def owned_by(trial: Obj, study_uid: str) -> bool:
    """Whether `trial` is controlled by the Study whose uid is `study_uid`."""
    ref = controller_of(trial)
    return (
        bool(study_uid)
        and ref is not None
        and ref.get("kind") == "Study"
        and str(ref.get("apiVersion", "")).split("/")[0] == GROUP
        and ref.get("uid") == study_uid
    )


def split_owned(trials: Iterable[Obj], study_uid: str) -> tuple[list[Obj], list[Obj]]:
    """(the Study's own Trials, the others) among `trials`."""
    own: list[Obj] = []
    foreign: list[Obj] = []
    for trial in trials:
        (own if owned_by(trial, study_uid) else foreign).append(trial)
    return own, foreign


def foreign_message(trial_name: str, study_name: str) -> str:
    """What a Warning Event says about a Trial the operator did not make for a Study."""
    return (
        f"trial {trial_name} is not controlled by study {study_name} (its controller "
        "ownerReference does not carry the study's uid): ignored, and no pod is run for it"
    )
