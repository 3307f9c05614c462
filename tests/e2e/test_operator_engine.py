"""The engine's guarantees in the cluster: huge spaces in small memory, no stall on a
finite space, and a forged record that runs nothing."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    GROUP,
    Operator,
    apply,
    condition,
    events,
    study,
    study_manifest,
    trials,
    wait_study,
)
from tests.unit.test_signing import Payload

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
HUGE = Path(__file__).resolve().parents[1] / "unit" / "manifests" / "huge"
INSTANT = "import json, os; print('accuracy=' + str(len(os.environ['TRADEOFF_PARAMS'])))"


def peak_rss_mb(operator: Operator) -> float:
    status = Path(f"/proc/{operator.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_huge_spaces_run_in_small_memory(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """An int over 0..2e9, a float with step 1e-10 and a 1e10-point grid: the first two
    run, the grid ends Valid=False at once; the operator stays far under 300 MB."""
    op = operator()
    for path in HUGE.glob("*.yaml"):
        manifest = yaml.safe_load(path.read_text())
        container = manifest["spec"]["trialTemplate"]["pod"]["containers"][0]
        container["command"] = ["python", "-c", INSTANT]
        container.pop("args", None)
        assert apply(cluster, manifest).returncode == 0
    grid = wait_study(cluster, "big-grid", ("Failed",), timeout=30)
    valid = condition(grid, "Valid")
    assert valid is not None and valid["status"] == "False"
    assert "the grid has 1e+10 points" in valid["message"]
    for name in ("huge-int", "fine-step"):
        done = wait_study(cluster, name, timeout=120)
        assert done["status"]["state"] == "Succeeded", done["status"]
        assert done["status"]["trials"]["succeeded"] == 4
    assert peak_rss_mb(op) < 300


def test_a_finite_space_runs_to_exhaustion(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """`int 0..59`, maxTrials 60, tpe: exactly the 60 values, then SearchSpaceExhausted."""
    operator()
    manifest = study_manifest(
        "finite",
        instant=["accuracy=${params.count}"],
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        parameters=[{"name": "count", "type": "int", "low": 0, "high": 59}],
        algorithm={"name": "tpe", "seed": 5},
        budget={"maxTrials": 60, "parallelism": 6},
    )
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "finite", timeout=200)
    assert done["status"]["state"] == "Succeeded", done["status"]
    succeeded = condition(done, "Succeeded")
    assert succeeded is not None and succeeded["reason"] == "SearchSpaceExhausted"
    values = sorted(t["spec"]["parameters"]["count"] for t in trials(cluster, "finite"))
    assert values == list(range(60))


def test_a_forged_sampler_state_runs_nothing(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    """A Trial whose sampler state carries a pickle (written past the operator): the
    operator never unpickles it and says which trial with a Warning Event."""
    marker = tmp_path / "pwned"
    manifest = study_manifest(
        "forged",
        instant=["accuracy=${params.a}"],
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        parameters=[
            {"name": "a", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "b", "type": "float", "low": 0.0, "high": 1.0},
        ],
        algorithm={"name": "cmaes", "seed": 5, "settings": {"nStartupTrials": 1}},
        budget={"maxTrials": 3, "parallelism": 1},
    )
    assert apply(cluster, manifest).returncode == 0
    op = operator()
    wait_study(cluster, "forged", timeout=150)
    op.stop()
    owner = study(cluster, "forged")
    # The forged record as a tenant with write access to Trials would make it.
    trial: dict[str, Any] = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Trial",
        "metadata": {
            "name": "forged-0003",
            "labels": {"tradeoff.dev/study": "forged", "tradeoff.dev/trial": "forged-0003"},
            "ownerReferences": [
                {
                    "apiVersion": f"{GROUP}/v1alpha1",
                    "kind": "Study",
                    "name": "forged",
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {
            "study": "forged",
            "number": 3,
            "parameters": {"a": 0.5, "b": 0.5},
            "samplerState": {
                "trial": {"cma:optimizer:0": pickle.dumps(Payload(marker)).hex()},
                "signature": "0" * 64,
            },
        },
    }
    trial["status"] = {
        "state": "Succeeded",
        "values": [0.9],
        "metrics": {"accuracy": 0.9},
        "attempts": 1,
    }
    cluster.apply(trial)
    patched = study(cluster, "forged")
    patched["spec"]["budget"]["maxTrials"] = 6
    assert apply(cluster, {k: v for k, v in patched.items() if k != "status"}).returncode == 0
    second = operator()

    def finished() -> bool:
        status = study(cluster, "forged").get("status") or {}
        return status.get("state") == "Succeeded" and status["trials"]["created"] >= 6

    try:
        cluster.wait_for(finished, timeout=120, interval=0.5)
    except TimeoutError:
        status = study(cluster, "forged").get("status")
        raise AssertionError(f"{status}\noperator log:\n{second.log[-6000:]}") from None
    assert not marker.exists()
    warned = [e for e in events(cluster, "forged") if e["reason"] == "UntrustedRecord"]
    assert warned and "trial forged-0003" in warned[0]["message"]
