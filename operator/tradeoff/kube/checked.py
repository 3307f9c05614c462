"""A Study's spec checked: valid, with a trial template the trial policy allows.

`checked_study` is the check itself; the Study's reconcile runs it on every pass. A
driver's step checks its Study (valid spec, a template the trial policy allows, the
algorithm its status recorded) at every look; the answer only changes with the Study's
generation or its recorded algorithm, so `CheckedStudies` keeps it per Study uid until
one of them does. The checked `Study` is shared by the drivers of that Study: they only
read it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pydantic import ValidationError

from tradeoff.api.errors import ManifestError
from tradeoff.api.policy import TrialPolicy, problem_lines
from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study
from tradeoff.engine.validation import validate_study

Obj = dict[str, Any]


def checked_study(obj: Obj, policy: TrialPolicy, recorded: AlgorithmChoice | None = None) -> Study:
    """The Study in `obj` if its spec is valid (with the algorithm `recorded` when it
    started) and its trial template meets the policy; ManifestError lists the problems,
    one line each."""
    study = validate_study({k: v for k, v in obj.items() if k != "status"}, recorded=recorded)
    problems = policy.trial_template_problems(study.spec.trial_template)
    if problems:
        raise ManifestError(problem_lines(problems))
    return study


def recorded_algorithm(obj: Obj) -> AlgorithmChoice | None:
    """The algorithm the Study's status recorded (None if none, or unreadable)."""
    raw = (obj.get("status") or {}).get("algorithm")
    if raw is None:
        return None
    try:
        return AlgorithmChoice.model_validate(raw)
    except ValidationError:
        return None


class CheckedStudies:
    """The last check of each Study, by uid: a `Study`, or the `ManifestError` it raised."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[tuple[Any, ...], Study | ManifestError]] = {}
        self._guard = threading.Lock()

    def check(self, obj: Obj, policy: TrialPolicy) -> tuple[Study, AlgorithmChoice | None]:
        """The Study in `obj` and its recorded algorithm; ManifestError as `checked_study`."""
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        raw = (obj.get("status") or {}).get("algorithm")
        key = (meta.get("generation"), json.dumps(raw, sort_keys=True), id(policy))
        with self._guard:
            kept = self._kept.get(uid)
        recorded = recorded_algorithm(obj)
        if kept is None or kept[0] != key or not uid:
            try:
                result: Study | ManifestError = checked_study(obj, policy, recorded)
            except ManifestError as error:
                result = error
            with self._guard:
                self._kept[uid] = (key, result)
        else:
            result = kept[1]
        if isinstance(result, ManifestError):
            raise result
        return result, recorded

    def forget(self, uid: str) -> None:
        with self._guard:
            self._kept.pop(uid, None)
