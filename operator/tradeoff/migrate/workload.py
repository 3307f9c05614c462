"""A trial workload of Katib or Kubeflow Trainer as a Study's trial template.

A Pod stays a pod. A batch/v1 Job, a PyTorchJob, another Kubeflow training job (TFJob,
MPIJob, XGBoostJob, ...) or a TrainJob is kept whole as `trialTemplate.workload`: every
replica runs, the primary replica (Master, Chief or Launcher) reports the metrics. Kinds
Tradeoff does not know get their pod templates and the training operator's conditions
written out. The cluster admin must allow the kind (the chart's `trialPolicy.workloads`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tradeoff.migrate.common import ImportProblem, Notes, mapping

__all__ = ["TRAINJOB_VERSION", "Workload", "trainjob_workload", "workload_pod"]

PRIMARY_REPLICAS = ("Master", "Chief", "Launcher")
"""Replica types whose pod reports the metrics, in the order they are looked for."""

KUBEFLOW_SUCCESS = "status.conditions[type=Succeeded].status == True"
KUBEFLOW_FAILURE = "status.conditions[type=Failed].status == True"
"""The conditions every Kubeflow training operator job sets."""
TRAINJOB_VERSION = "trainer.kubeflow.org/v1alpha1"
_TRAINER_FIELDS = ("image", "command", "args", "env", "resourcesPerNode", "numNodes")


@dataclass
class Workload:
    """The trial pod, or the trial workload (`trialTemplate.workload`)."""

    pod: dict[str, Any] | None = None
    workload: dict[str, Any] | None = None
    retries: int | None = None
    active_deadline: str | None = None


def _allow(kind: Any, api_version: str, notes: Notes, where: str) -> None:
    notes.add(
        where,
        f"the whole {kind} runs as each trial (trialTemplate.workload): the cluster admin"
        f" must allow {kind} ({api_version}) in the Helm value trialPolicy.workloads",
    )


def workload_pod(trial_spec: Any, primary: str | None, notes: Notes, where: str) -> Workload:
    """The trial template of a Katib trialSpec (a Pod, Job, Kubeflow training job or
    TrainJob)."""
    spec_doc = mapping(trial_spec, where)
    kind = spec_doc.get("kind")
    api_version = str(spec_doc.get("apiVersion") or "")
    spec = mapping(spec_doc.get("spec"), f"{where}.spec")
    if kind == "Job" and api_version.startswith("batch/"):
        template = mapping(spec.get("template"), f"{where}.spec.template")
        _pod(template.get("spec"), primary, notes, f"{where}.spec.template.spec", keep=True)
        _allow(kind, "batch/v1", notes, f"{where}.kind")
        job = {"apiVersion": "batch/v1", "kind": "Job", "spec": copy.deepcopy(spec)}
        return Workload(workload=job)
    if kind == "Pod" and api_version == "v1":
        return Workload(_pod(spec, primary, notes, f"{where}.spec"))
    if kind == "TrainJob":
        return Workload(workload=trainjob_workload(spec, api_version, notes, where))
    replicas = [k for k in spec if k.endswith("ReplicaSpecs")]
    if replicas and api_version.startswith("kubeflow.org/"):
        return _replicated(spec, replicas[0], kind, api_version, primary, notes, where)
    raise ImportProblem(
        f"{where}.kind",
        f"a {kind or 'workload without kind'} ({api_version or 'no apiVersion'}) cannot be"
        " imported: a Pod, a batch/v1 Job, a Kubeflow training job (PyTorchJob, TFJob,"
        " MPIJob, ...) or a TrainJob can",
    )


def _replicated(
    spec: dict[str, Any],
    key: str,
    kind: Any,
    api_version: str,
    primary: str | None,
    notes: Notes,
    where: str,
) -> Workload:
    replicas = mapping(spec.get(key), f"{where}.spec.{key}")
    if not replicas:
        raise ImportProblem(f"{where}.spec.{key}", "has no replicas")
    chosen = next((r for r in PRIMARY_REPLICAS if r in replicas), None)
    if chosen is None:  # a job of workers only: the one holding the primary container
        chosen = next(
            (r for r in replicas if primary in _container_names(replicas[r])),
            next(iter(replicas)),
        )
    for name in replicas:
        path = f"{where}.spec.{key}.{name}"
        template = mapping(mapping(replicas[name], path).get("template"), f"{path}.template")
        wanted = primary if name == chosen else None
        _pod(template.get("spec"), wanted, notes, f"{path}.template.spec", keep=True)
    _allow(kind, api_version, notes, f"{where}.kind")
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "spec": copy.deepcopy(spec)}
    if (api_version, kind) == ("kubeflow.org/v1", "PyTorchJob"):
        if chosen != "Master":
            out["primaryReplica"] = chosen
        return Workload(workload=out)
    order = [chosen, *(r for r in replicas if r != chosen)]
    out["podTemplates"] = [f"spec.{key}.{name}.template" for name in order]
    out["successCondition"] = KUBEFLOW_SUCCESS
    out["failureCondition"] = KUBEFLOW_FAILURE
    notes.add(
        f"{where}.kind",
        f"Tradeoff reads a {kind} with the Kubeflow training operator's Succeeded and Failed"
        f" conditions; the {chosen} replica's first pod reports the metrics",
    )
    return Workload(workload=out)


def trainjob_workload(
    spec: dict[str, Any], api_version: str, notes: Notes, where: str, kind_at: str = ".kind"
) -> dict[str, Any]:
    """A TrainJob (`where` holds it; its `spec` is `spec`) as `trialTemplate.workload`:
    its `runtimeRef` and `trainer`; what else it says is noted (the kind at `kind_at`)."""
    if api_version != TRAINJOB_VERSION:
        raise ImportProblem(f"{where}.apiVersion", f"a TrainJob must be {TRAINJOB_VERSION}")
    trainer = mapping(spec.get("trainer"), f"{where}.spec.trainer")
    kept = {k: copy.deepcopy(v) for k, v in trainer.items() if k in _TRAINER_FIELDS}
    body: dict[str, Any] = {"trainer": kept}
    if spec.get("runtimeRef") is not None:
        body["runtimeRef"] = copy.deepcopy(mapping(spec["runtimeRef"], f"{where}.spec.runtimeRef"))
    _allow("TrainJob", api_version, notes, f"{where}{kind_at}")
    rest = sorted(k for k in spec if k not in ("trainer", "runtimeRef"))
    if rest:
        notes.add(
            f"{where}.spec",
            f"TrainJob fields not carried over: {', '.join(rest)} (a trial's TrainJob takes"
            " its pods' settings from the runtime)",
        )
    extra = sorted(k for k in trainer if k not in _TRAINER_FIELDS)
    if extra:
        notes.add(f"{where}.spec.trainer", f"fields not carried over: {', '.join(extra)}")
    return {"apiVersion": api_version, "kind": "TrainJob", "spec": body}


def _container_names(replica: Any) -> list[Any]:
    if not isinstance(replica, dict):
        return []
    pod = (replica.get("template") or {}).get("spec") or {}
    return [c.get("name") for c in pod.get("containers") or [] if isinstance(c, dict)]


def _pod(
    spec: Any, primary: str | None, notes: Notes, where: str, *, keep: bool = False
) -> dict[str, Any]:
    """A pod template's spec, checked (`keep`: inside a workload, left as it is)."""
    pod = copy.deepcopy(mapping(spec, where))
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        raise ImportProblem(f"{where}.containers", "the pod template has no containers")
    names = [c.get("name") for c in containers if isinstance(c, dict)]
    if primary is not None and primary not in names:
        raise ImportProblem(
            "spec.trialTemplate.primaryContainerName",
            f"no container named {primary!r} in {where} (containers: {', '.join(map(str, names))})",
        )
    if keep:
        return pod
    policy = pod.pop("restartPolicy", None)
    if policy not in (None, "Never"):
        notes.add(
            f"{where}.restartPolicy",
            f"{policy} dropped: a trial pod runs with restartPolicy Never; a failed attempt is"
            " retried as trialTemplate.retries says",
        )
    return pod


def _pod_metadata(template: dict[str, Any], notes: Notes, where: str) -> None:
    metadata = mapping(template.get("metadata"), where)
    kept = sorted(k for k in ("labels", "annotations") if metadata.get(k))
    if kept:
        notes.add(
            where,
            f"the pod's {' and '.join(kept)} are not carried over (a trial template holds the"
            " pod spec only)",
        )
