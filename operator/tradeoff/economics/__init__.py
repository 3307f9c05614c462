"""Energy, carbon and cost of trials: defaults, node-aware configuration, the model.

Typical use::

    resources = resources_from_pod_spec(pod_spec)
    node = node_info_from_node(node_object)          # or node_info_from_labels(labels)
    config = config_for_node(EconomicsConfig.default(), node, study.spec.economics)
    economics = price_trial(resources, duration_s, config, cpu_seconds=..., region=node.region)
"""

from __future__ import annotations

from tradeoff.economics._config import EconomicsConfig
from tradeoff.economics._constants import DEFAULT_GPU_MODEL, DEFAULT_MEMORY_GIB, DEFAULT_VCPU
from tradeoff.economics._intensity import IntensityReading, IntensitySample
from tradeoff.economics._intensity_config import (
    TOKEN_VARIABLE,
    IntensitySettingsError,
    current_intensity,
    intensity_from_json,
    study_fixes_intensity,
)
from tradeoff.economics._intensity_sources import (
    PROVIDERS,
    IntensityError,
    IntensitySettings,
    IntensitySource,
    build_source,
    read_intensity,
)
from tradeoff.economics._local_energy import (
    CpuEnergySnapshot,
    codecarbon_energy,
    rapl_energy,
    snapshot,
)
from tradeoff.economics._model import add_attempt, price_trial, totals
from tradeoff.economics._node import (
    NodeInfo,
    config_for_node,
    node_info_from_labels,
    node_info_from_node,
)
from tradeoff.economics._regions import REGION_GRAMS_PER_KWH
from tradeoff.economics._resources import Resources, gpu_model_from_labels, resources_from_pod_spec

__all__ = [
    "DEFAULT_GPU_MODEL",
    "DEFAULT_MEMORY_GIB",
    "DEFAULT_VCPU",
    "PROVIDERS",
    "REGION_GRAMS_PER_KWH",
    "TOKEN_VARIABLE",
    "CpuEnergySnapshot",
    "EconomicsConfig",
    "IntensityError",
    "IntensityReading",
    "IntensitySample",
    "IntensitySettings",
    "IntensitySettingsError",
    "IntensitySource",
    "NodeInfo",
    "Resources",
    "add_attempt",
    "build_source",
    "codecarbon_energy",
    "config_for_node",
    "current_intensity",
    "gpu_model_from_labels",
    "intensity_from_json",
    "node_info_from_labels",
    "node_info_from_node",
    "price_trial",
    "rapl_energy",
    "read_intensity",
    "resources_from_pod_spec",
    "snapshot",
    "study_fixes_intensity",
    "totals",
]
