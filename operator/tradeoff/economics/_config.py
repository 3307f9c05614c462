"""The coefficients and prices the model uses, and how study overrides apply."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from tradeoff.api.economics import EconomicsSpec
from tradeoff.economics import _constants as c
from tradeoff.economics._regions import REGION_GRAMS_PER_KWH

__all__ = ["EconomicsConfig"]


def _frozen(mapping: Mapping[str, object]) -> MappingProxyType[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class EconomicsConfig:
    """Everything ``price_trial`` needs besides the trial itself.

    Prices are USD per vCPU-hour, per GiB-hour and per GPU-hour; watts are per vCPU,
    per GB of memory and per GPU (min at idle, max at full load); intensities are
    gCO2e per kWh. ``instance_prices`` maps an instance type to its on-demand USD per
    hour for the whole node; ``spot_discount`` is the fraction taken off on spot nodes.
    """

    cpu_hour: float = c.CPU_HOUR
    memory_gib_hour: float = c.MEMORY_GIB_HOUR
    gpu_hour: float = c.GPU_HOUR
    grams_per_kwh: float = c.GRAMS_PER_KWH
    pue: float = c.PUE
    cpu_min_watts: float = c.CPU_MIN_WATTS
    cpu_max_watts: float = c.CPU_MAX_WATTS
    memory_watts_per_gb: float = c.MEMORY_WATTS_PER_GB
    gpu_watts: Mapping[str, tuple[float, float]] = field(default_factory=lambda: c.GPU_WATTS)
    default_gpu_model: str = c.DEFAULT_GPU_MODEL
    region_intensity: Mapping[str, float] = field(default_factory=lambda: REGION_GRAMS_PER_KWH)
    spot_discount: float = c.SPOT_DISCOUNT
    instance_prices: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for name in (
            "cpu_hour",
            "memory_gib_hour",
            "gpu_hour",
            "grams_per_kwh",
            "cpu_min_watts",
            "cpu_max_watts",
            "memory_watts_per_gb",
        ):
            _check_non_negative(f"economics.{name}", getattr(self, name))
        if not (math.isfinite(self.pue) and self.pue >= 1.0):
            raise ValueError(f"economics.pue must be >= 1.0, got {self.pue!r}")
        if self.cpu_min_watts > self.cpu_max_watts:
            raise ValueError(
                f"economics.cpu_min_watts ({self.cpu_min_watts}) exceeds "
                f"cpu_max_watts ({self.cpu_max_watts})"
            )
        if not (math.isfinite(self.spot_discount) and 0.0 <= self.spot_discount < 1.0):
            raise ValueError(
                f"economics.spot_discount must be in [0, 1), got {self.spot_discount!r}"
            )
        for model, (low, high) in self.gpu_watts.items():
            _check_non_negative(f"economics.gpu_watts[{model!r}]", low)
            _check_non_negative(f"economics.gpu_watts[{model!r}]", high)
            if low > high:
                raise ValueError(f"economics.gpu_watts[{model!r}]: min {low} exceeds max {high}")
        if self.default_gpu_model not in self.gpu_watts:
            raise ValueError(
                f"economics.default_gpu_model {self.default_gpu_model!r} is not in gpu_watts"
            )
        for region, grams in self.region_intensity.items():
            _check_non_negative(f"economics.region_intensity[{region!r}]", grams)
        for instance, price in self.instance_prices.items():
            _check_non_negative(f"economics.instance_prices[{instance!r}]", price)
        # Keep the tables read-only whatever mapping the caller passed.
        object.__setattr__(self, "gpu_watts", _frozen(self.gpu_watts))
        object.__setattr__(self, "region_intensity", _frozen(self.region_intensity))
        object.__setattr__(self, "instance_prices", _frozen(self.instance_prices))

    @classmethod
    def default(cls) -> EconomicsConfig:
        """The documented defaults (see ``tradeoff.economics._constants``)."""
        return cls()

    def with_overrides(self, spec: EconomicsSpec | None) -> EconomicsConfig:
        """This config with every field the study set explicitly replaced."""
        if spec is None:
            return self
        changes: dict[str, float] = {}
        if spec.pricing is not None:
            for name in ("cpu_hour", "memory_gib_hour", "gpu_hour"):
                value = getattr(spec.pricing, name)
                if value is not None:
                    changes[name] = value
        if spec.carbon is not None:
            if spec.carbon.grams_per_kwh is not None:
                changes["grams_per_kwh"] = spec.carbon.grams_per_kwh
            if spec.carbon.pue is not None:
                changes["pue"] = spec.carbon.pue
        return replace(self, **changes) if changes else self  # type: ignore[arg-type]

    def gpu_power(self, model: str | None) -> tuple[str, float, float]:
        """``(model, min W, max W)`` for a GPU label value, else for the default model.

        Matching is by token, case-insensitive: ``NVIDIA-A100-SXM4-40GB``,
        ``nvidia-tesla-t4`` and ``a10g`` name the A100, T4 and A10G.
        """
        if model:
            tokens = set(model.upper().replace("_", "-").replace(" ", "-").split("-"))
            for known, (low, high) in self.gpu_watts.items():
                if known.upper() in tokens:
                    return known, low, high
        low, high = self.gpu_watts[self.default_gpu_model]
        return self.default_gpu_model, low, high


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
