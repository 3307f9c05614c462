"""Warm start in the cluster: a Study waits for the Study it starts from, then runs with
its trials as priors (not counted, not on the front) and its own configurations first."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    Operator,
    apply,
    condition,
    events,
    study,
    study_manifest,
    trials,
    wait_study,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_study_warm_starts_from_an_ended_study_of_its_namespace(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone")
    earlier = study_manifest("earlier", budget={"maxTrials": 3}, env={"SLEEP": "1.5"})
    warm = {"fromStudies": [{"name": "earlier"}], "trials": [{"parameters": {"x": 0.5}}]}
    later = study_manifest("later", budget={"maxTrials": 3}, warmStart=warm)
    assert apply(cluster, earlier).returncode == 0
    assert apply(cluster, later).returncode == 0

    def waiting() -> object:
        ready = condition(study(cluster, "later"), "WarmStartReady")
        return ready if ready and ready["status"] == "False" else None

    ready = cluster.wait_for(waiting, timeout=30, interval=0.2)
    assert ready["reason"] == "WaitingForSource"  # type: ignore[index]
    assert trials(cluster, "later") == []  # nothing runs while the source runs

    assert wait_study(cluster, "earlier", timeout=60)["status"]["state"] == "Succeeded"
    done = wait_study(cluster, "later", timeout=60)
    s = done["status"]
    assert s["state"] == "Succeeded" and s["progress"] == "3/3"
    assert s["warmStart"] == "3 prior trials (earlier: 3); 1 configuration to run first"
    assert condition(done, "WarmStartReady")["status"] == "True"  # type: ignore[index]
    assert [t["spec"]["number"] for t in trials(cluster, "later")] == [0, 1, 2]
    assert trials(cluster, "later")[0]["spec"]["parameters"] == {"x": 0.5}
    assert all(p["trial"].startswith("later-") for p in s["paretoFront"])
    assert "WaitingForWarmStart" in [e["reason"] for e in events(cluster, "later")]


def test_a_study_of_another_namespace_is_refused(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone")
    warm = {"fromStudies": [{"name": "earlier", "namespace": "kube-system"}]}
    assert apply(cluster, study_manifest("nosy", warmStart=warm)).returncode == 0
    done = wait_study(cluster, "nosy", timeout=60)
    assert done["status"]["state"] == "Failed"
    valid = condition(done, "Valid")
    assert valid is not None and valid["status"] == "False"
    assert "Studies of namespace kube-system cannot be read" in valid["message"]
    assert trials(cluster, "nosy") == []
