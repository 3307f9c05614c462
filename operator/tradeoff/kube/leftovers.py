"""Workloads left running for trials that no longer want them (after a crash).

A trial's driver deletes the workload of an attempt it prunes or cancels just after it
records that; an operator killed between the two (or a delete the API failed) leaves the
workload, and the pods it runs, behind. The Study's pass finds them as it finds leftover
trial pods: a workload whose controller is one of the Study's own Trials, that has not
ended (by its kind's or the template's conditions) nor is being deleted, and whose trial
is finished (or waits to be resumed) or has moved past its attempt, is deleted. A workload
of an attempt not yet counted is never touched: the driver adopts it (its create answers
409), so no attempt ever gets a second one.

Workloads are not watched: a Study's are listed (one call) when its trials changed (one
finished or began an attempt) or `RESYNC` seconds passed, not at every pass; an API error
(say, `list` not granted) is logged and the pass goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from kubernetes.client.exceptions import ApiException

from tradeoff.api.study import Study
from tradeoff.api.trial import FINISHED_STATES, STUDY_LABEL, Trial
from tradeoff.api.workload import Workload
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.kube.client import Kube, Obj
from tradeoff.kube.ownership import controller_of
from tradeoff.kube.pods import ATTEMPT_LABEL
from tradeoff.kube.workloads import workload_state

__all__ = [
    "RESYNC",
    "WorkloadSweeps",
    "attempt_position",
    "attempt_positions",
    "clean_workloads",
    "leftovers",
]

log = logging.getLogger("tradeoff.operator")
RESYNC = 300.0
"""Seconds after which a Study's workloads are listed again though its trials did not
change (a delete that failed is tried again then)."""

Positions = Mapping[str, tuple[bool, int]]
"""Trial uid -> (whether it wants no attempt running, its recorded attempts)."""


def attempt_positions(trials: list[Trial]) -> dict[str, tuple[bool, int]]:
    """Where each Trial stands (a Trial made by this very pass has no uid yet: left out)."""
    out: dict[str, tuple[bool, int]] = {}
    for t in trials:
        uid = (t.metadata.model_extra or {}).get("uid")
        if uid is not None:
            out[str(uid)] = attempt_position(t)
    return out


def attempt_position(trial: Trial) -> tuple[bool, int]:
    """(whether the trial is done: finished or cancelled, its attempts so far)."""
    done = trial.state in FINISHED_STATES or waits_for_resume(trial.state, trial.status.reason)
    return done, trial.status.attempts


def _attempt(obj: Obj) -> int | None:
    text = ((obj.get("metadata") or {}).get("labels") or {}).get(ATTEMPT_LABEL, "")
    return int(text) if str(text).isdigit() else None


def leftovers(workload: Workload, positions: Positions, objects: list[Obj]) -> list[str]:
    """Names of the workloads among `objects` to delete (see the module's docstring)."""
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        owner = str((controller_of(obj) or {}).get("uid"))
        attempt = _attempt(obj)
        if owner not in positions or attempt is None or meta.get("deletionTimestamp"):
            continue
        done, attempts = positions[owner]
        if (done or attempt < attempts) and not workload_state(workload, obj).ended:
            out.append(str(meta.get("name")))
    return sorted(out)


class WorkloadSweeps:
    """When each Study's workloads were last listed, and where its trials stood then."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[frozenset[tuple[str, bool, int]], float]] = {}
        self._guard = threading.Lock()

    def due(self, key: tuple[str, str], positions: Positions) -> bool:
        """Whether to list now (and, if so, note that it is done)."""
        seen = frozenset((uid, done, n) for uid, (done, n) in positions.items())
        now = time.monotonic()
        with self._guard:
            last = self._last.get(key)
            if last is not None and last[0] == seen and now - last[1] < RESYNC:
                return False
            self._last[key] = (seen, now)
            return True

    def forget(self, key: tuple[str, str]) -> None:
        """Drop what is kept of a Study (gone, or to be looked at again)."""
        with self._guard:
            self._last.pop(key, None)


def clean_workloads(
    kube: Kube,
    resources: Mapping[tuple[str, str], str],
    sweeps: WorkloadSweeps,
    namespace: str,
    study: Study,
    trials: list[Trial],
) -> None:
    """Delete the Study's leftover workloads, if its trials changed since the last look.

    `resources` maps (apiVersion, kind) to the resource (plural) of each allowed kind."""
    workload = study.spec.trial_template.workload
    plural = resources.get((workload.api_version, workload.kind)) if workload else None
    if workload is None or plural is None:
        return
    positions = attempt_positions(trials)
    if not sweeps.due((namespace, study.metadata.name), positions):
        return
    selector = f"{STUDY_LABEL}={study.metadata.name}"
    try:
        objects = kube.list_workloads(workload.api_version, plural, namespace, selector)
        for name in leftovers(workload, positions, objects):
            log.info("Deleting leftover %s %s/%s", workload.kind, namespace, name)
            kube.delete_workload(workload.api_version, plural, namespace, name)
    except ApiException as error:  # say, no `list` granted: the study's pass goes on
        log.warning(
            "Cannot look for leftover %s of study %s/%s (%s %s); looking again later",
            workload.kind, namespace, study.metadata.name, error.status, error.reason,
        )  # fmt: skip
    except BaseException:  # the API unreachable: the pass fails and is retried, so is this
        sweeps.forget((namespace, study.metadata.name))
        raise
