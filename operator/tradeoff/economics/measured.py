"""Measured energy (Kepler), node prices (OpenCost) and usage (cAdvisor) of one pod's run,
read from Prometheus.

Energy is read at the run's end from Kepler's per-pod counters, which start at zero when
Kepler first sees the pod: each series' last value by then plus its slope (``deriv``)
times the time since that sample (the scrape interval's tail). ``increase()`` is not
used: it extrapolates to the window's start by at most 1.1 scrape intervals, so it loses
the first seconds of a run whose first sample came later. A Kepler restart during the run
(a counter reset) undercounts.

* Kepler 0.10 and later: ``kepler_pod_cpu_joules_total`` (labels ``pod_namespace``,
  ``pod_name``, ``zone``) plus ``kepler_pod_gpu_joules_total``. RAPL zones overlap:
  ``core`` and ``uncore`` lie inside ``package``, and ``psys`` is the whole platform, so
  only disjoint zones are summed (``zones_to_sum``).
* Kepler 0.9: ``kepler_container_joules_total`` (labels ``container_namespace``,
  ``pod_name``; the sum over components and idle/dynamic modes), when 0.10's is absent.

Prices are OpenCost's ``node_cpu_hourly_cost`` (USD per vCPU-hour),
``node_ram_hourly_cost`` (per GiB-hour) and ``node_gpu_hourly_cost`` (per GPU-hour) of
the pod's node, averaged over the run (at least the last ``PRICE_LOOKBACK_S``), and
``kubecost_node_is_spot``. OpenCost already prices a spot node at its spot price.

Nothing here fails a trial: a Prometheus error or missing series gives ``None`` and the
reason, which the trial records as why its estimate was used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from tradeoff.economics.prometheus import Prometheus, PrometheusError, label_value

__all__ = [
    "PRICE_LOOKBACK_S",
    "KeplerEnergy",
    "Measurement",
    "NodePrices",
    "Usage",
    "cadvisor_usage",
    "kepler_energy",
    "measure",
    "opencost_prices",
    "zones_to_sum",
]

PRICE_LOOKBACK_S = 300.0
"""Prices are averaged over at least this many seconds before the pod's end: OpenCost's
prices change rarely, and a run shorter than a scrape interval has no sample of its own."""
_JOULES_PER_KWH = 3.6e6
_DETAIL_MAX = 300


@dataclass(frozen=True)
class KeplerEnergy:
    """Device energy of a pod's run (PUE not applied) and what was read, or why not."""

    kwh: float | None
    detail: str


@dataclass(frozen=True)
class NodePrices:
    """A node's hourly prices over a run (None when unknown) and what was read, or why not."""

    cpu_hour: float | None
    memory_gib_hour: float | None
    gpu_hour: float | None
    spot: bool | None
    detail: str

    @property
    def known(self) -> bool:
        return self.cpu_hour is not None and self.memory_gib_hour is not None


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 3] + "..."


def _window(seconds: float) -> str:
    """A PromQL range of ``seconds``, in milliseconds (at least 1 ms)."""
    return f"{max(1, math.ceil(seconds * 1000))}ms"


def zones_to_sum(zones: set[str]) -> tuple[list[str], list[str]]:
    """Which RAPL zones to add up for CPU energy without double counting, and which not.

    ``package`` (+ ``dram``) when there is a package; else ``psys`` alone (the platform,
    which already includes the package and memory); else ``core`` + ``uncore`` (+
    ``dram``). A zone name with a socket suffix (``package-1``) counts as its base name.
    No CPU zone among them: nothing is summed.
    """
    bases = {z.lower().split("-")[0] for z in zones}
    if "package" in bases:
        chosen = ["package", "dram"]
    elif "psys" in bases:
        chosen = ["psys"]
    elif bases & {"core", "uncore"}:
        chosen = ["core", "uncore", "dram"]
    else:
        return [], sorted(zones)
    summed = sorted(z for z in zones if z.lower().split("-")[0] in chosen)
    return summed, sorted(zones - set(summed))


def kepler_energy(
    prom: Prometheus,
    namespace: str,
    pod: str,
    started: datetime,
    finished: datetime,
    gpus: int = 0,
) -> KeplerEnergy:
    """Energy Kepler counted for ``namespace/pod`` between ``started`` and ``finished``."""
    window = _window((finished - started).total_seconds())
    try:
        return _kepler_010(prom, namespace, pod, window, finished, gpus) or _kepler_09(
            prom, namespace, pod, window, finished
        )
    except PrometheusError as error:
        return KeplerEnergy(None, _clip(f"Kepler: {error}"))


def _total(selector: str, window: str) -> str:
    """PromQL for each counter's value at the evaluation time (see the module's text), of
    the series sampled during the run only (an earlier pod of the same name is not)."""
    tail = f"deriv({selector}[{window}]) * (time() - timestamp({selector}))"
    return f"((({selector} + {tail}) or {selector}) and count_over_time({selector}[{window}]))"


def _kepler_010(
    prom: Prometheus, namespace: str, pod: str, window: str, at: datetime, gpus: int
) -> KeplerEnergy | None:
    match = f"pod_namespace={label_value(namespace)}, pod_name={label_value(pod)}"
    cpu_total = _total(f"kepler_pod_cpu_joules_total{{{match}}}", window)
    cpu = prom.query(f"sum by (zone) {cpu_total}", at)
    if not cpu:
        return None
    by_zone = {s.labels.get("zone", ""): s.value for s in cpu}
    summed, skipped = zones_to_sum(set(by_zone))
    if not summed:
        zones = ", ".join(sorted(by_zone)) or "none"
        return KeplerEnergy(
            None, _clip(f"Kepler: kepler_pod_cpu_joules_total has no CPU zone (zones: {zones})")
        )
    gpu = prom.query(f"sum({_total(f'kepler_pod_gpu_joules_total{{{match}}}', window)})", at)
    if gpus and not gpu:
        return KeplerEnergy(
            None, f"Kepler: no kepler_pod_gpu_joules_total for a pod with {gpus} GPU(s)"
        )
    cpu_j = sum(by_zone[z] for z in summed)
    gpu_j = sum(s.value for s in gpu)
    left = f" (not added: {', '.join(skipped)})" if skipped else ""
    detail = (
        f"Kepler kepler_pod_cpu_joules_total zones {'+'.join(summed)}{left}: {cpu_j:.6g} J; "
        f"kepler_pod_gpu_joules_total: {gpu_j:.6g} J; by the run's end"
    )
    return KeplerEnergy((cpu_j + gpu_j) / _JOULES_PER_KWH, _clip(detail))


def _kepler_09(
    prom: Prometheus, namespace: str, pod: str, window: str, at: datetime
) -> KeplerEnergy:
    match = f"container_namespace={label_value(namespace)}, pod_name={label_value(pod)}"
    total = _total(f"kepler_container_joules_total{{{match}}}", window)
    found = prom.query(f"sum({total})", at)
    if not found:
        return KeplerEnergy(
            None,
            _clip(
                f"Kepler: no samples of pod {namespace}/{pod} by the run's end "
                "(kepler_pod_cpu_joules_total, kepler_container_joules_total); a run shorter "
                "than a scrape interval may have none"
            ),
        )
    joules = found[0].value
    detail = (
        f"Kepler 0.9 kepler_container_joules_total (all components and modes of the pod's "
        f"containers): {joules:.6g} J; by the run's end"
    )
    return KeplerEnergy(joules / _JOULES_PER_KWH, _clip(detail))


def opencost_prices(
    prom: Prometheus, node: str, started: datetime, finished: datetime, gpus: int = 0
) -> NodePrices:
    """OpenCost's hourly prices of ``node`` averaged over the run, and whether it is spot."""
    seconds = max((finished - started).total_seconds(), PRICE_LOOKBACK_S)
    window = _window(seconds)
    match = f"node={label_value(node)}"
    values: dict[str, float | None] = {}
    try:
        for metric in (
            "node_cpu_hourly_cost",
            "node_ram_hourly_cost",
            "node_gpu_hourly_cost",
            "kubecost_node_is_spot",
        ):
            how = "max" if metric == "kubecost_node_is_spot" else "avg"
            found = prom.query(f"{how}({how}_over_time({metric}{{{match}}}[{window}]))", finished)
            values[metric] = found[0].value if found else None
    except PrometheusError as error:
        return NodePrices(None, None, None, None, _clip(f"OpenCost: {error}"))
    missing = [m for m in ("node_cpu_hourly_cost", "node_ram_hourly_cost") if values[m] is None]
    if gpus and values["node_gpu_hourly_cost"] is None:
        missing.append("node_gpu_hourly_cost")
    negative = [m for m, v in values.items() if v is not None and v < 0]
    if negative:
        reason = f"OpenCost: {', '.join(negative)} of node {node} is negative"
        return NodePrices(None, None, None, None, _clip(reason))
    if missing:
        reason = f"OpenCost: no {', '.join(missing)} for node {node} over {window}"
        return NodePrices(None, None, None, None, _clip(reason))
    cpu, ram, gpu = (
        values["node_cpu_hourly_cost"],
        values["node_ram_hourly_cost"],
        values["node_gpu_hourly_cost"],
    )
    spot = None if values["kubecost_node_is_spot"] is None else values["kubecost_node_is_spot"] > 0
    kind = {True: "spot", False: "on-demand", None: "spot unknown"}[spot]
    gpu_text = f", {gpu:.6g} USD/GPU-h" if gpu is not None else ""
    detail = (
        f"OpenCost node {node} ({kind}): {cpu:.6g} USD/vCPU-h, {ram:.6g} USD/GiB-h"
        f"{gpu_text}; average over {window}"
    )
    return NodePrices(cpu, ram, gpu, spot, _clip(detail))


@dataclass(frozen=True)
class Usage:
    """What a pod's containers used over a run (cAdvisor, through the kubelet), if known."""

    cpu_seconds: float | None
    memory_gib: float | None
    detail: str


def cadvisor_usage(
    prom: Prometheus, namespace: str, pod: str, started: datetime, finished: datetime
) -> Usage:
    """CPU-seconds and the peak working set of the pod's containers over the run.

    ``container_cpu_usage_seconds_total`` is read like Kepler's counters (it starts with
    the container); ``container_memory_working_set_bytes`` is each container's peak, summed.
    The pod-level series (``container=""``) and the pause container are left out.
    """
    window = _window((finished - started).total_seconds())
    match = (
        f'namespace={label_value(namespace)}, pod={label_value(pod)}, container!="", '
        'container!="POD"'
    )
    try:
        cpu = prom.query(
            f"sum({_total(f'container_cpu_usage_seconds_total{{{match}}}', window)})", finished
        )
        memory = prom.query(
            f"sum(max_over_time(container_memory_working_set_bytes{{{match}}}[{window}]))",
            finished,
        )
    except PrometheusError as error:
        return Usage(None, None, _clip(f"usage: {error}"))
    cpu_s = max(0.0, cpu[0].value) if cpu else None
    gib = max(0.0, memory[0].value) / 2**30 if memory else None
    if cpu_s is None and gib is None:
        return Usage(None, None, f"usage: no cAdvisor series of pod {namespace}/{pod}")
    parts = [f"{cpu_s:.6g} CPU-s" if cpu_s is not None else "CPU unknown"]
    parts.append(f"peak {gib:.6g} GiB" if gib is not None else "memory unknown")
    return Usage(cpu_s, gib, f"usage (cAdvisor): {', '.join(parts)}")


@dataclass(frozen=True)
class Measurement:
    """What Prometheus said about one pod's run: its energy, its node's prices, its usage."""

    energy: KeplerEnergy
    prices: NodePrices
    usage: Usage


def measure(
    prom: Prometheus,
    namespace: str,
    pod: str,
    node: str | None,
    started: datetime,
    finished: datetime,
    gpus: int = 0,
) -> Measurement:
    """Kepler's energy of the pod, OpenCost's prices of its node and its containers'
    usage over the run."""
    energy = kepler_energy(prom, namespace, pod, started, finished, gpus)
    if node:
        prices = opencost_prices(prom, node, started, finished, gpus)
    else:
        prices = NodePrices(None, None, None, None, "OpenCost: the pod was bound to no node")
    return Measurement(energy, prices, cadvisor_usage(prom, namespace, pod, started, finished))
