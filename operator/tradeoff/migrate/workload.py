"""A trial workload of Katib or Kubeflow Trainer as the one pod a Study trial runs.

A Study's trial is one pod today (trials that are not one pod, issue #14 item 4, are not
built). So a batch/v1 Job gives its pod template; a Kubeflow training job (PyTorchJob,
TFJob, MPIJob, XGBoostJob, ...) gives the pod template of its primary replica (Master,
Chief or Launcher) and its other replicas are dropped; a TrainJob gives a pod running its
`trainer` container. Every such loss is a note.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tradeoff.migrate.common import ImportProblem, Notes, mapping

__all__ = ["Workload", "trainer_pod", "workload_pod"]

PRIMARY_REPLICAS = ("Master", "Chief", "Launcher")
"""Replica types whose pod reports the metrics, in the order they are looked for."""

RETRIES_MAX = 10
"""trialTemplate.retries' upper bound."""

ONE_POD = "a Study trial is one pod today (trials that are not one pod are not built yet)"

_JOB_KEYS = {"template", "backoffLimit", "activeDeadlineSeconds"}


@dataclass
class Workload:
    """The trial pod and the trial-template fields the workload also sets."""

    pod: dict[str, Any]
    retries: int | None = None
    active_deadline: str | None = None


def workload_pod(trial_spec: Any, primary: str | None, notes: Notes, where: str) -> Workload:
    """The pod of a Katib trialSpec (a Job, Pod, Kubeflow training job or TrainJob)."""
    spec_doc = mapping(trial_spec, where)
    kind = spec_doc.get("kind")
    api_version = str(spec_doc.get("apiVersion") or "")
    spec = mapping(spec_doc.get("spec"), f"{where}.spec")
    if kind == "Job" and api_version.startswith("batch/"):
        return _job(spec, primary, notes, where)
    if kind == "Pod" and api_version == "v1":
        return Workload(_pod(spec, primary, notes, f"{where}.spec"))
    if kind == "TrainJob":
        return trainer_pod(spec, primary or "node", notes, f"{where}.spec")
    replicas = [k for k in spec if k.endswith("ReplicaSpecs")]
    if replicas and api_version.startswith("kubeflow.org/"):
        return _replicated(spec, replicas[0], kind, primary, notes, where)
    raise ImportProblem(
        f"{where}.kind",
        f"a {kind or 'workload without kind'} ({api_version or 'no apiVersion'}) cannot become"
        f" a trial pod; {ONE_POD}: a batch/v1 Job, a Pod, a Kubeflow training job"
        " (PyTorchJob, TFJob, MPIJob, ...) or a TrainJob can be imported",
    )


def _job(spec: dict[str, Any], primary: str | None, notes: Notes, where: str) -> Workload:
    template = mapping(spec.get("template"), f"{where}.spec.template")
    pod = _pod(template.get("spec"), primary, notes, f"{where}.spec.template.spec")
    _pod_metadata(template, notes, f"{where}.spec.template.metadata")
    out = Workload(pod)
    if "backoffLimit" in spec:
        limit = spec["backoffLimit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ImportProblem(
                f"{where}.spec.backoffLimit", f"must be a whole number >= 0 ({limit!r})"
            )
        out.retries = min(limit, RETRIES_MAX)
        if limit > RETRIES_MAX:
            notes.add(
                f"{where}.spec.backoffLimit",
                f"{limit} pod retries became trialTemplate.retries: {RETRIES_MAX} (its maximum)",
            )
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None:
        if not isinstance(deadline, int) or isinstance(deadline, bool) or deadline <= 0:
            raise ImportProblem(
                f"{where}.spec.activeDeadlineSeconds", f"must be a whole number > 0 ({deadline!r})"
            )
        out.active_deadline = f"{deadline}s"
    rest = sorted(k for k in spec if k not in _JOB_KEYS)
    if rest:
        notes.add(
            f"{where}.spec",
            f"Job fields not carried over: {', '.join(rest)}"
            " (a trial runs one pod, once per attempt)",
        )
    return out


def _replicated(
    spec: dict[str, Any],
    key: str,
    kind: Any,
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
    path = f"{where}.spec.{key}.{chosen}"
    replica = mapping(replicas[chosen], path)
    template = mapping(replica.get("template"), f"{path}.template")
    pod = _pod(template.get("spec"), primary, notes, f"{path}.template.spec")
    _pod_metadata(template, notes, f"{path}.template.metadata")
    count = replica.get("replicas", 1)
    if isinstance(count, int) and count > 1:
        notes.add(f"{path}.replicas", f"{count} {chosen} replicas became one pod; {ONE_POD}")
    if replica.get("restartPolicy") not in (None, "Never"):
        notes.add(
            f"{path}.restartPolicy",
            f"{replica['restartPolicy']} is not carried over: a trial pod never restarts in place;"
            " a failed attempt is retried as trialTemplate.retries says",
        )
    for name in (r for r in replicas if r != chosen):
        others = mapping(replicas[name], f"{where}.spec.{key}.{name}")
        n = others.get("replicas", 1)
        notes.add(
            f"{where}.spec.{key}.{name}",
            f"{n} {name} replica(s) dropped: the trial runs the {kind} {chosen}'s pod alone"
            f" (so with a world size of 1); {ONE_POD}",
        )
    rest = sorted(k for k in spec if k != key)
    if rest:
        notes.add(f"{where}.spec", f"{kind} fields not carried over: {', '.join(rest)}")
    return Workload(pod)


def trainer_pod(spec: dict[str, Any], container: str, notes: Notes, where: str) -> Workload:
    """The pod of a TrainJob spec: its `trainer` as the one container named `container`."""
    trainer = mapping(spec.get("trainer"), f"{where}.trainer")
    image = trainer.get("image")
    if not isinstance(image, str) or not image:
        raise ImportProblem(
            f"{where}.trainer.image",
            "not set (the training runtime would supply it); set the trainer's image and"
            " import again",
        )
    c: dict[str, Any] = {"name": container, "image": image}
    for field in ("command", "args", "env"):
        if trainer.get(field):
            c[field] = copy.deepcopy(trainer[field])
    if trainer.get("resourcesPerNode"):
        c["resources"] = copy.deepcopy(trainer["resourcesPerNode"])
    if "command" not in c:
        notes.add(
            f"{where}.trainer.command",
            "not set: the image's entrypoint runs (local mode needs a command)",
        )
    nodes = trainer.get("numNodes")
    if isinstance(nodes, int) and nodes > 1:
        notes.add(
            f"{where}.trainer.numNodes",
            f"{nodes} nodes became one pod (the training runs on one node); {ONE_POD}",
        )
    runtime = mapping(spec.get("runtimeRef"), f"{where}.runtimeRef")
    if runtime:
        notes.add(
            f"{where}.runtimeRef",
            f"the training runtime {runtime.get('name')!r} is not used: what it adds (its"
            " launcher such as torchrun, initializers, volumes, environment) is not in the trial"
            " pod; put what the training needs in the trial template",
        )
    rest = sorted(k for k in spec if k not in ("trainer", "runtimeRef"))
    if rest:
        notes.add(where, f"TrainJob fields not carried over: {', '.join(rest)}")
    extra = sorted(
        k
        for k in trainer
        if k not in ("image", "command", "args", "env", "resourcesPerNode", "numNodes")
    )
    if extra:
        notes.add(f"{where}.trainer", f"fields not carried over: {', '.join(extra)}")
    return Workload({"containers": [c]})


def _container_names(replica: Any) -> list[Any]:
    if not isinstance(replica, dict):
        return []
    pod = (replica.get("template") or {}).get("spec") or {}
    return [c.get("name") for c in pod.get("containers") or [] if isinstance(c, dict)]


def _pod(spec: Any, primary: str | None, notes: Notes, where: str) -> dict[str, Any]:
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
