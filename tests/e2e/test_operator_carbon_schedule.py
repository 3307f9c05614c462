"""Carbon-aware scheduling in the cluster: trials wait for a cleaner grid (within maxDelay),
and a parameter may place trials in a region, each priced where it actually ran."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.carbon_api import CarbonApi
from tests.cluster.harness import Cluster
from tests.cluster.kubelet import LocalKubelet
from tests.e2e.helpers import (
    Operator,
    apply,
    events,
    pods,
    study_manifest,
    trials,
    wait_study,
    wait_trials,
)
from tests.e2e.test_operator_carbon import seconds_trace
from tests.e2e.test_operator_study import fetch, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]
POLL = {"TRADEOFF_CARBON_POLL": "0.3", "TRADEOFF_INTENSITY_TOKEN": "t0ken"}


class Grid:
    """An intensity the test turns up and down: `level` for every zone."""

    def __init__(self, level: float) -> None:
        self.level = level

    def __call__(self, zone: str, moment: datetime) -> float:
        return self.level


def economics_file(tmp_path: Path, api: CarbonApi, **intensity: Any) -> Path:
    path = tmp_path / "economics.json"
    settings = {"provider": "electricitymaps", "url": api.url, **intensity}
    path.write_text(json.dumps({"intensity": settings}))
    return path


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def deferred_gauge(metrics_port: int, study: str) -> float | None:
    status, text = fetch(f"http://127.0.0.1:{metrics_port}/metrics")
    pattern = rf'tradeoff_carbon_deferred_trials\{{namespace="default",study="{study}"\}} (\S+)'
    found = re.search(pattern, text) if status == 200 else None
    return float(found.group(1)) if found else None


def test_trials_wait_while_the_grid_is_dirty_and_start_when_it_cleans(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    grid = Grid(450.0)
    with CarbonApi(grid, step=1.0) as api:
        path = economics_file(tmp_path, api, region="eu-north-1", zones={"eu-north-1": "SE"})
        port = free_port()
        operator("--economics-config", str(path), "--metrics-port", str(port), env=POLL)
        schedule = {"carbonAware": {"maxIntensity": 300, "maxDelay": "1h"}}
        manifest = study_manifest("patient", schedule=schedule, budget={"maxTrials": 2})
        assert apply(cluster, manifest).returncode == 0
        held = wait_trials(
            cluster,
            "patient",
            lambda ts: (
                len(ts) == 2
                and all(t.get("status", {}).get("reason") == "CarbonDeferred" for t in ts)
            ),
        )
        message = held[0]["status"]["message"]
        assert held[0]["status"]["state"] == "Pending"
        assert "grid intensity in eu-north-1 450 g/kWh is above maxIntensity 300" in message
        assert "maxDelay 1h" in message
        assert cluster.wait_for(lambda: deferred_gauge(port, "patient") == 2, timeout=20)
        assert not [p for p in cluster.list("pods", cluster.namespace)]  # nothing runs
        deferred = [e for e in events(cluster, held[0]["metadata"]["name"])]
        assert any(e["reason"] == "CarbonDeferred" for e in deferred), deferred
        cleaned = datetime.now().astimezone()
        grid.level = 120.0
        done = wait_study(cluster, "patient", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    created = [parse(p["metadata"]["creationTimestamp"]) for p in pods(cluster, "patient")]
    assert len(created) == 2 and min(created) >= cleaned.replace(microsecond=0)
    for trial in trials(cluster, "patient"):
        released = [
            e for e in events(cluster, trial["metadata"]["name"]) if e["reason"] == "CarbonReleased"
        ]
        assert released and "120 g/kWh is within maxIntensity 300" in released[0]["message"]
    assert cluster.wait_for(lambda: deferred_gauge(port, "patient") == 0, timeout=20)


def test_max_delay_bounds_the_wait(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    with CarbonApi(Grid(450.0), step=1.0) as api:
        path = economics_file(tmp_path, api, region="eu-north-1")
        operator("--economics-config", str(path), env=POLL)
        schedule = {"carbonAware": {"maxIntensity": 300, "maxDelay": "3s"}}
        manifest = study_manifest("impatient", schedule=schedule, budget={"maxTrials": 1})
        assert apply(cluster, manifest).returncode == 0
        done = wait_study(cluster, "impatient", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    (trial,) = trials(cluster, "impatient")
    (pod,) = pods(cluster, "impatient")
    waited = parse(pod["metadata"]["creationTimestamp"]) - parse(
        trial["metadata"]["creationTimestamp"]
    )
    assert waited.total_seconds() >= 3
    reasons = {e["reason"]: e["message"] for e in events(cluster, trial["metadata"]["name"])}
    assert "CarbonDeferred" in reasons
    assert "started after waiting maxDelay 3s" in reasons["CarbonReleased"]


def test_no_reading_defers_nothing(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    with CarbonApi(Grid(450.0), step=1.0) as api:
        api.fail_status = 500
        path = economics_file(tmp_path, api, region="eu-north-1")
        operator("--economics-config", str(path), env=POLL)
        schedule = {"carbonAware": {"maxIntensity": 300, "maxDelay": "1h"}}
        manifest = study_manifest("blind", schedule=schedule, budget={"maxTrials": 1})
        assert apply(cluster, manifest).returncode == 0
        done = wait_study(cluster, "blind", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    (trial,) = trials(cluster, "blind")
    assert "CarbonDeferred" not in {e["reason"] for e in events(cluster, trial["metadata"]["name"])}


class PoolKubelet(LocalKubelet):
    """A node that leaves pods whose nodeSelector it does not match to the other nodes."""

    def _schedule(self, pod: dict[str, Any]) -> None:
        wanted = (pod.get("spec") or {}).get("nodeSelector") or {}
        if all(self.labels.get(k) == v for k, v in wanted.items()):
            super()._schedule(pod)


REGION = "topology.kubernetes.io/region"
PLACEMENT_TRIAL = (
    "import json, os, time\n"
    "time.sleep(1.5)\n"
    "print('TRADEOFF_METRICS ' + json.dumps({'accuracy': 0.5}))\n"
)


def test_a_parameter_chooses_the_region_and_each_trial_is_priced_there(tmp_path: Path) -> None:
    cluster = Cluster()
    store, logs = cluster.emulator.store, cluster.emulator.logs
    cluster.kubelet = PoolKubelet(store, logs, node_name="node-se", repo_root=Path.cwd())
    france = {REGION: "eu-west-3", "topology.kubernetes.io/zone": "eu-west-3a"}
    other = PoolKubelet(store, logs, node_name="node-fr", labels=france, repo_root=Path.cwd())
    with cluster, CarbonApi(seconds_trace, step=1.0) as api:
        other.start()
        zones = {"eu-north-1": "SE", "eu-west-3": "FR"}
        path = economics_file(tmp_path, api, zones=zones)
        running = Operator(
            cluster, ["--namespace", "default", "--economics-config", str(path)], POLL,
            tmp_path / "operator.log",
        )  # fmt: skip
        try:
            parameters = [
                {"name": "region", "type": "categorical", "values": ["eu-north-1", "eu-west-3"]}
            ]
            manifest = study_manifest(
                "placed", code=PLACEMENT_TRIAL, parameters=parameters,
                algorithm={"name": "grid"}, budget={"maxTrials": 2},
            )  # fmt: skip
            manifest["spec"]["objectives"] = [{"name": "accuracy", "direction": "maximize"}]
            manifest["spec"]["trialTemplate"]["pod"]["nodeSelector"] = {REGION: "${params.region}"}
            assert apply(cluster, manifest).returncode == 0
            done = wait_study(cluster, "placed", timeout=60)
        finally:
            running.kill()
            other.stop()
    assert done["status"]["state"] == "Succeeded"
    found = trials(cluster, "placed")
    assert {t["spec"]["parameters"]["region"] for t in found} == {"eu-north-1", "eu-west-3"}
    for trial in found:
        region = trial["spec"]["parameters"]["region"]
        econ = trial["status"]["economics"]
        assert econ["region"] == region
        zone = zones[region]
        assert f"zone {zone}" in econ["sources"]["intensity"]["detail"]
        for point in econ["intensitySamples"]:
            assert point["gramsPerKWh"] == seconds_trace(zone, parse(point["time"]))
    french = next(t for t in found if t["spec"]["parameters"]["region"] == "eu-west-3")
    swedish = next(t for t in found if t["spec"]["parameters"]["region"] == "eu-north-1")
    assert french["status"]["economics"]["gramsPerKWh"] > 800  # FR's trace: 900..1080
    assert swedish["status"]["economics"]["gramsPerKWh"] < 300  # SE's: 100..280
