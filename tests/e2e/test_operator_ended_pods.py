"""`TRADEOFF_DELETE_ENDED_PODS`: a trial's pods go once its end is recorded, never before."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, pods, state, study_manifest, trials, wait_study
from tests.e2e.test_operator_restart import CRASH_EXIT, FAIL_FIRST_ATTEMPT, finished
from tests.e2e.test_operator_scale import instant_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
DELETE = {"TRADEOFF_DELETE_ENDED_PODS": "true"}


def test_a_finished_trial_keeps_its_result_and_loses_every_pod(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone", env=DELETE)
    apply(cluster, instant_study("gone", 8))
    retried = study_manifest(
        "retried", code=FAIL_FIRST_ATTEMPT, budget={"maxTrials": 2, "parallelism": 2},
        template={"retries": 1},
    )  # fmt: skip
    container = retried["spec"]["trialTemplate"]["pod"]["containers"][0]
    label = "metadata.labels['tradeoff.dev/attempt']"
    container["env"].append({"name": "ATTEMPT", "valueFrom": {"fieldRef": {"fieldPath": label}}})
    apply(cluster, retried)
    for name, count, attempts in (("gone", 8, 1), ("retried", 2, 2)):
        done = wait_study(cluster, name, timeout=120)
        assert done["status"]["trials"]["succeeded"] == count
        listed = trials(cluster, name)
        assert all(t["status"]["metrics"].get("accuracy") is not None for t in listed)
        assert all(t["status"]["attempts"] == attempts for t in listed)
        assert_no_pods_left(cluster, name)


def assert_no_pods_left(cluster: Cluster, name: str) -> None:
    """Every pod of the study goes (soon after its trial's end is seen)."""
    message = f"pods of {name} left"
    cluster.wait_for(lambda: pods(cluster, name) == [], timeout=20, message=message)


def test_kept_by_default(cluster: Cluster, operator: Callable[..., Operator]) -> None:
    operator("--standalone")
    apply(cluster, instant_study("kept", 3))
    wait_study(cluster, "kept", timeout=60)
    assert sorted(p["metadata"]["name"] for p in pods(cluster, "kept")) == [
        f"kept-{i:04d}-a1" for i in range(3)
    ]


@pytest.mark.parametrize("point", ["before-trial-finish", "after-trial-finish"])
def test_a_crash_around_the_end_loses_no_result(
    cluster: Cluster, operator: Callable[..., Operator], point: str
) -> None:
    """Killed before the end is written, the pod is still there to read the result from;
    killed after it, the result is kept, and the restarted operator deletes the pod."""
    crashing = operator("--standalone", env={**DELETE, "TRADEOFF_CRASH_AT": point})
    apply(cluster, study_manifest("crashed", budget={"maxTrials": 4, "parallelism": 2}))
    assert crashing.wait_exit(30) == CRASH_EXIT
    before = finished(cluster, "crashed")
    operator("--standalone", env=DELETE)
    done = wait_study(cluster, "crashed", timeout=60)
    assert done["status"]["state"] == "Succeeded" and done["status"]["progress"] == "4/4"
    listed = trials(cluster, "crashed")
    assert [t["metadata"]["name"] for t in listed] == [f"crashed-{i:04d}" for i in range(4)]
    assert all(state(t) == "Succeeded" and t["status"]["attempts"] == 1 for t in listed)
    after = finished(cluster, "crashed")
    for name, status in before.items():  # what had finished stays exactly as it was
        assert after[name] == status
    assert_no_pods_left(cluster, "crashed")
