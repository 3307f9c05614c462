"""Trials that are not one pod, as data: the model, the condition language, the policy,
the workload manifest the operator creates, and how it reads a workload back."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tradeoff.api import Trial
from tradeoff.api.conditions import ConditionError, parse_condition
from tradeoff.api.errors import ManifestError
from tradeoff.api.policy import PolicyViolation, TrialPolicy
from tradeoff.api.study import Study
from tradeoff.engine.validation import validate_study
from tradeoff.kube.settings import SettingsError, workload_kinds
from tradeoff.kube.workloads import (
    PRIMARY_LABEL,
    build_workload,
    pod_selector,
    primary_pod,
    workload_state,
)

ALL = (
    ("batch/v1", "Job"),
    ("kubeflow.org/v1", "PyTorchJob"),
    ("jobset.x-k8s.io/v1alpha2", "JobSet"),
    ("trainer.kubeflow.org/v1alpha1", "TrainJob"),
    ("example.dev/v1", "TrainingRun"),
)


def container(name: str = "pytorch", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": "trainer:1",
        "command": ["python", "train.py"],
        "args": ["--lr=${params.lr}"],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
        **extra,
    }


def torch_job(worker: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": {"spec": {"containers": [container()]}}},
                "Worker": {
                    "replicas": 2,
                    "template": {"spec": {"containers": [worker or container()]}},
                },
            }
        },
    }


def manifest(workload: dict[str, Any], **template: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "demo", "namespace": "team-a"},
        "spec": {
            "objectives": [{"name": "loss", "direction": "minimize"}],
            "parameters": [{"name": "lr", "type": "float", "low": 0.001, "high": 0.1}],
            "trialTemplate": {"workload": workload, **template},
        },
    }


def study(workload: dict[str, Any], **template: Any) -> Study:
    return validate_study(manifest(workload, **template))


def problems(workload: dict[str, Any], **template: Any) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        study(workload, **template)
    return caught.value.problems


def trial(number: int = 2) -> Trial:
    return Trial.new("demo", number, {"lr": 0.01}, namespace="team-a")


# -- the condition language ---------------------------------------------------------------
JOB_DONE = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}


@pytest.mark.parametrize(
    ("text", "obj", "holds"),
    [
        ("status.conditions[type=Complete].status == True", JOB_DONE, True),
        ("status.conditions[type=Failed].status == True", JOB_DONE, False),
        ("status.conditions[type=Complete].status != True", JOB_DONE, False),
        ("status.conditions[type=Complete].status == 'True'", JOB_DONE, True),
        ('status.phase == "Succeeded"', {"status": {"phase": "Succeeded"}}, True),
        ("status.phase == Succeeded", {"status": {}}, False),
        ("status.phase != Failed", {}, True),
        ("status.succeeded == 2", {"status": {"succeeded": 2}}, True),
        ("status.completionTime", {"status": {"completionTime": "2026-01-01T00:00:00Z"}}, True),
        ("status.completionTime", {"status": {"completionTime": ""}}, False),
        ("status.ready", {"status": {"ready": True}}, True),
        ("status.ready", {"status": {"ready": False}}, False),
        ("status.conditions[type=Complete].status == True", {"status": {"conditions": 3}}, False),
    ],
)
def test_conditions_evaluate_paths_and_literals(text: str, obj: Any, holds: bool) -> None:
    assert parse_condition(text).holds(obj) is holds


@pytest.mark.parametrize(
    "text",
    [
        "status.phase === Succeeded",
        "__import__('os').system('id')",
        "status.phase == Succeeded or True",
        "status..phase",
        "status.conditions[type==Complete]",
        "x" * 300,
    ],
)
def test_a_condition_is_data_and_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(text)


# -- the model ----------------------------------------------------------------------------
def test_builtin_kinds_need_no_conditions_and_the_primary_defaults_to_master() -> None:
    spec = study(torch_job()).spec.trial_template
    assert spec.workload is not None
    assert spec.primary_pod == {"containers": [container()]}
    success, failure = spec.workload.conditions()
    assert success.holds({"status": {"conditions": [{"type": "Succeeded", "status": "True"}]}})
    assert failure.holds({"status": {"conditions": [{"type": "Failed", "status": "True"}]}})


def test_pod_and_workload_are_exclusive() -> None:
    both = manifest(torch_job())
    both["spec"]["trialTemplate"]["pod"] = {"containers": [container()]}
    with pytest.raises(ManifestError) as caught:
        validate_study(both)
    assert caught.value.problems == ["spec.trialTemplate.pod: give exactly one of pod or workload"]


def test_a_kind_tradeoff_does_not_know_names_its_templates_and_conditions() -> None:
    run = {"apiVersion": "example.dev/v1", "kind": "TrainingRun", "spec": {"template": {}}}
    assert problems(run) == [
        "spec.trialTemplate.workload.podTemplates: required for TrainingRun (example.dev/v1), "
        "a kind Tradeoff does not know (known: Job, JobSet, PyTorchJob, TrainJob)"
    ]
    run |= {
        "podTemplates": ["spec.nowhere"],
        "successCondition": "status.phase == Succeeded",
        "failureCondition": "status.phase = Failed",
        "queueName": "team-a",
    }
    found = problems(run)
    assert (
        "spec.trialTemplate.workload.podTemplates: 'spec.nowhere' holds no pod template in spec"
        in found
    )
    assert any(p.startswith("spec.trialTemplate.workload.failureCondition: ") for p in found)
    assert (
        "spec.trialTemplate.workload.queueName: Kueue needs a kind Tradeoff knows how to suspend"
        in found
    )


def test_references_in_every_pod_template_are_checked() -> None:
    worker = container(args=["--momentum=${params.momentum}"])
    assert problems(torch_job(worker)) == [
        "spec.trialTemplate.workload.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0]"
        ".args[0]: '${params.momentum}' names unknown parameter 'momentum'; parameters: lr"
    ]


def test_primary_replica_and_container_must_exist() -> None:
    found = problems(torch_job() | {"primaryReplica": "Chief"})
    assert found == [
        "spec.trialTemplate.workload.primaryReplica: no replica named 'Chief' "
        "(replicas: Master, Worker)"
    ]
    found = problems(torch_job(), primaryContainer="sidecar")
    assert found == [
        "spec.trialTemplate.primaryContainer: no container named 'sidecar' in the primary pod"
    ]


def test_a_trainjob_may_not_override_what_its_runtime_secures() -> None:
    job = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {"image": "t:1", "command": ["torchrun"], "securityContext": {}},
            "podSpecOverrides": [{"targetJobs": [{"name": "node"}]}],
        },
    }
    assert set(problems(job)) == {
        "spec.trialTemplate.workload.spec.podSpecOverrides: not allowed: a TrainJob's pods get "
        "their security from the runtime",
        "spec.trialTemplate.workload.spec.trainer.securityContext: not allowed (allowed: image, "
        "command, args, env, numNodes, resourcesPerNode)",
    }


# -- the policy ---------------------------------------------------------------------------
def test_the_policy_allows_only_the_admins_kinds_and_checks_every_pod_template() -> None:
    template = study(torch_job()).spec.trial_template
    assert TrialPolicy().trial_template_problems(template) == [
        (
            "spec.trialTemplate.workload.kind",
            "PyTorchJob (kubeflow.org/v1) is not allowed by the trial policy (allowed: none); "
            "the cluster admin lists the kinds in the Helm value trialPolicy.workloads",
        )
    ]
    allowed = TrialPolicy(workload_kinds=ALL)
    assert allowed.trial_template_problems(template) == []
    root_worker = container(securityContext={"privileged": True, "runAsUser": 0})
    template = study(torch_job(root_worker)).spec.trial_template
    found = allowed.trial_template_problems(template)
    where = "spec.trialTemplate.workload.spec.pytorchReplicaSpecs.Worker.template.spec"
    assert found and all(path.startswith(where) for path, _ in found)
    assert any(path == f"{where}.containers[0].securityContext.privileged" for path, _ in found)


# -- the manifest -------------------------------------------------------------------------
def test_the_workload_is_named_owned_labelled_rendered_and_hardened() -> None:
    s = study(torch_job())
    body = build_workload(s, trial(), "trial-uid", 1, TrialPolicy(workload_kinds=ALL))
    assert body["apiVersion"] == "kubeflow.org/v1" and body["kind"] == "PyTorchJob"
    assert body["metadata"]["name"] == "demo-0002-a1"
    assert body["metadata"]["namespace"] == "team-a"
    owner = body["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Trial",
        "demo-0002",
        "trial-uid",
        True,
    )
    replicas = body["spec"]["pytorchReplicaSpecs"]
    for name, rs in replicas.items():
        labels = rs["template"]["metadata"]["labels"]
        assert labels["tradeoff.dev/trial"] == "demo-0002"
        assert labels["tradeoff.dev/attempt"] == "1"
        assert (labels.get(PRIMARY_LABEL) == "true") is (name == "Master")
        pod = rs["template"]["spec"]
        assert pod["containers"][0]["args"] == ["--lr=0.01"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        env = {e["name"] for e in pod["containers"][0].get("env") or []}
        assert ("TRADEOFF_PARAMS" in env) is (name == "Master")
    assert "suspend" not in (body["spec"].get("runPolicy") or {})
    assert pod_selector(s.spec.trial_template.workload, "demo-0002-a1", "demo-0002", 1) == (  # type: ignore[arg-type]
        "tradeoff.dev/trial=demo-0002,tradeoff.dev/attempt=1"
    )


def test_a_queued_workload_is_created_suspended_with_the_queue_label() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "queueName": "team-a",
        "spec": {"template": {"spec": {"containers": [container()]}}},
    }
    body = build_workload(
        study(job, activeDeadline="5m"), trial(), "uid", 1, TrialPolicy(workload_kinds=ALL)
    )
    assert body["spec"]["template"]["spec"]["activeDeadlineSeconds"] == 300
    assert body["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    assert body["spec"]["suspend"] is True
    assert body["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    torch = build_workload(
        study(torch_job() | {"queueName": "q"}), trial(), "uid", 1, TrialPolicy(workload_kinds=ALL)
    )
    assert torch["spec"]["runPolicy"]["suspend"] is True


def test_the_policy_is_checked_again_on_the_manifest() -> None:
    s = study(torch_job())
    with pytest.raises(PolicyViolation):
        build_workload(
            s, trial(), "uid", 1, TrialPolicy(level="restricted", service_accounts=("ci",))
        )


def test_a_trainjob_trainer_is_rendered() -> None:
    job = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {"image": "t:1", "command": ["torchrun"], "args": ["--lr=${params.lr}"],
                        "numNodes": 2},
        },
    }  # fmt: skip
    s = study(job)
    body = build_workload(s, trial(), "uid", 1, TrialPolicy(workload_kinds=ALL))
    assert body["spec"]["trainer"]["args"] == ["--lr=0.01"]
    assert {e["name"] for e in body["spec"]["trainer"]["env"]} >= {"TRADEOFF_PARAMS"}
    workload = s.spec.trial_template.workload
    assert workload is not None
    assert pod_selector(workload, "demo-0002-a1", "demo-0002", 1) == (
        "jobset.sigs.k8s.io/jobset-name=demo-0002-a1"
    )


# -- reading it back ----------------------------------------------------------------------
def test_state_suspended_failed_and_succeeded() -> None:
    workload = study(torch_job() | {"queueName": "q"}).spec.trial_template.workload
    assert workload is not None
    held = {"spec": {"runPolicy": {"suspend": True}}}
    assert workload_state(workload, held).suspended
    failed = copy.deepcopy(held)
    failed["status"] = {"conditions": [{"type": "Failed", "status": "True", "message": "OOM"}]}
    state = workload_state(workload, failed)
    assert (state.failed, state.succeeded, state.suspended, state.message) == (
        True,
        False,
        False,
        "Failed: OOM",
    )
    done = {"status": {"conditions": [{"type": "Succeeded", "status": "True"}]}}
    assert workload_state(workload, done).succeeded


def _pod(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def test_the_primary_pod_is_the_first_of_the_primary_template() -> None:
    workload = study(torch_job()).spec.trial_template.workload
    assert workload is not None
    pods = [
        _pod("w-0", **{"training.kubeflow.org/replica-index": "0"}),
        _pod("m-1", **{PRIMARY_LABEL: "true", "training.kubeflow.org/replica-index": "1"}),
        _pod("m-0", **{PRIMARY_LABEL: "true", "training.kubeflow.org/replica-index": "0"}),
    ]
    assert primary_pod(workload, pods) == pods[2]
    assert primary_pod(workload, pods[:1]) is None
    labelled = study(torch_job() | {"primaryPodLabels": {"role": "chief"}}).spec.trial_template
    assert labelled.workload is not None
    assert (
        primary_pod(labelled.workload, [*pods, _pod("c", role="chief")])["metadata"]["name"] == "c"
    )  # type: ignore[index]


# -- the setting --------------------------------------------------------------------------
def test_the_allowed_kinds_setting() -> None:
    assert workload_kinds("batch/v1/Job=jobs, kubeflow.org/v1/PyTorchJob=pytorchjobs") == {
        ("batch/v1", "Job"): "jobs",
        ("kubeflow.org/v1", "PyTorchJob"): "pytorchjobs",
    }
    assert workload_kinds("") == {}
    with pytest.raises(SettingsError, match="TRADEOFF_WORKLOAD_KINDS: 'batch/v1/Job' is not"):
        workload_kinds("batch/v1/Job")


# -- local mode ---------------------------------------------------------------------------
def test_local_mode_runs_the_primary_container_with_a_warning(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tradeoff.cli import main
    from tradeoff.local import FileStore

    code = "import os; print('TRADEOFF_METRICS {\"loss\": 0.5}'); print(os.environ['ROLE'])"
    master = container(command=["python", "-c", code], env=[{"name": "ROLE", "value": "m"}])
    worker = container(command=["python", "-c", "raise SystemExit(1)"])
    doc = manifest(torch_job(worker))
    doc["spec"]["trialTemplate"]["workload"]["spec"]["pytorchReplicaSpecs"]["Master"]["template"][
        "spec"
    ]["containers"] = [master]
    doc["spec"]["budget"] = {"maxTrials": 1}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    args = ["run", str(path), "--workdir", str(tmp_path / "w"), "--no-progress", "--quiet"]
    assert main(args) == 0
    [record] = FileStore(tmp_path / "w").load_trials()
    assert record.status.state == "Succeeded" and record.status.metrics == {"loss": 0.5}
    err = capsys.readouterr().err
    assert (
        "tradeoff run: warning: spec.trialTemplate.workload: only the primary container of"
        " the PyTorchJob runs here (its other pods and replicas run in a cluster)"
    ) in err
