"""References throughout a workload's spec (replica counts, numNodes, argument lists), and
the artifact storage of its primary pod: substituted as data, checked, bounded."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeoff.api import Trial
from tradeoff.api.errors import ManifestError
from tradeoff.api.policy import PolicyViolation, TrialPolicy
from tradeoff.api.pss import CONTAINER_KINDS
from tradeoff.api.study import Study
from tradeoff.api.workload_values import MAX_SUBSTITUTED, free_strings, substitute_workload
from tradeoff.engine.validation import validate_study
from tradeoff.kube.artifact_storage import ARTIFACTS_PATH, ARTIFACTS_VOLUME, ArtifactBucket
from tradeoff.kube.workloads import build_workload

KINDS = TrialPolicy(
    workload_kinds=(
        ("batch/v1", "Job"),
        ("kubeflow.org/v1", "PyTorchJob"),
        ("jobset.x-k8s.io/v1alpha2", "JobSet"),
        ("trainer.kubeflow.org/v1alpha1", "TrainJob"),
        ("example.dev/v1", "TrainingRun"),
    )
)
PARAMETERS = [
    {"name": "workers", "type": "int", "low": 1, "high": 8},
    {"name": "lr", "type": "float", "low": 0.001, "high": 0.1},
    {"name": "opt", "type": "categorical", "values": ["sgd", "adam"]},
    {"name": "momentum", "type": "float", "low": 0.1, "high": 0.9, "when": {"opt": ["sgd"]}},
]


def pod(**extra: Any) -> dict[str, Any]:
    container = {"name": "trial", "image": "t:1", "command": ["python", "train.py"], **extra}
    return {"spec": {"containers": [container]}}


def manifest(workload: dict[str, Any], parameters: list[Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "demo", "namespace": "team-a"},
        "spec": {
            "objectives": [{"name": "loss", "direction": "minimize"}],
            "parameters": parameters or PARAMETERS,
            "trialTemplate": {"workload": workload},
        },
    }


def build(workload: dict[str, Any], params: dict[str, Any], claim: Any = None) -> Any:
    study = validate_study(manifest(workload))
    trial = Trial.new("demo", 3, params, namespace="team-a")
    return build_workload(study, trial, "uid", 1, KINDS, claim)


def torch_job(worker: dict[str, Any]) -> dict[str, Any]:
    replicas = {"Master": {"template": pod()}, "Worker": {"template": worker}}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "spec": {"pytorchReplicaSpecs": replicas}}  # fmt: skip


SGD = {"workers": 4, "lr": 0.01, "opt": "sgd", "momentum": 0.5}
ADAM = {"workers": 2, "lr": 0.02, "opt": "adam"}


def test_replica_counts_parallelism_and_num_nodes_take_the_parameters_type() -> None:
    torch = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": pod()},
                "Worker": {"replicas": "${params.workers}", "template": pod()},
            },
            "runPolicy": {"ttlSecondsAfterFinished": "${trial.number}"},
        },
    }
    body = build(torch, SGD)
    assert body["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 4
    assert body["spec"]["runPolicy"]["ttlSecondsAfterFinished"] == 3  # an int too
    jobset = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "spec": {
            "replicatedJobs": [
                {
                    "name": "w-${params.opt}",  # embedded: text, and a name stays text
                    "replicas": 1,
                    "template": {"spec": {"parallelism": "${params.workers}", "template": pod()}},
                }
            ]
        },
    }
    job = build(jobset, ADAM)["spec"]["replicatedJobs"][0]
    assert job["template"]["spec"]["parallelism"] == 2
    assert job["name"] == "w-adam"
    trainjob = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {
                "image": "t:1",
                "command": ["torchrun"],
                "args": ["--lr", "${params.lr}", "--momentum", "${params.momentum}"],
                "numNodes": "${params.workers}",
            },
        },
    }
    trainer = build(trainjob, ADAM)["spec"]["trainer"]
    assert trainer["numNodes"] == 2
    assert trainer["args"] == ["--lr", "0.02"]  # the inactive parameter and its option go


def test_argument_lists_anywhere_stay_text_and_inactive_values_are_left_out() -> None:
    run = {
        "apiVersion": "example.dev/v1",
        "kind": "TrainingRun",
        "podTemplates": ["spec.template"],
        "successCondition": "status.phase == Succeeded",
        "failureCondition": "status.phase == Failed",
        "spec": {
            "template": pod(),
            "launcher": {
                "args": ["--workers", "${params.workers}", "--momentum", "${params.momentum}"],
                "momentum": "${params.momentum}",
                "labels": {"workers": "${params.workers}"},
                "env": [{"name": "OPT", "value": "${params.opt}"}],
                "flags": [{"on": "${params.workers}"}, "${params.momentum}", 7],
            },
        },
    }
    launcher = build(run, ADAM)["spec"]["launcher"]
    assert launcher["args"] == ["--workers", "2"]
    assert "momentum" not in launcher  # inactive: the key is left out
    assert launcher["labels"] == {"workers": "2"}  # label values are text
    assert launcher["env"] == [{"name": "OPT", "value": "adam"}]
    assert launcher["flags"] == [{"on": 2}, 7]
    assert build(run, SGD)["spec"]["launcher"]["momentum"] == 0.5


def test_nothing_is_evaluated_and_values_are_substituted_once() -> None:
    parameters = [{"name": "code", "type": "categorical",
                   "values": ["__import__('os').system('x')", "${params.other}", "{{7*7}}"]},
                  {"name": "other", "type": "categorical", "values": ["leaked"]}]  # fmt: skip
    job = {
        "apiVersion": "example.dev/v1",
        "kind": "TrainingRun",
        "podTemplates": ["spec.template"],
        "successCondition": "status.phase == Succeeded",
        "failureCondition": "status.phase == Failed",
        "spec": {"template": pod(), "entry": "${params.code}", "text": "run ${params.code}"},
    }
    study = validate_study(manifest(job, parameters))
    for value in parameters[0]["values"]:
        trial = Trial.new("demo", 0, {"code": value, "other": "leaked"}, namespace="team-a")
        spec = build_workload(study, trial, "uid", 1, KINDS)["spec"]
        assert (spec["entry"], spec["text"]) == (value, f"run {value}")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("Worker", "replicas"),
            "${params.worker}",
            "spec.trialTemplate.workload.spec.pytorchReplicaSpecs.Worker.replicas: "
            "'${params.worker}' names unknown parameter 'worker';"
            " did you mean '${params.workers}'?",
        ),
        (
            ("runPolicy", "name"),
            "$(params.lr)",
            "spec.trialTemplate.workload.spec.runPolicy.name: '$(params.lr)' is not a reference;"
            " write '${params.lr}'",
        ),
    ],
)
def test_an_unknown_reference_is_one_line_naming_the_path(
    path: tuple[str, str], value: str, expected: str
) -> None:
    torch = torch_job(pod())
    if path[0] == "Worker":
        torch["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] = value
    else:
        torch["spec"]["runPolicy"] = {"name": value}
    with pytest.raises(ManifestError) as caught:
        validate_study(manifest(torch))
    assert str(caught.value) == expected  # one line


def test_a_reference_in_a_pod_templates_security_fields_is_refused_up_front() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {"template": pod(securityContext={"privileged": "${params.opt}"})},
    }
    with pytest.raises(ManifestError) as caught:
        validate_study(manifest(job))
    assert str(caught.value) == (
        "spec.trialTemplate.workload.spec.template.spec.containers[0].securityContext.privileged:"
        " '${params.opt}': references are substituted only in command, args, env values and"
        " resource quantities"
    )


def _security(spec: dict[str, Any]) -> list[Any]:
    """Every field of every pod template the trial policy looks at (all but the values)."""
    out = []
    for rs in spec["pytorchReplicaSpecs"].values():
        pod_spec = copy.deepcopy(rs["template"]["spec"])
        for kind in CONTAINER_KINDS:
            for c in pod_spec.get(kind) or []:
                for field in ("args", "env", "resources", "command"):
                    c.pop(field, None)
        pod_spec.pop("nodeSelector", None)
        out.append(pod_spec)
    return out


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(TEXT, min_size=1, max_size=4, unique=True), pick=st.integers(0, 3))
def test_no_parameter_value_changes_what_the_policy_checks(values: list[str], pick: int) -> None:
    """Whatever a categorical value holds, the built pod templates are the same in every
    field the trial policy reads, and they pass it: substitution runs before the check and
    never reaches those fields."""
    parameters = [{"name": "v", "type": "categorical", "values": values}]
    template = pod(args=["--v=${params.v}"], env=[{"name": "V", "value": "${params.v}"}])
    torch = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {"replicas": 1, "template": template},
                "Worker": {"replicas": "${params.v}", "template": copy.deepcopy(template)},
            },
            "runPolicy": {"note": "${params.v}", "securityContext": {"privileged": "${params.v}"}},
        },
    }
    study: Study = validate_study(manifest(torch, parameters))
    built = []
    for value in (values[0], values[pick % len(values)]):
        trial = Trial.new("demo", 0, {"v": value}, namespace="team-a")
        built.append(build_workload(study, trial, "uid", 1, KINDS)["spec"])
    assert _security(built[0]) == _security(built[1])
    for spec in built:
        for rs in spec["pytorchReplicaSpecs"].values():
            assert KINDS.check(rs["template"]["spec"], "spec") == []


def test_the_substituted_text_is_bounded() -> None:
    long = "x" * 200_000
    parameters = [{"name": "v", "type": "categorical", "values": [long, "short"]}]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {"template": pod(), "note": {"a": " ".join(["${params.v}"] * 8)}},
    }
    with pytest.raises(ManifestError) as refused:  # said before any trial runs
        validate_study(manifest(job, parameters))
    assert str(refused.value) == (
        "spec.trialTemplate.workload.spec.note.a: substituted with the longest values, the"
        f" text exceeds {MAX_SUBSTITUTED} characters"
    )
    # And when building, whatever got past validation (a study edited under a trial).
    study = validate_study(manifest(job, [{**parameters[0], "values": ["short"]}]))
    trial = Trial.new("demo", 0, {"v": long}, namespace="team-a")
    with pytest.raises(PolicyViolation) as caught:
        build_workload(study, trial, "uid", 1, KINDS)
    assert caught.value.problems == [
        ("spec.note.a", f"substituted, the workload's text exceeds {MAX_SUBSTITUTED} characters")
    ]
    body = {"spec": {"a": ["${params.v}"] * 3}}
    substitute_workload(body, set(), {"v": long}, study="s", trial="t", number=0)
    assert body["spec"]["a"] == [long] * 3  # 600 000 characters: within the bound


def test_free_strings_leave_out_the_pod_templates() -> None:
    body = {"spec": {"template": pod(args=["${params.x}"]), "n": "${params.x}", "l": ["a"]}}
    assert sorted(free_strings(body, {"spec.template"})) == [
        ("spec.l[0]", "a"),
        ("spec.n", "${params.x}"),
    ]


# -- the artifact storage ------------------------------------------------------------------
def test_the_primary_pod_template_gets_the_artifact_storage_the_others_do_not() -> None:
    torch = torch_job(pod())
    body = build(torch, ADAM, claim="store")
    master = body["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    worker = body["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]
    volume = {"name": ARTIFACTS_VOLUME, "persistentVolumeClaim": {"claimName": "store"}}
    assert volume in master["volumes"]
    mount = {"name": ARTIFACTS_VOLUME, "mountPath": ARTIFACTS_PATH, "subPath": "demo/demo-0003/a1"}
    assert mount in master["containers"][0]["volumeMounts"]
    assert {"name": "TRADEOFF_ARTIFACTS", "value": ARTIFACTS_PATH} in master["containers"][0]["env"]
    assert "volumes" not in worker and "volumeMounts" not in worker["containers"][0]
    assert (
        "volumes"
        not in build(torch, ADAM)["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    )


def test_no_pod_template_may_mount_the_artifact_claim_itself() -> None:
    sneaky = pod()
    sneaky["spec"]["volumes"] = [{"name": "all", "persistentVolumeClaim": {"claimName": "store"}}]
    torch = torch_job(sneaky)
    with pytest.raises(PolicyViolation) as caught:
        build(torch, ADAM, claim="store")
    assert caught.value.problems == [
        (
            "spec.pytorchReplicaSpecs.Worker.template.spec.volumes[0]",
            "the artifact claim 'store' is the operator's to mount",
        )
    ]


def test_a_pod_template_moved_by_a_left_out_element_is_refused_not_guessed() -> None:
    run = {
        "apiVersion": "example.dev/v1",
        "kind": "TrainingRun",
        "podTemplates": ["spec.templates[1]"],
        "successCondition": "status.phase == Succeeded",
        "failureCondition": "status.phase == Failed",
        "spec": {"templates": ["${params.momentum}", pod()]},
    }
    assert build(run, SGD)["spec"]["templates"][0] == "0.5"
    with pytest.raises(PolicyViolation) as caught:
        build(run, ADAM)  # momentum is inactive: the string goes, the template moves
    assert caught.value.problems == [
        ("spec.templates[1]", "holds no pod template once substituted")
    ]


def test_a_pod_template_path_that_is_not_text_is_one_line_not_a_traceback() -> None:
    run = {
        "apiVersion": "example.dev/v1",
        "kind": "TrainingRun",
        "podTemplates": [3, "spec.template"],
        "successCondition": "status.phase == Succeeded",
        "failureCondition": "status.phase == Failed",
        "spec": {"template": pod(), "count": "${params.worker}"},
    }
    with pytest.raises(ManifestError) as caught:
        validate_study(manifest(run))
    assert str(caught.value).splitlines() == [
        "spec.trialTemplate.workload.podTemplates[0]: must be a string (got 3)",
        "spec.trialTemplate.workload.spec.count: '${params.worker}' names unknown parameter"
        " 'worker'; did you mean '${params.workers}'?",
    ]


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from(["${params.workers}", "--w=${params.opt}", "${params.momentum}",
                       "${trial.number}", "${params.nope}", "$(params.lr)", "x", ""]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["replicas", "name", "args", "labels", "value", "n"]),
                      inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=JSONISH, params=st.sampled_from([SGD, ADAM]))
def test_any_workload_spec_is_valid_or_one_line_per_problem_never_a_traceback(
    extra: Any, params: dict[str, Any]
) -> None:
    torch = torch_job(pod())
    torch["spec"]["runPolicy"] = extra
    try:
        study = validate_study(manifest(torch))
    except ManifestError as error:
        assert all(line.startswith("spec.") for line in str(error).splitlines())
        return
    trial = Trial.new("demo", 1, params, namespace="team-a")
    body = build_workload(study, trial, "uid", 1, KINDS)
    assert "${params." not in str(body["spec"].get("runPolicy"))  # all substituted


def test_with_a_bucket_the_primary_pod_template_gets_its_folder_and_no_template_its_keys() -> None:
    bucket = ArtifactBucket("trials", "runs/", region="eu-west-1", credentials_secret="s3-keys")
    body = build(torch_job(pod()), ADAM, claim=bucket)
    replicas = body["spec"]["pytorchReplicaSpecs"]
    env = {e["name"]: e for e in replicas["Master"]["template"]["spec"]["containers"][0]["env"]}
    url = env["TRADEOFF_ARTIFACTS_S3_URL"]["value"]
    assert url == "s3://trials/runs/team-a/demo/demo-0003/a1/"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "s3-keys"
    worker_env = replicas["Worker"]["template"]["spec"]["containers"][0].get("env") or []
    assert not {e["name"] for e in worker_env} & {
        "TRADEOFF_ARTIFACTS_S3_URL",
        "AWS_SECRET_ACCESS_KEY",
    }
    sneaky = pod(env=[{"name": "AWS_SECRET_ACCESS_KEY", "value": "mine"}])
    with pytest.raises(PolicyViolation) as caught:
        build(torch_job(sneaky), ADAM, claim=bucket)
    assert caught.value.problems == [
        (
            "spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].env[0]",
            "AWS_SECRET_ACCESS_KEY is the operator's to set (the artifact bucket)",
        )
    ]


TRAINJOB = {
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "TrainJob",
    "spec": {
        "runtimeRef": {"name": "torch-distributed"},
        "trainer": {"image": "t:1", "command": ["torchrun", "train.py"], "numNodes": 2},
    },
}


def test_a_trainjobs_trainer_gets_the_storage_through_the_runtimes_node_job() -> None:
    body = build(TRAINJOB, ADAM, claim="store")
    env = body["spec"]["trainer"]["env"]
    assert {"name": "TRADEOFF_ARTIFACTS", "value": ARTIFACTS_PATH} in env
    mount = {"name": ARTIFACTS_VOLUME, "mountPath": ARTIFACTS_PATH, "subPath": "demo/demo-0003/a1"}
    assert body["spec"]["podTemplateOverrides"] == [
        {
            "targetJobs": [{"name": "node"}],
            "spec": {
                "volumes": [
                    {"name": ARTIFACTS_VOLUME, "persistentVolumeClaim": {"claimName": "store"}}
                ],
                "containers": [{"name": "node", "volumeMounts": [mount]}],
            },
        }
    ]
    bucket = build(TRAINJOB, ADAM, claim=ArtifactBucket("trials"))["spec"]
    assert "podTemplateOverrides" not in bucket  # a bucket needs only the variables
    assert {e["name"] for e in bucket["trainer"]["env"]} >= {"TRADEOFF_ARTIFACTS_S3_URL"}
    assert "podTemplateOverrides" not in build(TRAINJOB, ADAM)["spec"]
    sneaky = copy.deepcopy(TRAINJOB)
    sneaky["spec"]["trainer"]["env"] = [{"name": "AWS_ACCESS_KEY_ID", "value": "mine"}]
    with pytest.raises(PolicyViolation) as caught:
        build(sneaky, ADAM, claim=ArtifactBucket("trials"))
    assert caught.value.problems == [
        ("spec.trainer.env[0]", "AWS_ACCESS_KEY_ID is the operator's to set (the artifact bucket)")
    ]
