"""A test double of Kepler's and OpenCost's exporters, for a real Prometheus to scrape.

It serves, in the Prometheus text format, for the emulated cluster's pods and node:

* Kepler 0.10 (`kepler_pod_cpu_joules_total{pod_id, pod_name, pod_namespace, state,
  zone}`, zones package, core, uncore and dram at `WATTS`; an ended pod's series moves
  from `state="running"` to `state="terminated"`, as Kepler 0.10's do) or Kepler 0.9
  (`kepler_container_joules_total{pod_name, container_namespace, container_name, mode}`,
  modes dynamic and idle at `WATTS_09`), chosen per pod by `flavour(pod_name)` (None: the
  pod is not served at all);
* cAdvisor's (the kubelet's) `container_cpu_usage_seconds_total` at `CPU_CORES` and
  `container_memory_working_set_bytes` at `WORKING_SET` for every running pod, for the
  container `trial` and, as the kubelet does, for the whole pod (`container=""`);
* OpenCost's `node_cpu_hourly_cost`, `node_ram_hourly_cost`, `node_gpu_hourly_cost` and
  `kubecost_node_is_spot` for every node at `PRICES`.

A counter is its rate times the time the pod has run, counted from the pod's
`startedAt` (as the API shows it) and frozen at its `finishedAt`: so the energy of a run
is, by construction, the rate times the run's duration as the operator records it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from tests.cluster.harness import Cluster

Flavour = Literal["0.10", "0.9"] | None
WATTS = {"package": 10.0, "core": 6.0, "uncore": 1.5, "dram": 2.0}
"""Kepler 0.10 zones in J/s. core and uncore lie inside package: they must not be added."""
WATTS_09 = {"dynamic": 7.0, "idle": 3.0}
"""Kepler 0.9 modes in J/s (both count: idle power is shared among the pods)."""
CPU_CORES = 0.9
"""CPU-seconds per second the trial container uses (more than its 250m request)."""
WORKING_SET = 512 * 2**20
"""Bytes of memory the trial container holds (more than its 128Mi request)."""
PRICES = {
    "node_cpu_hourly_cost": 0.05,
    "node_ram_hourly_cost": 0.01,
    "node_gpu_hourly_cost": 0.9,
    "kubecost_node_is_spot": 1.0,
}


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def run_seconds(pod: dict[str, Any], now: datetime) -> float | None:
    """How long the pod's first container has run, by its API timestamps (None: not yet)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if not statuses:
        return None
    state = statuses[0].get("state") or {}
    term = state.get("terminated") or {}
    started = _time(term.get("startedAt") or (state.get("running") or {}).get("startedAt"))
    if started is None:
        return None
    finished = _time(term.get("finishedAt")) or now
    return max(0.0, (finished - started).total_seconds())


def ended(pod: dict[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses and (statuses[0].get("state") or {}).get("terminated"))


class KeplerOpenCostDouble:
    """The exporter on loopback: `start()` / `stop()`; `port` for the scrape config."""

    def __init__(self, cluster: Cluster, flavour: Callable[[str], Flavour]) -> None:
        self.cluster, self.flavour = cluster, flavour
        self.scrapes = 0
        self.served: dict[str, float] = {}
        """The last value of each series, by its exposition line's name and labels."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> KeplerOpenCostDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def exposition(self) -> str:
        """The text a scrape gets now."""
        now = datetime.now(UTC)
        lines = [
            "# TYPE kepler_pod_cpu_joules_total counter",
            "# TYPE kepler_container_joules_total counter",
            "# TYPE container_cpu_usage_seconds_total counter",
            "# TYPE container_memory_working_set_bytes gauge",
        ]
        for pod in self.cluster.list("pods"):
            meta = pod["metadata"]
            name, namespace = meta["name"], meta["namespace"]
            seconds = run_seconds(pod, now)
            if seconds is None:
                continue
            for container in ("trial", ""):
                labels = f'namespace="{namespace}",pod="{name}",container="{container}"'
                lines.append(f"container_cpu_usage_seconds_total{{{labels}}} {CPU_CORES * seconds}")
                lines.append(f"container_memory_working_set_bytes{{{labels}}} {WORKING_SET}")
            kind = self.flavour(name)
            if kind is None:
                continue
            if kind == "0.10":
                # As Kepler 0.10 does, an ended pod's series moves to state="terminated".
                state = "terminated" if ended(pod) else "running"
                for zone, watts in WATTS.items():
                    labels = (
                        f'pod_id="{meta["uid"]}",pod_name="{name}",pod_namespace="{namespace}",'
                        f'state="{state}",zone="{zone}",node_name="local-node"'
                    )
                    lines.append(f"kepler_pod_cpu_joules_total{{{labels}}} {watts * seconds}")
            else:
                for mode, watts in WATTS_09.items():
                    labels = (
                        f'pod_name="{name}",container_namespace="{namespace}",'
                        f'container_name="trial",mode="{mode}"'
                    )
                    lines.append(f"kepler_container_joules_total{{{labels}}} {watts * seconds}")
        for node in self.cluster.list("nodes"):
            labels = f'node="{node["metadata"]["name"]}",instance_type="m5.large"'
            for metric, value in PRICES.items():
                lines.append(f"{metric}{{{labels}}} {value}")
        for i, line in enumerate(lines):
            if not line.startswith(("kepler_", "container_cpu")):
                continue
            series, value = line.rsplit(" ", 1)
            kept = max(float(value), self.served.get(series, 0.0))  # counters never go down
            self.served[series] = kept
            lines[i] = f"{series} {kept}"
        return "\n".join(lines) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = double.exposition().encode()
                double.scrapes += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
