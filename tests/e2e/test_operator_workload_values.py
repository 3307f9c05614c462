"""Workload trials on the emulator: parameters that set replica counts and numNodes, and
the artifact storage mounted into the workload's primary pod.

The pods are made by `FakeWorkloadController` (a test double of the Job, Kubeflow and
Trainer controllers) and run by the LocalKubelet (a test double of the kubelet).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    QUICK_TRIAL,
    Operator,
    apply,
    condition,
    state,
    study,
    trials,
    wait_study,
)
from tests.e2e.test_operator_workloads import (
    ALLOW,
    WORKER,
    _container,
    cluster,
    job,
    objects,
    trainjob,
    workload_study,
)

__all__ = ["cluster"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
CLAIM = "tradeoff-artifacts"
GRID = {"name": "grid"}
X = {"name": "x", "type": "categorical", "values": [0.3]}


def pods_of(cluster: Cluster, trial: str) -> list[str]:
    found = cluster.list("pods", cluster.namespace, "", f"tradeoff.dev/trial={trial}")
    return sorted(p["metadata"]["name"] for p in found)


def test_parameters_set_the_worker_count_of_a_pytorchjob(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    workload = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": {"spec": {"containers": [_container()]}}},
                "Worker": {
                    "replicas": "${params.workers}",
                    "template": {"spec": {"containers": [_container(WORKER)]}},
                },
            }
        },
    }
    parameters = [X, {"name": "workers", "type": "categorical", "values": [1, 3]}]
    manifest = workload_study(
        "sized", workload, parameters=parameters, algorithm=GRID,
        budget={"maxTrials": 2, "parallelism": 2},
    )  # fmt: skip
    operator("--standalone", env=ALLOW)
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "sized", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    for trial in trials(cluster, "sized"):
        name, workers = trial["metadata"]["name"], trial["spec"]["parameters"]["workers"]
        made = cluster.get("pytorchjobs", f"{name}-a1", group="kubeflow.org")
        assert made is not None
        assert made["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == workers  # an int
        expected = [f"{name}-a1-master-0"] + [f"{name}-a1-worker-{i}" for i in range(workers)]
        assert pods_of(cluster, name) == expected


def test_a_trainjob_runs_as_many_nodes_as_its_parameter_says(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    train = trainjob(QUICK_TRIAL, numNodes="${params.nodes}")
    parameters = [X, {"name": "nodes", "type": "categorical", "values": [3]}]
    manifest = workload_study(
        "nodes", train, parameters=parameters, budget={"maxTrials": 1, "parallelism": 1}
    )
    operator("--standalone", env=ALLOW)
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "nodes", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    made = cluster.get("trainjobs", "nodes-0000-a1", group="trainer.kubeflow.org")
    assert made is not None and made["spec"]["trainer"]["numNodes"] == 3
    selector = "jobset.sigs.k8s.io/jobset-name=nodes-0000-a1"
    assert len(cluster.list("pods", cluster.namespace, "", selector)) == 3


SAVES = (
    "import json, os\n"
    "from trial_runner import save_artifact\n"
    "save_artifact('model.txt', ('weights of ' + os.environ['TRADEOFF_TRIAL']).encode())\n"
    "print('TRADEOFF_METRICS ' + json.dumps({'accuracy': 0.9}))\n"
)


def test_the_workloads_primary_pod_saves_artifacts_on_the_claim(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    volume = tmp_path / "claim"  # the kubelet test double's stand-in for the claim's volume
    volume.mkdir()
    assert cluster.kubelet is not None
    cluster.kubelet.claims[CLAIM] = volume
    workload: dict[str, Any] = job(SAVES)
    operator("--standalone", env={**ALLOW, "TRADEOFF_ARTIFACTS_CLAIM": CLAIM})
    manifest = workload_study("saved", workload, budget={"maxTrials": 1, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "saved", timeout=60)
    [trial] = trials(cluster, "saved")
    assert state(done) == "Succeeded", trial["status"]
    [saved] = trial["status"]["artifacts"]
    assert saved["path"] == "saved/saved-0000/a1/model.txt"
    content = (volume / saved["path"]).read_bytes()
    assert content == b"weights of saved-0000"
    assert saved["sha256"] == hashlib.sha256(content).hexdigest()
    made = cluster.get("jobs", "saved-0000-a1", group="batch")
    assert made is not None
    mounts = made["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert mounts[-1]["subPath"] == "saved/saved-0000/a1"


TRAIN = (
    "import os, sys\n"
    "lr = float(sys.argv[1].split('=')[1])\n"
    "assert lr == float(os.environ['KUBEFLOW_TRAINER_OPT_LEARNING_RATE'])\n"
    "print(f'val_loss={abs(lr - 0.01) + int(os.environ[\"KUBEFLOW_TRAINER_OPT_BATCH_SIZE\"])}')\n"
)
OPTIMIZATION_JOB = {  # in the shape of Kubeflow Trainer's OptimizationJob (KEP-3562)
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "OptimizationJob",
    "metadata": {"name": "tuning"},
    "spec": {
        "objectives": [{"metric": "val_loss", "direction": "Minimize"}],
        "searchAlgorithm": {"random": {"seed": 3}},
        "parameters": [
            {"name": "learning_rate",
             "searchSpace": {"logUniform": {"min": "0.001", "max": "0.1"}}},
            {"name": "batch-size", "searchSpace": {"categorical": {"choices": ["1", "2"]}}},
        ],
        "numTrials": 2,
        "parallelTrials": 2,
        "trainJobTemplate": {
            "spec": {
                "runtimeRef": {"name": "torch-distributed"},
                "trainer": {
                    "image": "tradeoff:0.1.0",
                    "command": ["python", "-c", TRAIN],
                    "args": ["--lr=$(KUBEFLOW_TRAINER_OPT_LEARNING_RATE)"],
                    "numNodes": 2,
                    "resourcesPerNode": {"requests": {"cpu": "250m", "memory": "128Mi"}},
                },
            }
        },
    },
}  # fmt: skip


def test_an_imported_optimization_job_runs_each_trial_as_a_whole_trainjob(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    source, out = tmp_path / "optimizationjob.yaml", tmp_path / "study.yaml"
    source.write_text(yaml.safe_dump(OPTIMIZATION_JOB))
    imported = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", "import", str(source), "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "the whole TrainJob runs as each trial" in imported.stderr
    operator("--standalone", env=ALLOW)
    assert cluster.kubectl("apply", "-f", str(out)).returncode == 0
    done = wait_study(cluster, "tuning", timeout=60)
    assert state(done) == "Succeeded", done["status"]
    for trial in trials(cluster, "tuning"):
        name, params = trial["metadata"]["name"], trial["spec"]["parameters"]
        made = cluster.get("trainjobs", f"{name}-a1", group="trainer.kubeflow.org")
        assert made is not None and made["spec"]["trainer"]["numNodes"] == 2
        selector = f"jobset.sigs.k8s.io/jobset-name={name}-a1"
        assert len(cluster.list("pods", cluster.namespace, "", selector)) == 2  # both nodes
        expected = abs(params["learning_rate"] - 0.01) + int(params["batch_size"])
        assert trial["status"]["metrics"]["val_loss"] == pytest.approx(expected)


def test_a_misspelt_reference_in_the_workload_spec_is_one_line_on_the_study(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    workload = job()
    workload["spec"]["parallelism"] = "${params.worker}"
    operator("--standalone", env=ALLOW)
    assert apply(cluster, workload_study("misspelt", workload)).returncode == 0

    def refused() -> Any:
        valid = condition(study(cluster, "misspelt"), "Valid")
        return valid if valid and valid["status"] == "False" else None

    valid = cluster.wait_for(refused, timeout=30)
    assert valid["message"] == (
        "spec.trialTemplate.workload.spec.parallelism: '${params.worker}' names unknown"
        " parameter 'worker'; parameters: x"
    )
    assert trials(cluster, "misspelt") == [] and objects(cluster, "jobs", "batch") == []


def test_a_trainjobs_node_saves_artifacts_on_the_claim(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    volume = tmp_path / "claim"  # the kubelet test double's stand-in for the claim's volume
    volume.mkdir()
    assert cluster.kubelet is not None
    cluster.kubelet.claims[CLAIM] = volume
    train = trainjob(SAVES)
    operator("--standalone", env={**ALLOW, "TRADEOFF_ARTIFACTS_CLAIM": CLAIM})
    manifest = workload_study("tsaved", train, budget={"maxTrials": 1, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "tsaved", timeout=60)
    [trial] = trials(cluster, "tsaved")
    assert state(done) == "Succeeded", trial["status"]
    [saved] = trial["status"]["artifacts"]
    assert saved["path"] == "tsaved/tsaved-0000/a1/model.txt"
    assert (volume / saved["path"]).read_bytes() == b"weights of tsaved-0000"
