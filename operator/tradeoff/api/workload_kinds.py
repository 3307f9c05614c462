"""What Tradeoff knows of the workload kinds a trial may be (pure data).

Built-in kinds have their pod templates, success/failure conditions and Kueue suspend
field known; any other kind names its pod templates and conditions itself
(`trialTemplate.workload.podTemplates`, `successCondition`, `failureCondition`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUILTIN_KINDS",
    "BuiltinKind",
    "PodTemplate",
    "builtin_kind",
    "get_path",
    "pod_templates",
]


@dataclass(frozen=True)
class BuiltinKind:
    """A workload kind whose shape Tradeoff knows."""

    api_version: str
    kind: str
    success: str
    failure: str
    suspend: tuple[str, ...]
    """Path (from the object) of the flag Kueue clears to admit the workload."""
    default_replica: str | None = None
    """The replica that holds the primary pod when `primaryReplica` is not given."""


BUILTIN_KINDS: tuple[BuiltinKind, ...] = (
    BuiltinKind(
        "batch/v1",
        "Job",
        "status.conditions[type=Complete].status == True",
        "status.conditions[type=Failed].status == True",
        ("spec", "suspend"),
    ),
    BuiltinKind(
        "jobset.x-k8s.io/v1alpha2",
        "JobSet",
        "status.conditions[type=Completed].status == True",
        "status.conditions[type=Failed].status == True",
        ("spec", "suspend"),
    ),
    BuiltinKind(
        "kubeflow.org/v1",
        "PyTorchJob",
        "status.conditions[type=Succeeded].status == True",
        "status.conditions[type=Failed].status == True",
        ("spec", "runPolicy", "suspend"),
        default_replica="Master",
    ),
    BuiltinKind(
        "trainer.kubeflow.org/v1alpha1",
        "TrainJob",
        "status.conditions[type=Complete].status == True",
        "status.conditions[type=Failed].status == True",
        ("spec", "suspend"),
        default_replica="node",
    ),
)
TRAINJOB = ("trainer.kubeflow.org/v1alpha1", "TrainJob")
TRAINJOB_FIELDS = ("runtimeRef", "trainer", "labels", "annotations", "suspend", "managedBy")
"""What a TrainJob's spec may hold: its pods' security comes from the runtime the cluster
admin installed, so overrides of the pod specs are refused."""
TRAINER_FIELDS = ("image", "command", "args", "env", "numNodes", "resourcesPerNode")


def builtin_kind(api_version: str, kind: str) -> BuiltinKind | None:
    for known in BUILTIN_KINDS:
        if (known.api_version, known.kind) == (api_version, kind):
            return known
    return None


@dataclass(frozen=True)
class PodTemplate:
    """A PodTemplateSpec inside the workload: where it is and which replica it makes."""

    path: str
    """Wire path from the workload object, e.g. `spec.template`."""
    replica: str | None
    template: dict[str, Any]


_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$")


def _steps(path: str) -> list[str | int] | None:
    steps: list[str | int] = []
    for part in path.split("."):
        match = _STEP.match(part)
        if match is None:
            return None
        steps.append(match.group(1))
        steps += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return steps


def get_path(obj: Any, path: str) -> Any:
    """The value at a dotted path (`spec.replicatedJobs[0].template`), or None."""
    steps = _steps(path)
    if steps is None:
        return None
    current = obj
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return None
        elif not isinstance(current, Mapping) or step not in current:
            return None
        current = current[step]
    return current


def pod_templates(
    api_version: str, kind: str, obj: Mapping[str, Any], paths: list[str] | None
) -> list[PodTemplate]:
    """The pod templates of a workload object (`paths` for kinds Tradeoff does not know).

    A path that holds no object is left out (the model reports it).
    """
    found: list[tuple[str, str | None]] = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    if (api_version, kind) == ("batch/v1", "Job"):
        found = [("spec.template", None)]
    elif kind == "JobSet" and api_version.startswith("jobset.x-k8s.io/"):
        jobs = spec.get("replicatedJobs")
        for i, job in enumerate(jobs if isinstance(jobs, list) else []):
            name = job.get("name") if isinstance(job, Mapping) else None
            found.append((f"spec.replicatedJobs[{i}].template.spec.template", name))
    elif (api_version, kind) == ("kubeflow.org/v1", "PyTorchJob"):
        replicas = spec.get("pytorchReplicaSpecs")
        for name in replicas if isinstance(replicas, Mapping) else {}:
            found.append((f"spec.pytorchReplicaSpecs.{name}.template", str(name)))
    elif (api_version, kind) == TRAINJOB:
        found = []
    else:  # a path that is not text is the model's to report
        found = [(p, None) for p in paths or [] if isinstance(p, str)]
    out = []
    for path, replica in found:
        template = get_path(obj, path)
        if isinstance(template, dict):
            out.append(PodTemplate(path, replica, template))
    return out
