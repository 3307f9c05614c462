"""The pod of one trial attempt, built as data (no API calls).

The template's PodSpec with `${params.NAME}` substituted (`render_pod_spec`), plus what the
operator needs: the owner reference to the Trial, the study/trial labels, `restartPolicy:
Never`, the attempt deadline, a termination message path, and (where the template does not
say otherwise) the settings of the "restricted" Pod Security profile. `harden` is
re-exported from `tradeoff.api.policy`, where the trial policy lives.
"""

from __future__ import annotations

from typing import Any

from tradeoff.api.policy import PolicyViolation, TrialPolicy, harden
from tradeoff.api.study import API_VERSION, Study
from tradeoff.api.template import TERMINATION_LOG, render_pod_spec
from tradeoff.api.trial import STUDY_LABEL, TRIAL_LABEL, Trial

__all__ = [
    "ATTEMPT_LABEL",
    "MANAGED_BY",
    "build_pod",
    "harden",
    "owner_reference",
    "pod_name",
    "primary_container",
]

ATTEMPT_LABEL = "tradeoff.dev/attempt"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tradeoff"}


def pod_name(trial: str, attempt: int) -> str:
    """Deterministic pod name of an attempt (from 1): `<trial>-a<attempt>`."""
    return f"{trial}-a{attempt}"


def owner_reference(
    kind: str, name: str, uid: str, api_version: str = API_VERSION
) -> dict[str, Any]:
    """A controller owner reference (deleting the owner deletes the dependent)."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_pod(
    study: Study,
    trial: Trial,
    trial_uid: str,
    attempt: int,
    policy: TrialPolicy | None = None,
) -> dict[str, Any]:
    """The Pod manifest for attempt `attempt` (from 1) of `trial`.

    Raises `PolicyViolation` if the pod, as it would be created, breaks the trial policy
    (default: restricted, service account `default`): the Study was checked before, and
    this check makes sure nothing the policy refuses is ever created.
    """
    template = study.spec.trial_template
    name = trial.metadata.name
    spec = render_pod_spec(
        template,
        trial.spec.parameters,
        study=study.metadata.name,
        trial=name,
        number=trial.number,
    )
    spec["restartPolicy"] = "Never"
    deadline = template.active_deadline_seconds
    if deadline is not None:
        spec["activeDeadlineSeconds"] = max(1, int(deadline))
    primary = spec["containers"][template.primary_index()]
    primary.setdefault("terminationMessagePath", TERMINATION_LOG)
    primary.setdefault("terminationMessagePolicy", "FallbackToLogsOnError")
    spec = harden(spec)
    problems = (policy or TrialPolicy()).check(spec, "spec")
    if problems:
        raise PolicyViolation(problems)
    labels = {
        **MANAGED_BY,
        STUDY_LABEL: study.metadata.name,
        TRIAL_LABEL: name,
        ATTEMPT_LABEL: str(attempt),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(name, attempt),
            "namespace": trial.metadata.namespace or study.metadata.namespace,
            "labels": labels,
            "ownerReferences": [owner_reference("Trial", name, trial_uid)],
        },
        "spec": spec,
    }


def primary_container(study: Study) -> str:
    """Name of the container whose output holds the metrics."""
    template = study.spec.trial_template
    return str(template.primary_pod["containers"][template.primary_index()]["name"])
