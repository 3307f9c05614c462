"""Energy, carbon and cost of a trial (the formulas of DESIGN.md, "Economics").

Energy (kWh) = PUE x (E_cpu + E_mem + E_gpu), with t the duration in hours:

* E_cpu = vCPU x (Wmin + Wmax) / 2 x t without usage data, and
  E_cpu = vCPU x Wmin x t + cpu_s / 3600 x (Wmax - Wmin) with measured CPU-seconds;
* E_mem = GiB x 1.073741824 GB/GiB x W/GB x t;
* E_gpu = GPUs x (Wmin + Wmax) / 2 x t of the GPU model.

Carbon (g) = kWh x intensity. Cost = t x (vCPU_billed x cpuHour + GiB_billed x
memoryGiBHour + GPUs x gpuHour), vCPU_billed = max(vCPU requested, cpu_s / duration) and
GiB_billed = max(GiB requested, peak GiB used) where usage was measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tradeoff.api.economics import EconomicsSources, QuantitySource, TrialEconomics
from tradeoff.api.status import Totals
from tradeoff.economics._config import EconomicsConfig
from tradeoff.economics._constants import GB_PER_GIB
from tradeoff.economics._intensity import IntensityReading
from tradeoff.economics._resources import Resources

__all__ = ["price_trial", "totals"]

_SECONDS_PER_HOUR = 3600.0
_WH_PER_KWH = 1000.0


def _check(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def price_trial(
    resources: Resources,
    duration_s: float,
    config: EconomicsConfig,
    *,
    cpu_seconds: float | None = None,
    energy_kwh: float | None = None,
    region: str | None = None,
    energy_detail: str | None = None,
    prices: QuantitySource | None = None,
    memory_gib_used: float | None = None,
    intensity: IntensityReading | None = None,
) -> TrialEconomics:
    """Price one trial that held ``resources`` for ``duration_s`` seconds.

    ``cpu_seconds`` is measured CPU time (user + system). ``energy_kwh`` is measured
    device energy (Kepler's per-pod joules, or what the trial reports, e.g. CodeCarbon);
    it replaces E_cpu + E_mem + E_gpu, and the PUE is still applied on top because
    neither source counts the data centre's overhead. ``region`` is only recorded: the
    intensity comes from ``intensity`` (read from a service over the run) when given,
    else from ``config`` (see ``config_for_node``). A duration of 0 costs nothing and
    uses no energy unless energy was measured.

    ``energy_detail`` says what measured ``energy_kwh`` (default: the trial reported it),
    or, without it, why no measurement was used. ``prices`` is the source of the prices in
    ``config`` (default: configured). ``memory_gib_used`` is the measured peak memory:
    memory is billed at max(request, it).
    """
    _check("duration_s", duration_s)
    _check("cpu_seconds", cpu_seconds)
    _check("energy_kwh", energy_kwh)
    _check("memory_gib_used", memory_gib_used)
    hours = duration_s / _SECONDS_PER_HOUR
    gpu_model: str | None = None
    if resources.gpus:
        gpu_model, gpu_min, gpu_max = config.gpu_power(resources.gpu_model)
    else:
        gpu_min = gpu_max = 0.0

    if energy_kwh is not None:
        device_kwh = energy_kwh
    elif duration_s == 0:
        device_kwh = 0.0
    else:
        if cpu_seconds is None:
            cpu_wh = resources.vcpu * (config.cpu_min_watts + config.cpu_max_watts) / 2 * hours
        else:
            cpu_wh = (
                resources.vcpu * config.cpu_min_watts * hours
                + cpu_seconds / _SECONDS_PER_HOUR * (config.cpu_max_watts - config.cpu_min_watts)
            )
        memory_wh = resources.memory_gib * GB_PER_GIB * config.memory_watts_per_gb * hours
        gpu_wh = resources.gpus * (gpu_min + gpu_max) / 2 * hours
        device_kwh = (cpu_wh + memory_wh + gpu_wh) / _WH_PER_KWH
    total_kwh = config.pue * device_kwh

    billed_vcpu = resources.vcpu
    if cpu_seconds is not None and duration_s > 0:
        billed_vcpu = max(resources.vcpu, cpu_seconds / duration_s)
    billed_gib = max(resources.memory_gib, memory_gib_used or 0.0)
    cost = hours * (
        billed_vcpu * config.cpu_hour
        + billed_gib * config.memory_gib_hour
        + resources.gpus * config.gpu_hour
    )
    measured = cpu_seconds is not None or energy_kwh is not None
    if energy_kwh is not None:
        energy_source = QuantitySource(
            source="measured", detail=_clip(energy_detail or "reported by the trial")
        )
    else:
        basis = "measured CPU time" if cpu_seconds is not None else "requests and duration"
        why = f"; {energy_detail}" if energy_detail else ""
        energy_source = QuantitySource(
            source="estimated", detail=_clip(f"power model from {basis}{why}")
        )
    configured = QuantitySource(source="configured")
    measured = measured or (prices is not None and prices.source == "measured")
    grams = config.grams_per_kwh if intensity is None else intensity.grams_per_kwh
    return TrialEconomics(
        duration_seconds=duration_s,
        cpu_seconds=cpu_seconds,
        energy_kwh=total_kwh,
        carbon_grams=total_kwh * grams,
        cost_usd=cost,
        source="measured" if measured else "estimated",
        vcpu=resources.vcpu,
        memory_gib=resources.memory_gib,
        gpus=resources.gpus,
        gpu_model=gpu_model,
        grams_per_kwh=grams,
        intensity_samples=list(intensity.points) if intensity and intensity.points else None,
        pue=config.pue,
        region=region,
        sources=EconomicsSources(
            energy=energy_source,
            prices=prices or configured,
            intensity=configured if intensity is None else intensity.source,
        ),
    )


def _clip(text: str, limit: int = 300) -> str:
    """``text`` within the length a source's ``detail`` may have."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def totals(items: Iterable[TrialEconomics]) -> Totals:
    """Cost, carbon and energy summed over trials (e.g. a study's ``status.totals``)."""
    cost = carbon = energy = 0.0
    for item in items:
        cost += item.cost_usd
        carbon += item.carbon_grams
        energy += item.energy_kwh
    return Totals(cost_usd=cost, carbon_grams=carbon, energy_kwh=energy)


def add_attempt(total: TrialEconomics | None, attempt: TrialEconomics) -> TrialEconomics:
    """Economics of all attempts so far: durations, CPU time, energy, carbon, cost summed."""
    if total is None:
        return attempt
    cpu: float | None = None
    if total.cpu_seconds is not None or attempt.cpu_seconds is not None:
        cpu = (total.cpu_seconds or 0.0) + (attempt.cpu_seconds or 0.0)
    return attempt.model_copy(
        update={
            "duration_seconds": total.duration_seconds + attempt.duration_seconds,
            "cpu_seconds": cpu,
            "energy_kwh": total.energy_kwh + attempt.energy_kwh,
            "carbon_grams": total.carbon_grams + attempt.carbon_grams,
            "cost_usd": total.cost_usd + attempt.cost_usd,
            "source": "measured" if "measured" in (total.source, attempt.source) else "estimated",
        }
    )
