"""What a trial pod asks for: vCPU, memory and GPUs, read from its PodSpec."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tradeoff.api.quantity import parse_cpu, parse_memory_gib, parse_quantity
from tradeoff.economics._constants import DEFAULT_MEMORY_GIB, DEFAULT_VCPU

__all__ = ["GPU_PRODUCT_LABELS", "Resources", "gpu_model_from_labels", "resources_from_pod_spec"]

GPU_RESOURCE = "nvidia.com/gpu"

# Node labels that name the GPU model, most specific first: NVIDIA GPU feature
# discovery, GKE's accelerator label, Karpenter's AWS instance GPU name.
GPU_PRODUCT_LABELS = (
    "nvidia.com/gpu.product",
    "cloud.google.com/gke-accelerator",
    "karpenter.k8s.aws/instance-gpu-name",
)


@dataclass(frozen=True)
class Resources:
    """Resources a trial holds for its whole run."""

    vcpu: float
    memory_gib: float
    gpus: int = 0
    gpu_model: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("vcpu", self.vcpu), ("memory_gib", self.memory_gib)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"resources.{name} must be a finite number >= 0, got {value!r}")
        if self.gpus < 0:
            raise ValueError(f"resources.gpus must be >= 0, got {self.gpus!r}")


def gpu_model_from_labels(labels: Mapping[str, str] | None) -> str | None:
    """The GPU model named by well-known node labels (or a nodeSelector), if any."""
    for key in GPU_PRODUCT_LABELS:
        value = (labels or {}).get(key)
        if value:
            return str(value)
    return None


def _get(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    """A field of a manifest (camelCase) or of a kubernetes-client dict (snake_case)."""
    return mapping.get(camel, mapping.get(snake))


def _amount(container: Mapping[str, Any], resource: str, where: str) -> tuple[str, Any] | None:
    """The request of ``resource``, else its limit (Kubernetes defaults one to the other)."""
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        value = (resources.get(kind) or {}).get(resource)
        if value is not None:
            return f"{where}.resources.{kind}.{resource}", value
    return None


def _running_containers(pod_spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Containers that run for the pod's lifetime: app containers and sidecars.

    Plain init containers finish before the trial starts its work, so they are not
    priced; native sidecars (init containers with ``restartPolicy: Always``) are.
    """
    found = [(f"containers[{i}]", c) for i, c in enumerate(pod_spec.get("containers") or [])]
    for i, c in enumerate(_get(pod_spec, "initContainers", "init_containers") or []):
        if _get(c, "restartPolicy", "restart_policy") == "Always":
            found.append((f"initContainers[{i}]", c))
    return found


def resources_from_pod_spec(pod_spec: Mapping[str, Any]) -> Resources:
    """Sum the requests (else limits) of the containers of a PodSpec.

    A resource no container states gets a default (``DEFAULT_VCPU``,
    ``DEFAULT_MEMORY_GIB``; see ``_constants``). GPUs come from ``nvidia.com/gpu``, the
    model from a GPU label in the pod's ``nodeSelector`` (else the node tells later).
    Raises ``ValueError`` naming the field of a quantity that does not parse.
    """
    vcpu: float | None = None
    memory_gib: float | None = None
    gpus = 0
    for where, container in _running_containers(pod_spec):
        if (cpu := _amount(container, "cpu", where)) is not None:
            vcpu = (vcpu or 0.0) + _parse(parse_cpu, *cpu)
        if (memory := _amount(container, "memory", where)) is not None:
            memory_gib = (memory_gib or 0.0) + _parse(parse_memory_gib, *memory)
        if (gpu := _amount(container, GPU_RESOURCE, where)) is not None:
            gpus += _parse_gpus(*gpu)
    node_selector = _get(pod_spec, "nodeSelector", "node_selector")
    return Resources(
        vcpu=DEFAULT_VCPU if vcpu is None else vcpu,
        memory_gib=DEFAULT_MEMORY_GIB if memory_gib is None else memory_gib,
        gpus=gpus,
        gpu_model=gpu_model_from_labels(node_selector) if gpus else None,
    )


def _parse(parser: Callable[[Any], float], where: str, value: Any) -> float:
    try:
        return parser(value)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _parse_gpus(where: str, value: Any) -> int:
    count = _parse(parse_quantity, where, value)
    if count < 0 or count != int(count):
        raise ValueError(f"{where}: GPUs must be a whole number >= 0, got {value!r}")
    return int(count)
