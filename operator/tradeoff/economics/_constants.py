"""Default coefficients of the economics model, each with its source.

Sources:

* CCF: Cloud Carbon Footprint methodology, appendices "Energy Coefficients" (AWS) and
  "GPUs and min/max watts" (https://www.cloudcarbonfootprint.org/docs/methodology).
* OpenCost: its default on-demand pricing (``default.json`` of the custom pricing
  provider): CPU 0.031611 USD per vCPU-hour, RAM 0.004237 USD per GiB-hour, GPU 0.95
  USD per GPU-hour.
* IEA world average grid intensity of 475 gCO2e/kWh, CodeCarbon's fallback value.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# Power per vCPU at 0 % and 100 % utilisation, in watts (CCF, AWS coefficients).
CPU_MIN_WATTS: Final = 0.74
CPU_MAX_WATTS: Final = 3.5

# Memory power, in watts per GB (CCF: 0.000392 kWh per GB-hour). GB, not GiB.
MEMORY_WATTS_PER_GB: Final = 0.392
GB_PER_GIB: Final = 2**30 / 1e9

# Data-centre power usage effectiveness (CCF, AWS average).
PUE: Final = 1.135

# Grid carbon intensity when the region is unknown, gCO2e per kWh (IEA world average,
# as used by CodeCarbon).
GRAMS_PER_KWH: Final = 475.0

# Prices in USD (OpenCost defaults). OpenCost applies its RAM price per GiB.
CPU_HOUR: Final = 0.031611
MEMORY_GIB_HOUR: Final = 0.004237
GPU_HOUR: Final = 0.95

# Fraction taken off the on-demand price on spot / preemptible nodes. An assumption:
# AWS advertises "up to 90 %" off, GCP Spot VMs 60-91 %, Azure Spot up to 90 %; 70 % is
# a typical observed discount, deliberately below the advertised maxima.
SPOT_DISCOUNT: Final = 0.7

# GPU power at idle and at 100 % utilisation, in watts, keyed by the model token that
# appears in node labels such as ``nvidia.com/gpu.product=NVIDIA-A100-SXM4-40GB`` (CCF).
GPU_WATTS: Final = MappingProxyType(
    {
        "T4": (8.0, 71.0),
        "A10G": (18.0, 153.0),
        "V100": (35.0, 306.0),
        "A100": (46.0, 407.0),
        "K80": (35.0, 306.0),
        "M60": (35.0, 306.0),
        "P4": (9.0, 76.5),
        "P40": (30.0, 255.0),
        "P100": (36.0, 306.0),
    }
)

# The GPU assumed when the model is unknown: the V100's 35/306 W is the most common
# entry of CCF's GPU table (shared by the Tesla M60 and K80, P100 at 36/306), a middle
# estimate that neither understates like the T4 (8/71 W) nor overstates like the A100.
DEFAULT_GPU_MODEL: Final = "V100"

# What a pod that requests nothing is assumed to use. A BestEffort trial may burst onto
# any idle core, but a typical trial process (Python, one main thread) keeps about one
# core busy; 0.5 GiB is the footprint of a small Python/scikit-learn process and the
# memory request of the examples.
DEFAULT_VCPU: Final = 1.0
DEFAULT_MEMORY_GIB: Final = 0.5
