"""The workload of one trial attempt (a Job, JobSet, PyTorchJob, TrainJob, ...) as data.

Like a trial pod, it is named `<trial>-a<attempt>`, owned by the Trial and labelled with
the study, trial and attempt. Every pod template in it gets those labels too (the primary
one also `tradeoff.dev/primary`), `${params.NAME}` substituted as in a pod, the secure
defaults filled in and the trial policy checked, so the pods it makes are what a trial pod
would be, and the operator finds "every pod the workload ran" by label. References are
substituted in the rest of the spec too (replica counts, `numNodes`, ...: see
`tradeoff.api.workload_values`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tradeoff.api.policy import PolicyViolation, TrialPolicy, harden
from tradeoff.api.study import Study
from tradeoff.api.template import TERMINATION_LOG, render_spec
from tradeoff.api.trial import STUDY_LABEL, TRIAL_LABEL, Trial
from tradeoff.api.workload import Workload, trainer_container
from tradeoff.api.workload_kinds import builtin_kind, get_path
from tradeoff.api.workload_values import SubstitutionTooLarge, not_walked, substitute_workload
from tradeoff.kube.artifact_storage import ArtifactStore, add_artifact_storage, storage_problems
from tradeoff.kube.pods import ATTEMPT_LABEL, MANAGED_BY, artifact_dir, owner_reference, pod_name

__all__ = [
    "PRIMARY_LABEL",
    "QUEUE_LABEL",
    "WAITING_FOR_QUOTA",
    "WorkloadState",
    "build_workload",
    "pod_selector",
    "primary_pod",
    "workload_state",
]

PRIMARY_LABEL = "tradeoff.dev/primary"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
WAITING_FOR_QUOTA = "WaitingForQuota"
"""Reason of a trial whose workload Kueue keeps suspended."""
_JOBSET_NAME = "jobset.sigs.k8s.io/jobset-name"
TRAINER_NODE = "node"
"""The job (and container) of a TrainJob's runtime that runs the trainer."""


def build_workload(
    study: Study,
    trial: Trial,
    trial_uid: str,
    attempt: int,
    policy: TrialPolicy | None = None,
    artifacts: ArtifactStore | None = None,
) -> dict[str, Any]:
    """The manifest of attempt `attempt` (from 1); PolicyViolation if a pod template, as it
    will be created, breaks the trial policy (or the substituted spec is too large).

    References are substituted first (`substitute_workload` outside the pod templates, each
    pod template as a trial pod's), then every pod template is hardened and checked: no
    parameter value reaches the policy unchecked. With `artifacts` (a claim or a bucket) the
    primary pod template's primary container gets the artifact storage as a trial pod's does
    (a TrainJob's trainer, through the runtime's `node` job: `_render_trainer`)."""
    template = study.spec.trial_template
    workload = template.workload
    assert workload is not None
    name = trial.metadata.name
    labels = {
        **MANAGED_BY,
        STUDY_LABEL: study.metadata.name,
        TRIAL_LABEL: name,
        ATTEMPT_LABEL: str(attempt),
    }
    namespace = trial.metadata.namespace or study.metadata.namespace or "default"
    body: dict[str, Any] = {"spec": copy.deepcopy(workload.spec)}
    context = {"study": study.metadata.name, "trial": name, "number": trial.number}
    params = trial.spec.parameters
    skip = not_walked(workload.api_version, workload.kind, body, workload.pod_templates)
    try:
        substitute_workload(
            body, skip, params, study=study.metadata.name, trial=name, number=trial.number
        )
    except SubstitutionTooLarge as error:
        raise PolicyViolation([(error.path, error.message)]) from None
    primary = workload.primary_template()
    problems = []
    for found in workload.templates():
        pod_template = get_path(body, found.path)
        if not isinstance(pod_template, dict):  # a list element left out moved it
            raise PolicyViolation([(found.path, "holds no pod template once substituted")])
        is_primary = primary is not None and found.path == primary.path
        template_meta = pod_template.setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
        if is_primary:
            template_meta["labels"][PRIMARY_LABEL] = "true"
        index = template.primary_index() if is_primary else None
        spec = render_spec(pod_template.get("spec") or {}, index, params, **context)  # type: ignore[arg-type]
        spec.setdefault("restartPolicy", "Never")
        if template.active_deadline_seconds is not None:  # each pod's, as a trial pod's
            spec.setdefault("activeDeadlineSeconds", max(1, int(template.active_deadline_seconds)))
        where = f"{found.path}.spec"
        if artifacts is not None:  # no template may reach the store on its own
            found_problems = storage_problems(spec, artifacts)
            problems += [(where + path[len("spec") :], m) for path, m in found_problems]
        if index is not None:
            container = spec["containers"][index]
            container.setdefault("terminationMessagePath", TERMINATION_LOG)
            container.setdefault("terminationMessagePolicy", "FallbackToLogsOnError")
            if artifacts is not None:
                folder = artifact_dir(study.metadata.name, name, attempt)
                add_artifact_storage(spec, container, artifacts, namespace, folder)
        pod_template["spec"] = harden(spec)
        problems += (policy or TrialPolicy()).check(pod_template["spec"], where)
    if workload.is_trainjob:
        index, folder = template.primary_index(), artifact_dir(study.metadata.name, name, attempt)
        problems += _render_trainer(body, index, params, context, artifacts, namespace, folder)
    if problems:
        raise PolicyViolation(problems)
    meta: dict[str, Any] = {
        "name": pod_name(name, attempt),
        "namespace": trial.metadata.namespace or study.metadata.namespace,
        "labels": dict(labels),
        "ownerReferences": [owner_reference("Trial", name, trial_uid)],
    }
    if workload.queue_name is not None:
        meta["labels"][QUEUE_LABEL] = workload.queue_name
        _set_suspend(body, workload, True)
    return {"apiVersion": workload.api_version, "kind": workload.kind, "metadata": meta, **body}


def _render_trainer(
    body: dict[str, Any],
    index: int,
    params: Any,
    context: dict[str, Any],
    artifacts: ArtifactStore | None,
    namespace: str,
    folder: str,
) -> list[tuple[str, str]]:
    """Render a TrainJob's trainer as the container it becomes; with `artifacts`, give it
    the storage: its variables on the trainer, a claim's volume and mount through
    `podTemplateOverrides` of the runtime's `node` job. The problems of the trainer."""
    trainer = body["spec"].setdefault("trainer", {})
    pod = render_spec({"containers": [trainer_container(body["spec"])]}, index, params, **context)
    container = pod["containers"][0]
    problems = []
    if artifacts is not None:
        found = storage_problems(pod, artifacts)
        problems = [(p.replace("spec.containers[0]", "spec.trainer"), m) for p, m in found]
        add_artifact_storage(pod, container, artifacts, namespace, folder)
    for field in ("command", "args", "env"):
        if field in container:
            trainer[field] = container[field]
    if "resources" in container:
        trainer["resourcesPerNode"] = container["resources"]
    if pod.get("volumes"):  # the operator's own override; a template may give none
        mounts = {"name": TRAINER_NODE, "volumeMounts": container["volumeMounts"]}
        override = {"volumes": pod["volumes"], "containers": [mounts]}
        body["spec"]["podTemplateOverrides"] = [
            {"targetJobs": [{"name": TRAINER_NODE}], "spec": override}
        ]
    return problems


def _set_suspend(body: dict[str, Any], workload: Workload, value: bool) -> None:
    known = builtin_kind(workload.api_version, workload.kind)
    assert known is not None  # the model refuses queueName for other kinds
    *parents, last = known.suspend
    current = body
    for key in parents:
        current = current.setdefault(key, {})
    current[last] = value


@dataclass(frozen=True)
class WorkloadState:
    """What the workload object says: ended (and how), or suspended, or running."""

    succeeded: bool
    failed: bool
    suspended: bool
    message: str

    @property
    def ended(self) -> bool:
        return self.succeeded or self.failed


def workload_state(workload: Workload, obj: dict[str, Any]) -> WorkloadState:
    """Judge the workload object by its kind's (or the template's) conditions."""
    success, failure = workload.conditions()
    failed = failure.holds(obj)
    succeeded = not failed and success.holds(obj)
    known = builtin_kind(workload.api_version, workload.kind)
    suspended = bool(known and get_path(obj, ".".join(known.suspend)) is True)
    message = ""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("status") == "True":
            said = condition.get("message") or condition.get("reason") or ""
            message = f"{condition.get('type')}: {said}" if said else str(condition.get("type"))
    return WorkloadState(succeeded, failed, suspended and not (failed or succeeded), message)


def pod_selector(workload: Workload, name: str, trial: str, attempt: int) -> str:
    """Label selector of every pod the attempt's workload ran."""
    if workload.is_trainjob:  # its pods come from the runtime's templates
        return f"{_JOBSET_NAME}={name}"
    return f"{TRIAL_LABEL}={trial},{ATTEMPT_LABEL}={attempt}"


def primary_pod(workload: Workload, pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pod whose log holds the metrics: the first (by completion index, then name)
    of the primary template's pods, or of those with `primaryPodLabels`."""
    wanted = workload.primary_pod_labels or {PRIMARY_LABEL: "true"}
    if workload.is_trainjob and not workload.primary_pod_labels:
        wanted = {"jobset.sigs.k8s.io/replicatedjob-name": "node"}
    found = [
        p
        for p in pods
        if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
    ]

    def order(pod: dict[str, Any]) -> tuple[int, str]:
        labels = pod["metadata"].get("labels") or {}
        index = labels.get("batch.kubernetes.io/job-completion-index") or labels.get(
            "training.kubeflow.org/replica-index", "0"
        )
        return (int(index) if str(index).isdigit() else 0, str(pod["metadata"]["name"]))

    return min(found, key=order) if found else None
