"""Measured economics in the cluster: Kepler's energy, OpenCost's prices and cAdvisor's
usage of a pod's run, read from the Prometheus the operator was pointed at
(`--prometheus-url`), and how they replace the estimate's inputs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tradeoff.api.economics import QuantitySource
from tradeoff.api.study import Study
from tradeoff.economics.measured import Measurement, NodePrices, Usage, measure
from tradeoff.economics.prometheus import Prometheus

__all__ = ["Inputs", "Measure", "inputs", "measurer"]

log = logging.getLogger("tradeoff.operator")

Measure = Callable[[str, str, "str | None", datetime, "datetime | None", int], Measurement]
"""(namespace, pod, node, started, finished (None: still running), GPUs) -> what Prometheus
measured of the run."""


def measurer(
    url: str | None, timeout: float, settle: float, sleep: Callable[[float], object] = time.sleep
) -> Measure | None:
    """What reads a pod's run from Prometheus at `url`; None without a URL.

    It is called once when an attempt ends (Kepler forgets terminated pods after a while),
    `settle` seconds after the run's end at the earliest, so that a scrape in flight at the
    end is stored (a pod still running, pruned or cancelled, is read up to now at once); it
    never raises: a measurement that is missing is logged in one line and the trial records
    why its estimate was used.
    """
    if not url:
        return None
    prom = Prometheus(url, timeout)

    def read(
        namespace: str,
        pod: str,
        node: str | None,
        started: datetime,
        finished: datetime | None,
        gpus: int,
    ) -> Measurement:
        if finished is not None:
            wait = settle - (datetime.now(UTC) - finished).total_seconds()
            if wait > 0:
                sleep(wait)
        end = finished or datetime.now(UTC)
        found = measure(prom, namespace, pod, node, started, end, gpus)
        if found.energy.kwh is None:
            log.warning("pod %s/%s: energy estimated: %s", namespace, pod, found.energy.detail)
        if not found.prices.known:
            log.warning("pod %s/%s: prices configured: %s", namespace, pod, found.prices.detail)
        return found

    return read


@dataclass(frozen=True)
class Inputs:
    """What `price_trial` gets besides resources, duration and config."""

    energy_kwh: float | None = None
    energy_detail: str | None = None
    prices: QuantitySource | None = None
    measured_prices: tuple[float, float, float | None] | None = None
    cpu_seconds: float | None = None
    memory_gib_used: float | None = None


def inputs(reading: Measurement | None, reported_kwh: float | None, study: Study) -> Inputs:
    """The pricing inputs of a run: measurements win; energy the trial reported itself
    replaces the estimate, not a measurement from outside the pod (a tenant's report is
    not evidence)."""
    if reading is None:
        return Inputs(energy_kwh=reported_kwh)
    if reading.energy.kwh is not None:
        energy, detail = reading.energy.kwh, reading.energy.detail
    elif reported_kwh is not None:
        energy, detail = reported_kwh, f"reported by the trial; {reading.energy.detail}"
    else:
        energy, detail = None, reading.energy.detail
    source, prices = _prices(reading.prices, reading.usage, study)
    return Inputs(
        energy_kwh=energy,
        energy_detail=detail,
        prices=source,
        measured_prices=prices,
        cpu_seconds=reading.usage.cpu_seconds,
        memory_gib_used=reading.usage.memory_gib,
    )


def _prices(
    prices: NodePrices, usage: Usage, study: Study
) -> tuple[QuantitySource, tuple[float, float, float | None] | None]:
    """The source of a run's prices (and the usage billed) and the measured prices, if any."""
    detail = f"{prices.detail}; {usage.detail}"
    if prices.cpu_hour is None or prices.memory_gib_hour is None:
        return QuantitySource(source="configured", detail=detail[:300]), None
    pricing = study.spec.economics.pricing if study.spec.economics else None
    if pricing is not None:
        named = [k for k, v in pricing.model_dump(by_alias=True).items() if v is not None]
        if named:
            detail = f"{detail}; the study's spec.economics.pricing wins: {', '.join(named)}"
    source = QuantitySource(source="measured", detail=detail[:300])
    return source, (prices.cpu_hour, prices.memory_gib_hour, prices.gpu_hour)
