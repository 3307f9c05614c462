"""What the node that ran a trial says about prices and carbon intensity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tradeoff.api.economics import EconomicsSpec
from tradeoff.api.quantity import parse_cpu, parse_memory_gib, parse_quantity
from tradeoff.economics._config import EconomicsConfig
from tradeoff.economics._resources import GPU_RESOURCE, gpu_model_from_labels

__all__ = ["NodeInfo", "config_for_node", "node_info_from_labels", "node_info_from_node"]

REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
# Label -> the value (lower-cased) that marks a spot / preemptible node.
SPOT_LABELS = {
    "eks.amazonaws.com/capacityType": "spot",
    "karpenter.sh/capacity-type": "spot",
    "cloud.google.com/gke-spot": "true",
    "cloud.google.com/gke-preemptible": "true",
    "kubernetes.azure.com/scalesetpriority": "spot",
}


@dataclass(frozen=True)
class NodeInfo:
    """Where a trial ran. Capacity (``vcpu``, ``memory_gib``, ``gpus``) is optional:
    it is only needed to split a whole-node instance price across resources."""

    region: str | None = None
    instance_type: str | None = None
    spot: bool = False
    gpu_model: str | None = None
    vcpu: float | None = None
    memory_gib: float | None = None
    gpus: int = 0


def _first(labels: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if labels.get(key):
            return str(labels[key])
    return None


def node_info_from_labels(labels: Mapping[str, str]) -> NodeInfo:
    """Region, instance type, spot and GPU model from well-known node labels."""
    spot = any(str(labels.get(key, "")).lower() == value for key, value in SPOT_LABELS.items())
    return NodeInfo(
        region=_first(labels, REGION_LABELS),
        instance_type=_first(labels, INSTANCE_TYPE_LABELS),
        spot=spot,
        gpu_model=gpu_model_from_labels(labels),
    )


def node_info_from_node(node: Mapping[str, Any]) -> NodeInfo:
    """``node_info_from_labels`` plus the capacity in ``status.capacity`` of a Node object.

    A capacity that does not parse is left unknown rather than failing the trial.
    """
    labels = (node.get("metadata") or {}).get("labels") or {}
    capacity = (node.get("status") or {}).get("capacity") or {}
    info = node_info_from_labels(labels)
    try:
        vcpu = parse_cpu(capacity["cpu"]) if "cpu" in capacity else None
        memory = parse_memory_gib(capacity["memory"]) if "memory" in capacity else None
        gpus = int(parse_quantity(capacity.get(GPU_RESOURCE, 0)))
    except ValueError:
        return info
    return replace(info, vcpu=vcpu, memory_gib=memory, gpus=gpus)


def config_for_node(
    base: EconomicsConfig,
    node: NodeInfo | None,
    overrides: EconomicsSpec | None,
    measured_prices: tuple[float, float, float | None] | None = None,
) -> EconomicsConfig:
    """The config for a trial on ``node``; the study's explicit overrides win over all.

    1. The node's region picks the grid intensity from ``base.region_intensity``.
    2. Prices measured for the node (USD per vCPU-hour, GiB-hour and, if known, GPU-hour,
       e.g. OpenCost's, which already reflect spot pricing) replace the base prices; else
       a known instance type with known capacity sets them: the node's hourly price is
       split across vCPU, GiB and GPUs in the ratio of the base prices (OpenCost's
       method), so the whole node costs exactly its instance price.
    3. Without measured prices, a spot node takes ``spot_discount`` off every price.
    4. Fields the study sets in ``spec.economics`` replace the result.
    """
    config = base
    if node is not None and node.region and node.region.lower() in base.region_intensity:
        config = replace(config, grams_per_kwh=base.region_intensity[node.region.lower()])
    if measured_prices is not None:
        cpu, memory, gpu = measured_prices
        gpu = config.gpu_hour if gpu is None else gpu
        config = replace(config, cpu_hour=cpu, memory_gib_hour=memory, gpu_hour=gpu)
    elif node is not None:
        config = _instance_prices(config, node)
        if node.spot:
            keep = 1.0 - config.spot_discount
            config = replace(
                config,
                cpu_hour=config.cpu_hour * keep,
                memory_gib_hour=config.memory_gib_hour * keep,
                gpu_hour=config.gpu_hour * keep,
            )
    return config.with_overrides(overrides)


def _instance_prices(config: EconomicsConfig, node: NodeInfo) -> EconomicsConfig:
    price = config.instance_prices.get(node.instance_type or "")
    if price is None or node.vcpu is None or node.memory_gib is None:
        return config
    at_base_prices = (
        node.vcpu * config.cpu_hour
        + node.memory_gib * config.memory_gib_hour
        + node.gpus * config.gpu_hour
    )
    if at_base_prices <= 0:
        return config
    scale = price / at_base_prices
    return replace(
        config,
        cpu_hour=config.cpu_hour * scale,
        memory_gib_hour=config.memory_gib_hour * scale,
        gpu_hour=config.gpu_hour * scale,
    )
