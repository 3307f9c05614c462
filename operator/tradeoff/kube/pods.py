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
from tradeoff.kube.artifact_storage import (
    ARTIFACTS_PATH,
    ARTIFACTS_VOLUME,
    ArtifactStore,
    add_artifact_storage,
    storage_problems,
)

__all__ = [
    "ARTIFACTS_PATH",
    "ARTIFACTS_VOLUME",
    "ATTEMPT_LABEL",
    "MANAGED_BY",
    "artifact_dir",
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
    artifacts: ArtifactStore | None = None,
) -> dict[str, Any]:
    """The Pod manifest for attempt `attempt` (from 1) of `trial`.

    With `artifacts` (a claim's name or a bucket), the primary container gets the folder
    `artifact_dir(...)` of that store (`add_artifact_storage`): its own, so a retry never
    overwrites an earlier attempt's files; a template that reaches the store itself (the
    claim, its volume name or path, the bucket's variables) is refused.

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
    problems: list[tuple[str, str]] = []
    if artifacts is not None:
        problems += storage_problems(spec, artifacts)
        namespace = trial.metadata.namespace or study.metadata.namespace or "default"
        where = artifact_dir(study.metadata.name, name, attempt)
        add_artifact_storage(spec, primary, artifacts, namespace, where)
    spec = harden(spec)
    problems += (policy or TrialPolicy()).check(spec, "spec")
    if problems:
        raise PolicyViolation(problems)
    return pod_manifest(study, trial, trial_uid, attempt, spec)


def pod_manifest(
    study: Study, trial: Trial, trial_uid: str, attempt: int, spec: dict[str, Any]
) -> dict[str, Any]:
    """The Pod of attempt `attempt` of `trial` around `spec`: its name, labels and owner."""
    name = trial.metadata.name
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


def artifact_dir(study: str, trial: str, attempt: int) -> str:
    """An attempt's artifact folder, relative to the claim's root or the namespace's folder
    of the bucket (names are DNS labels)."""
    return f"{study}/{trial}/a{attempt}"


def primary_container(study: Study) -> str:
    """Name of the container whose output holds the metrics."""
    template = study.spec.trial_template
    return str(template.primary_pod["containers"][template.primary_index()]["name"])
