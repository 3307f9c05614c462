"""`auto` learns from the ended Studies of the same space in the namespace, in the cluster."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, study_manifest, wait_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TRIAL = (
    "import json, os\n"
    "print('TRADEOFF_METRICS ' + json.dumps({'loss': float(os.environ['LOSS'])}))\n"
)
"""Each study's trials report the loss its template sets: which algorithm did better
is then known (the template is not part of the space)."""
SPACE: dict[str, Any] = {
    "parameters": [
        {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
        {"name": "c", "type": "categorical", "values": ["a", "b"]},
    ],
    "objectives": [{"name": "loss", "direction": "minimize"}],
}


def manifest(name: str, algorithm: str, loss: float, trials: int = 2) -> dict[str, Any]:
    return study_manifest(
        name,
        code=TRIAL,
        env={"LOSS": str(loss)},
        budget={"maxTrials": trials, "parallelism": 2},
        algorithm={"name": algorithm, "seed": 5},
        **copy.deepcopy(SPACE),
    )


def test_a_study_takes_the_algorithm_its_space_s_history_shows_does_better(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone")
    for i in range(3):
        assert apply(cluster, manifest(f"nsga-{i}", "nsga2", 0.0)).returncode == 0
        assert apply(cluster, manifest(f"tpe-{i}", "auto", 0.5)).returncode == 0
    other = manifest("other-space", "random", -9.0)
    other["spec"]["objectives"][0]["direction"] = "maximize"  # another space: not history
    assert apply(cluster, other).returncode == 0
    for name in [f"{a}-{i}" for a in ("nsga", "tpe") for i in range(3)] + ["other-space"]:
        assert wait_study(cluster, name, timeout=90)["status"]["state"] == "Succeeded"

    assert apply(cluster, manifest("new", "auto", 0.3)).returncode == 0
    done = wait_study(cluster, "new", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    choice = done["status"]["algorithm"]
    assert choice["name"] == "nsga2", choice
    assert choice["reason"].startswith(
        "auto from history: 6 finished studies of this space (3 nsga2, 3 tpe): nsga2 did better"
    )
    assert "nsga2 median 1.000 over 3 (nsga-0, nsga-1, nsga-2)" in choice["reason"]
    assert "the fixed rule said tpe: categorical or conditional parameters" in choice["reason"]
