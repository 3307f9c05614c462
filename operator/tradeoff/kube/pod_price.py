"""What a trial's pod cost: cost, energy and carbon of its attempt (pure).

The economics come from the pod's resources, the container's run time (from its
container status) and the node's labels; measured energy and prices (Kepler, OpenCost)
win over the estimate where a Prometheus was given, energy the trial reported itself
replaces the estimate only, and a carbon-intensity service gives the grid over the run
unless the study fixed it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import Study
from tradeoff.economics import (
    EconomicsConfig,
    IntensityReading,
    config_for_node,
    node_info_from_node,
    price_trial,
    resources_from_pod_spec,
    study_fixes_intensity,
)
from tradeoff.engine import reported_energy_kwh
from tradeoff.kube.attempts import container_status, parse_time, terminated_state
from tradeoff.kube.measure import Measure, inputs

__all__ = ["IntensityReader", "price", "run_window"]

Obj = dict[str, Any]
IntensityReader = Callable[[str | None, datetime, datetime, float], IntensityReading]
"""(region, start, end, configured gCO2e/kWh) -> the intensity over the run."""


def run_window(pod: Obj, container: str, now: datetime) -> tuple[datetime | None, datetime]:
    """When the container started and finished (now, while it has not)."""
    term = terminated_state(pod, container)
    running = (container_status(pod, container).get("state") or {}).get("running") or {}
    started = parse_time(term.get("startedAt")) or parse_time(running.get("startedAt"))
    started = started or parse_time((pod.get("status") or {}).get("startTime"))
    return started, parse_time(term.get("finishedAt")) or now


def price(
    study: Study,
    pod: Obj,
    node: Obj | None,
    base: EconomicsConfig,
    container: str,
    now: datetime,
    reported: Mapping[str, float] | None = None,
    measure: Measure | None = None,
    read_intensity: IntensityReader | None = None,
) -> TrialEconomics | None:
    """Cost, energy and carbon of the attempt so far (None if it never started).

    With `measure` (a Prometheus URL was given), Kepler's energy and OpenCost's prices of
    the run win; where they are missing the estimate is used and the trial says why.
    Energy the trial reported itself (metric `energy`, kWh) replaces the estimate, not a
    measurement from outside the pod (a tenant's report is not evidence). With
    `read_intensity` (a carbon-intensity service), the grid intensity is read over the
    run in the node's region, unless the study fixed `economics.carbon.gramsPerKWh`.
    """
    started, finished = run_window(pod, container, now)
    if started is None:
        return None
    info = node_info_from_node(node) if node is not None else None
    try:
        resources = resources_from_pod_spec(pod.get("spec") or {})
    except ValueError:
        return None
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    reading = None
    if measure is not None:
        reading = measure(
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            spec.get("nodeName"),
            started,
            finished if terminated_state(pod, container) else None,
            resources.gpus,
        )
    got = inputs(reading, reported_energy_kwh(reported or {}), study)
    config = config_for_node(base, info, study.spec.economics, got.measured_prices)
    duration = max(0.0, (finished - started).total_seconds())
    region = info.region if info else None
    intensity = None
    if read_intensity is not None and not study_fixes_intensity(study.spec.economics):
        intensity = read_intensity(region, started, finished, config.grams_per_kwh)
    return price_trial(
        resources,
        duration,
        config,
        energy_kwh=got.energy_kwh,
        region=region,
        energy_detail=got.energy_detail,
        prices=got.prices,
        cpu_seconds=got.cpu_seconds,
        memory_gib_used=got.memory_gib_used,
        intensity=intensity,
    )
