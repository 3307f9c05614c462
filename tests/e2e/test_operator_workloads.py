"""Trials that are not one pod: Job, PyTorchJob, a generic resource, Kueue, the allowlist.

The real operator runs against the emulator with the workload CRDs installed; the pods
are made by `FakeWorkloadController` (a test double of the Job/Kubeflow controllers) and
run by the LocalKubelet; `FakeKueue` (a test double) holds queued Jobs suspended.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    GROUP,
    QUICK_TRIAL,
    REPO,
    Operator,
    apply,
    condition,
    state,
    study,
    study_manifest,
    trials,
    wait_study,
    wait_trials,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

KINDS = ",".join(
    [
        "batch/v1/Job=jobs",
        "kubeflow.org/v1/PyTorchJob=pytorchjobs",
        "example.dev/v1/TrainingRun=trainingruns",
        "jobset.x-k8s.io/v1alpha2/JobSet=jobsets",
        "trainer.kubeflow.org/v1alpha1/TrainJob=trainjobs",
    ]
)
ALLOW = {"TRADEOFF_WORKLOAD_KINDS": KINDS}
WORKER = "import time; time.sleep(float(__import__('os').environ.get('SLEEP', '0.3'))); print('w')"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(workloads=True) as running:
        yield running


def _container(code: str = QUICK_TRIAL, sleep: str = "0.3", cpu: str = "250m") -> dict[str, Any]:
    return {
        "name": "trial",
        "image": "tradeoff:0.1.0",
        "command": ["python", "-c", code],
        "env": [{"name": "SLEEP", "value": sleep}],
        "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}},
    }


def trainjob(code: str, cpu: str = "250m", **trainer: Any) -> dict[str, Any]:
    """A TrainJob on the Trainer test double's `torch-distributed` runtime running `code`."""
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {
                "image": "tradeoff:0.1.0",
                "command": ["python", "-c", code],
                **trainer,
                "resourcesPerNode": {"requests": {"cpu": cpu, "memory": "128Mi"}},
            },
        },
    }


def workload_study(name: str, workload: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    manifest = study_manifest(name, **kwargs)
    template = manifest["spec"]["trialTemplate"]
    del template["pod"]
    template["workload"] = workload
    return manifest


def job(code: str = QUICK_TRIAL, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {"backoffLimit": 0, "template": {"spec": {"containers": [_container(code)]}}},
        **extra,
    }


def objects(cluster: Cluster, plural: str, group: str) -> list[dict[str, Any]]:
    return sorted(
        cluster.list(plural, cluster.namespace, group), key=lambda o: o["metadata"]["name"]
    )


def test_a_study_over_jobs_runs_each_trial_as_a_job(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone", env=ALLOW)
    assert apply(cluster, workload_study("jobs", job())).returncode == 0
    done = wait_study(cluster, "jobs", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    found = trials(cluster, "jobs")
    assert [state(t) for t in found] == ["Succeeded"] * 3
    jobs = objects(cluster, "jobs", "batch")
    assert [j["metadata"]["name"] for j in jobs] == [f"{t['metadata']['name']}-a1" for t in found]
    for trial, made in zip(found, jobs, strict=True):
        owner = made["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"]) == ("Trial", trial["metadata"]["uid"])
        pod_template = made["spec"]["template"]
        assert pod_template["metadata"]["labels"]["tradeoff.dev/trial"] == trial["metadata"]["name"]
        assert pod_template["spec"]["securityContext"]["runAsNonRoot"] is True  # hardened
        x = trial["spec"]["parameters"]["x"]
        assert trial["status"]["metrics"]["accuracy"] == pytest.approx(1 - (x - 0.3) ** 2)
        assert trial["status"]["economics"]["source"] == "estimated"
    # Deleting the Study deletes its Trials, their Jobs and the Jobs' pods (owner chain).
    assert cluster.kubectl("delete", "study", "jobs", "--wait=false").returncode == 0
    cluster.wait_for(
        lambda: (
            not objects(cluster, "jobs", "batch")
            and not cluster.list("pods", cluster.namespace, "", "tradeoff.dev/study=jobs")
        ),
        timeout=30,
    )


def test_pytorchjob_economics_sum_master_and_worker_metrics_from_master(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    worker = _container(WORKER, sleep="1.0", cpu="1")
    master = _container(sleep="1.0", cpu="1")
    workload = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": {"spec": {"containers": [master]}}},
                "Worker": {"replicas": 1, "template": {"spec": {"containers": [worker]}}},
            }
        },
    }
    operator("--standalone", env=ALLOW)
    manifest = workload_study("torch", workload, budget={"maxTrials": 1, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "torch", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    [trial] = trials(cluster, "torch")
    pods = cluster.list("pods", cluster.namespace, "", "tradeoff.dev/trial=torch-0000")
    assert sorted(p["metadata"]["name"] for p in pods) == [
        "torch-0000-a1-master-0",
        "torch-0000-a1-worker-0",
    ]
    assert trial["status"]["podName"] == "torch-0000-a1-master-0"
    assert "accuracy" in trial["status"]["metrics"]  # only the master prints it
    # Both pods ask for 1 CPU and run about as long (>= 1 s, times in whole seconds): the
    # summed cost is 1.5-2x what one pod running the trial's duration (the longest) costs.
    economics = trial["status"]["economics"]
    per_second = (1.0 * 0.031611 + 128 / 1024 * 0.004237) / 3600
    assert economics["durationSeconds"] >= 1
    ratio = economics["costUSD"] / (economics["durationSeconds"] * per_second)
    assert 1.4 <= ratio <= 2.05, economics


def test_generic_resource_with_conditions_and_a_failed_workload(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    run = {
        "apiVersion": "example.dev/v1",
        "kind": "TrainingRun",
        "podTemplates": ["spec.template"],
        "successCondition": "status.phase == Succeeded",
        "failureCondition": "status.phase == Failed",
        "spec": {"template": {"spec": {"containers": [_container()]}}},
    }
    failing = copy.deepcopy(job("import sys; print('boom'); sys.exit(3)"))
    operator("--standalone", env=ALLOW)
    budget = {"maxTrials": 1, "parallelism": 1, "maxFailedTrials": 1}
    assert apply(cluster, workload_study("generic", run, budget=budget)).returncode == 0
    assert apply(cluster, workload_study("broken", failing, budget=budget)).returncode == 0
    good = wait_study(cluster, "generic", timeout=60)
    assert state(good) == "Succeeded", good["status"]
    [trial] = trials(cluster, "generic")
    assert trial["status"]["metrics"]["accuracy"] > 0
    wait_study(cluster, "broken", timeout=60)
    [bad] = trials(cluster, "broken")
    assert state(bad) == "Failed"
    assert bad["status"]["reason"] == "WorkloadFailed"
    assert "Job broken-0000-a1 failed" in bad["status"]["message"]
    assert "pod broken-0000-a1-0 failed" in bad["status"]["message"]


def test_a_restarted_operator_adopts_the_running_workload(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    first = operator("--standalone", env={**ALLOW, "TRADEOFF_CRASH_AT": "after-pod-create"})
    manifest = workload_study("adopt", job(), budget={"maxTrials": 1, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    # Crashed after creating the Job, before counting the attempt: the next one adopts it.
    assert first.wait_exit(30) == 70
    operator("--standalone", env=ALLOW)
    done = wait_study(cluster, "adopt", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    assert [j["metadata"]["name"] for j in objects(cluster, "jobs", "batch")] == ["adopt-0000-a1"]
    assert cluster.workloads is not None
    assert cluster.workloads.created == ["adopt-0000-a1-0"]  # one pod, never a second Job
    assert trials(cluster, "adopt")[0]["status"]["attempts"] == 1


def test_a_queued_job_is_pending_waiting_for_quota_until_kueue_admits_it(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone", env=ALLOW)
    manifest = workload_study(
        "queued", job(queueName="team-a"), budget={"maxTrials": 1, "parallelism": 1}
    )
    assert apply(cluster, manifest).returncode == 0
    waiting = wait_trials(
        cluster,
        "queued",
        lambda ts: bool(ts) and (ts[0].get("status") or {}).get("reason") == "WaitingForQuota",
    )[0]
    assert state(waiting) == "Pending"
    assert "Kueue queue team-a" in waiting["status"]["message"]
    [made] = objects(cluster, "jobs", "batch")
    assert made["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert made["spec"]["suspend"] is True
    assert cluster.list("pods", cluster.namespace, "", "tradeoff.dev/study=queued") == []
    assert cluster.kueue is not None
    cluster.kueue.release("team-a")
    done = wait_study(cluster, "queued", timeout=60)
    assert state(done) == "Succeeded", done["status"]


def test_a_kind_the_admin_did_not_allow_is_refused_in_one_line(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone", env={"TRADEOFF_WORKLOAD_KINDS": "batch/v1/Job=jobs"})
    torch = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"template": {"spec": {"containers": [_container()]}}}
            }
        },
    }
    assert apply(cluster, workload_study("refused", torch)).returncode == 0

    def refused() -> Any:
        found = study(cluster, "refused")
        valid = condition(found, "Valid")
        return valid if valid and valid["status"] == "False" else None

    valid = cluster.wait_for(refused, timeout=30)
    assert valid["message"] == (
        "spec.trialTemplate.workload.kind: PyTorchJob (kubeflow.org/v1) is not allowed by the "
        "trial policy (allowed: Job (batch/v1)); the cluster admin lists the kinds in the Helm "
        "value trialPolicy.workloads"
    )
    assert trials(cluster, "refused") == []
    assert objects(cluster, "pytorchjobs", "kubeflow.org") == []
    assert cluster.get("studies", "refused", group=GROUP) is not None


def test_a_jobset_and_a_trainjob_each_run_all_their_pods(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    def replicated(name: str, replicas: int, code: str) -> dict[str, Any]:
        pod = {"spec": {"containers": [_container(code)]}}
        return {"name": name, "replicas": replicas, "template": {"spec": {"template": pod}}}

    jobset = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "primaryReplica": "leader",
        "spec": {
            "replicatedJobs": [
                replicated("workers", 2, WORKER),
                replicated("leader", 1, QUICK_TRIAL),
            ]
        },
    }
    train = trainjob(QUICK_TRIAL, cpu="500m", numNodes=2)
    operator("--standalone", env=ALLOW)
    budget = {"maxTrials": 1, "parallelism": 1}
    assert apply(cluster, workload_study("set", jobset, budget=budget)).returncode == 0
    assert apply(cluster, workload_study("train", train, budget=budget)).returncode == 0
    for name in ("set", "train"):
        done = wait_study(cluster, name, timeout=60)
        assert state(done) == "Succeeded", done["status"]
    [leader] = trials(cluster, "set")
    assert leader["status"]["podName"] == "set-0000-a1-leader-0-0"  # not a worker's
    assert "accuracy" in leader["status"]["metrics"]
    [trained] = trials(cluster, "train")
    assert trained["status"]["podName"] == "train-0000-a1-node-0-0"
    made = cluster.get("trainjobs", "train-0000-a1", group="trainer.kubeflow.org")
    assert made is not None
    assert made["spec"]["trainer"]["env"][0]["name"] == "TRADEOFF_PARAMS"
    assert made["metadata"]["ownerReferences"][0]["uid"] == trained["metadata"]["uid"]


def test_a_cancelled_trial_deletes_its_workload(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    slow = job()
    slow["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "SLEEP", "value": "60"}]
    operator("--standalone", env=ALLOW)
    manifest = workload_study(
        "slow", slow, budget={"maxTrials": 1, "parallelism": 1, "timeout": "4s"}
    )
    assert apply(cluster, manifest).returncode == 0
    wait_trials(cluster, "slow", lambda ts: bool(ts) and state(ts[0]) == "Running")
    assert objects(cluster, "jobs", "batch")
    wait_study(cluster, "slow", timeout=30)
    [trial] = wait_trials(
        cluster, "slow", lambda ts: (ts[0].get("status") or {}).get("reason") == "Cancelled"
    )
    assert "cancelled" in trial["status"]["message"]
    cluster.wait_for(lambda: not objects(cluster, "jobs", "batch"), timeout=20)
    cluster.wait_for(
        lambda: not cluster.list("pods", cluster.namespace, "", "tradeoff.dev/study=slow"),
        timeout=20,
    )


def test_a_pruned_workload_trial_is_followed_live_and_its_job_deleted(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    manifest = yaml.safe_load((REPO / "examples" / "pruning-cluster.yaml").read_text())
    template = manifest["spec"]["trialTemplate"]
    pod = template.pop("pod")
    template["workload"] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {"template": {"spec": pod}},
    }
    operator("--standalone", env=ALLOW)
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "pruning", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    first, *later = trials(cluster, "pruning")
    assert [s["step"] for s in first["status"]["intermediate"]] == list(range(10))
    pruned = [t for t in later if state(t) == "Pruned"]
    assert pruned, [t["status"] for t in later]
    steps = [s["step"] for s in pruned[0]["status"]["intermediate"]]
    assert 2 <= steps[-1] < 9, steps  # read from the primary pod's log while it ran
    assert pruned[0]["status"]["economics"]["durationSeconds"] >= 0
    gone = {f"{t['metadata']['name']}-a1" for t in pruned}
    cluster.wait_for(
        lambda: not gone & {j["metadata"]["name"] for j in objects(cluster, "jobs", "batch")},
        timeout=15,
    )
    assert f"{first['metadata']['name']}-a1" in {
        j["metadata"]["name"] for j in objects(cluster, "jobs", "batch")
    }
