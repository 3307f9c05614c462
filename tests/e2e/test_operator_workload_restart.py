"""Restart safety of trials that are workloads: the operator is killed at a crash point
(`TRADEOFF_CRASH_AT`) around a Job trial; restarted, it leaves no workload running for a
trial that no longer wants it and never makes a second workload for one attempt.

The Jobs' pods are made by `FakeWorkloadController` (a test double of the Job controller).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import REPO, Operator, apply, state, trials, wait_study
from tests.e2e.test_operator_restart import CRASH_EXIT, finished
from tests.e2e.test_operator_workloads import ALLOW, cluster, job, objects, workload_study

__all__ = ["cluster"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]
LINGER = 40
"""Seconds a pruned trial's training keeps running after its last step (so a Job the
operator failed to delete is still running when the test looks)."""


def job_names(cluster: Cluster) -> list[str]:
    return [j["metadata"]["name"] for j in objects(cluster, "jobs", "batch")]


def made_pods(cluster: Cluster) -> list[str]:
    assert cluster.workloads is not None
    return list(cluster.workloads.created)


def pruning_over_jobs() -> dict[str, Any]:
    manifest = yaml.safe_load((REPO / "examples" / "pruning-cluster.yaml").read_text())
    template = manifest["spec"]["trialTemplate"]
    pod = template.pop("pod")
    code = pod["containers"][0]["command"][2]
    # Later trials (the pruned ones) keep training well past their last reported step.
    pod["containers"][0]["command"][2] = code + f"if number:\n    time.sleep({LINGER})\n"
    job = {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": pod}}}
    template["workload"] = job
    return manifest


def test_a_crash_after_recording_pruned_leaves_no_job_running(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    crashing = operator("--standalone", env={**ALLOW, "TRADEOFF_CRASH_AT": "after-trial-pruned"})
    assert apply(cluster, pruning_over_jobs()).returncode == 0
    assert crashing.wait_exit(60) == CRASH_EXIT
    before = finished(cluster, "pruning")
    [pruned] = [name for name, status in before.items() if status["state"] == "Pruned"]
    left = f"{pruned}-a1"
    job = cluster.get("jobs", left, group="batch")
    assert job is not None and not (job.get("status") or {}).get("conditions")  # still running
    restarted = operator("--standalone", env=ALLOW)
    # The restarted operator's first pass over the study deletes the pruned trial's Job
    # (it would run LINGER seconds more), and with it the Job's pod.
    cluster.wait_for(lambda: left not in job_names(cluster), timeout=20, message="Job deleted")
    assert f"Deleting leftover Job {cluster.namespace}/{left}" in restarted.log
    cluster.wait_for(
        lambda: not cluster.list("pods", cluster.namespace, "", f"tradeoff.dev/trial={pruned}"),
        timeout=20,
        message="the pruned trial's pod is gone",
    )
    done = wait_study(cluster, "pruning", timeout=90)
    assert state(done) == "Succeeded", done["status"]
    after = finished(cluster, "pruning")
    assert all(after[name] == status for name, status in before.items())
    listed = trials(cluster, "pruning")
    assert all(t["status"]["attempts"] == 1 for t in listed)
    pods = made_pods(cluster)  # one pod per trial's one Job: none made twice
    assert sorted(pods) == [f"{t['metadata']['name']}-a1-0" for t in listed]
    assert f"{listed[0]['metadata']['name']}-a1" in job_names(cluster)  # a finished Job stays


POINTS = ["before-pod-create", "after-pod-create:2", "before-trial-finish", "after-trial-finish"]


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_around_a_workload_trial_loses_and_duplicates_nothing(
    cluster: Cluster, operator: Callable[..., Operator], point: str
) -> None:
    crashing = operator("--standalone", env={**ALLOW, "TRADEOFF_CRASH_AT": point})
    manifest = workload_study("wrestart", job(), budget={"maxTrials": 3, "parallelism": 2})
    assert apply(cluster, manifest).returncode == 0
    assert crashing.wait_exit(40) == CRASH_EXIT
    before = finished(cluster, "wrestart")
    operator("--standalone", env=ALLOW)
    done = wait_study(cluster, "wrestart", timeout=60)
    assert state(done) == "Succeeded" and done["status"]["progress"] == "3/3", done["status"]
    listed = trials(cluster, "wrestart")
    names = [t["metadata"]["name"] for t in listed]
    assert names == [f"wrestart-{i:04d}" for i in range(3)]
    assert all(state(t) == "Succeeded" and t["status"]["attempts"] == 1 for t in listed)
    assert job_names(cluster) == [f"{n}-a1" for n in names]  # one Job per trial
    assert sorted(made_pods(cluster)) == [f"{n}-a1-0" for n in names]  # none made twice
    after = finished(cluster, "wrestart")
    assert all(after[name] == status for name, status in before.items())
