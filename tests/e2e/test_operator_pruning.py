"""Early stopping in the cluster: the log is followed live and a pruned trial's pod goes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import REPO, Operator, events, pods, trials, wait_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_median_pruner_stops_a_worse_trial(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    result = cluster.kubectl("apply", "-f", str(REPO / "examples" / "pruning-cluster.yaml"))
    assert result.returncode == 0, result.stderr
    done = wait_study(cluster, "pruning", timeout=60)
    assert done["status"]["state"] == "Succeeded", done["status"]
    assert done["status"]["trials"]["pruned"] >= 1

    first, *later = trials(cluster, "pruning")
    assert first["status"]["state"] == "Succeeded"
    assert [s["step"] for s in first["status"]["intermediate"]] == list(range(10))
    pruned = [t for t in later if t["status"]["state"] == "Pruned"]
    assert pruned, [t["status"] for t in later]
    for trial in pruned:
        status = trial["status"]
        assert status["reason"] == "Pruned" and status["message"].startswith("median stopped it")
        steps = [s["step"] for s in status["intermediate"]]
        assert 2 <= steps[-1] < 9, steps  # stopped after the warm-up, before the end
        assert status["lastIntermediate"]["accuracy"] == status["intermediate"][-1]["value"]
        assert status["economics"]["gramsPerKWh"] == 50  # the study's override wins
        assert status.get("values") is None
        assert status["completionTime"]
    # The pruned trials' pods are deleted (just after their status is written, so a timer
    # pass may finish the Study in between); the finished one's pod remains.
    gone = {t["status"]["podName"] for t in pruned}

    def pods_now() -> set[str] | None:
        names = {p["metadata"]["name"] for p in pods(cluster, "pruning")}
        return None if gone & names else names

    names = cluster.wait_for(pods_now, timeout=15, message="pruned trials' pods deleted")
    assert first["status"]["podName"] in names
    # The Event follows the Trial's status write: a timer pass may finish the Study between.
    name = pruned[0]["metadata"]["name"]
    assert cluster.wait_for(
        lambda: any(e["reason"] == "TrialPruned" for e in events(cluster, name)), timeout=10
    )
