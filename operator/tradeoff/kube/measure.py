"""Measured economics in the cluster: Kepler's energy and OpenCost's prices of a pod's run,
read from the Prometheus the operator was pointed at (`--prometheus-url`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tradeoff.economics.measured import Measurement, measure
from tradeoff.economics.prometheus import Prometheus
from tradeoff.kube.attempts import Measure

__all__ = ["measurer"]

log = logging.getLogger("tradeoff.operator")


def measurer(
    url: str | None, timeout: float, settle: float, sleep: Callable[[float], object] = time.sleep
) -> Measure | None:
    """What reads a pod's run from Prometheus at `url`; None without a URL.

    It is called once when an attempt ends (Kepler forgets terminated pods after a while),
    `settle` seconds after the run's end at the earliest, so that a scrape in flight at the
    end is stored; it never raises: a measurement that is missing is logged in one line and
    the trial records why its estimate was used.
    """
    if not url:
        return None
    prom = Prometheus(url, timeout)

    def read(
        namespace: str,
        pod: str,
        node: str | None,
        started: datetime,
        finished: datetime,
        gpus: int,
    ) -> Measurement:
        wait = settle - (datetime.now(UTC) - finished).total_seconds()
        if wait > 0:
            sleep(wait)
        found = measure(prom, namespace, pod, node, started, finished, gpus)
        if found.energy.kwh is None:
            log.warning("pod %s/%s: energy estimated: %s", namespace, pod, found.energy.detail)
        if not found.prices.known:
            log.warning("pod %s/%s: prices configured: %s", namespace, pod, found.prices.detail)
        return found

    return read
