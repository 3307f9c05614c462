"""E2E helpers: the operator as a process, small Study manifests, reading objects back.

Objects are read straight from the emulator's store; manifests go through the real
`kubectl apply -f -`.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.cluster.containers import INSTANT_COMMAND
from tests.cluster.harness import Cluster

GROUP = "tradeoff.dev"
REPO = Path(__file__).resolve().parents[2]
FINISHED = ("Succeeded", "Failed", "Pruned")
FAST_ENV = {"TRADEOFF_RECONCILE_INTERVAL": "1", "TRADEOFF_STATUS_INTERVAL": "0.3"}

# A trial that sleeps a little and reports accuracy from its parameter `x` (no shell: the
# parameters arrive in TRADEOFF_PARAMS).
QUICK_TRIAL = (
    "import json, os, time\n"
    "p = json.loads(os.environ['TRADEOFF_PARAMS'])\n"
    "time.sleep(float(os.environ.get('SLEEP', '0.3')))\n"
    "print('TRADEOFF_METRICS ' + json.dumps({'accuracy': 1 - (p['x'] - 0.3) ** 2}))\n"
)


class Operator:
    """One `tradeoff operator` process; its output goes to a log file."""

    def __init__(self, cluster: Cluster, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("w")
        command = [sys.executable, "-m", "tradeoff.cli", "operator", *args]
        self.process = subprocess.Popen(
            command,
            env={**cluster.env(), **FAST_ENV, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def priority(self) -> int:
        """Its peering priority, as its start-up line says."""
        found = re.search(r"\(peering \S+ priority (\d+)\)", self.log)
        assert found, "the operator has not said its peering priority"
        return int(found.group(1))

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, like a node failure or an OOM kill."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._log.close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout)


# -- manifests and objects ----------------------------------------------------------------
def study_manifest(
    name: str,
    *,
    code: str = QUICK_TRIAL,
    parameters: list[dict[str, Any]] | None = None,
    objectives: list[dict[str, Any]] | None = None,
    budget: dict[str, Any] | None = None,
    template: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    instant: list[str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A small Study whose trials run `python -c code`, or, with `instant`, end at once
    with those lines as their log (the local kubelet starts no process)."""
    container: dict[str, Any] = {
        "name": "trial",
        "image": "tradeoff:0.1.0",
        "command": [INSTANT_COMMAND] if instant else ["python", "-c", code],
        "args": instant or args or [],
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}},
    }
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Study",
        "metadata": {"name": name},
        "spec": {
            "objectives": objectives
            or [
                {"name": "accuracy", "direction": "maximize"},
                {"name": "cost", "direction": "minimize"},
            ],
            "parameters": parameters or [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 11},
            "budget": {"maxTrials": 3, "parallelism": 2, "maxFailedTrials": 3, **(budget or {})},
            "trialTemplate": {
                "activeDeadline": "1m",
                **(template or {}),
                "pod": {"containers": [container]},
            },
            **spec,
        },
    }


def apply(cluster: Cluster, manifest: dict[str, Any] | str) -> subprocess.CompletedProcess[str]:
    text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
    return cluster.kubectl("apply", "-f", "-", input=text)


def study(cluster: Cluster, name: str) -> dict[str, Any]:
    found = cluster.get("studies", name, group=GROUP)
    assert found is not None, f"study {name} is gone"
    return found


def trials(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    items = cluster.list("trials", cluster.namespace, GROUP, f"tradeoff.dev/study={name}")
    return sorted(items, key=lambda t: t["spec"]["number"])


def pods(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    items = cluster.list("pods", cluster.namespace, "", f"tradeoff.dev/study={name}")
    return sorted(items, key=lambda p: p["metadata"]["name"])


def state(obj: dict[str, Any]) -> str | None:
    return (obj.get("status") or {}).get("state")


def wait_study(
    cluster: Cluster,
    name: str,
    states: tuple[str, ...] = ("Succeeded", "Failed"),
    timeout: float = 60,
) -> dict[str, Any]:
    """Wait until the Study reaches one of `states` and return it."""

    def reached() -> Any:
        found = cluster.get("studies", name, group=GROUP)
        return found if found is not None and state(found) in states else None

    try:
        found: dict[str, Any] = cluster.wait_for(reached, timeout=timeout, interval=0.2)
        return found
    except TimeoutError:
        current = cluster.get("studies", name, group=GROUP)
        raise TimeoutError(f"study {name} not {states}: {(current or {}).get('status')}") from None


def wait_trials(
    cluster: Cluster,
    name: str,
    predicate: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30,
) -> list[dict[str, Any]]:
    def check() -> Any:
        found = trials(cluster, name)
        return found if predicate(found) else None

    found: list[dict[str, Any]] = cluster.wait_for(
        check, timeout=timeout, interval=0.1, message=f"trials of {name}"
    )
    return found


def condition(obj: dict[str, Any], type: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == type:
            return dict(c)
    return None


def events(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cluster.list("events", cluster.namespace)
        if e.get("involvedObject", {}).get("name") == name
    ]


def settle(seconds: float) -> None:
    time.sleep(seconds)
