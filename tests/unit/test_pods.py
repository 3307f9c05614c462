"""Trial pods as data (`tradeoff.kube.pods`) and what an ended pod means (`kube.attempts`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tradeoff.api import Trial, parse_study
from tradeoff.api.study import Study
from tradeoff.economics import EconomicsConfig
from tradeoff.engine import Engine
from tradeoff.kube import attempts
from tradeoff.kube.pods import build_pod, harden, pod_name, primary_container

NOW = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)


def make_study(**template: Any) -> Study:
    container: dict[str, Any] = {
        "name": "trial",
        "image": "tradeoff:0.1.0",
        "command": ["python", "-m", "trial_runner.sklearn"],
        "args": ["--model=${params.model}", "--C", "${params.C}", "--seed=${trial.number}"],
        "resources": {"requests": {"cpu": "${params.cpu}", "memory": "512Mi"}},
    }
    pod = template.pop("pod", {"containers": [container]})
    return parse_study(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": "demo", "namespace": "team-a", "uid": "study-uid"},
            "spec": {
                "objectives": [
                    {"name": "accuracy", "direction": "maximize"},
                    {"name": "cost", "direction": "minimize"},
                ],
                "parameters": [
                    {"name": "model", "type": "categorical", "values": ["svm", "knn"]},
                    {
                        "name": "C",
                        "type": "float",
                        "low": 0.1,
                        "high": 10,
                        "when": {"model": ["svm"]},
                    },
                    {"name": "cpu", "type": "categorical", "values": ["500m", "1"]},
                ],
                "trialTemplate": {"activeDeadline": "90s", **template, "pod": pod},
            },
        }
    )


def make_trial(params: dict[str, Any], number: int = 3) -> Trial:
    return Trial.new("demo", number, params, namespace="team-a")


def test_pod_names_are_deterministic_per_attempt() -> None:
    assert pod_name("demo-0003", 1) == "demo-0003-a1"
    assert pod_name("demo-0003", 2) == "demo-0003-a2"


def test_build_pod_substitutes_parameters_without_a_shell() -> None:
    pod = build_pod(make_study(), make_trial({"model": "svm", "C": 2.5, "cpu": "1"}), "uid-1", 2)
    assert pod["metadata"]["name"] == "demo-0003-a2"
    assert pod["metadata"]["namespace"] == "team-a"
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "trial_runner.sklearn"]
    assert container["args"] == ["--model=svm", "--C", "2.5", "--seed=3"]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "512Mi"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TRADEOFF_TRIAL"] == "demo-0003" and env["TRADEOFF_STUDY"] == "demo"
    assert '"C": 2.5' in env["TRADEOFF_PARAMS"]


def test_build_pod_drops_inactive_conditional_arguments() -> None:
    pod = build_pod(make_study(), make_trial({"model": "knn", "cpu": "500m"}), "uid-1", 1)
    assert pod["spec"]["containers"][0]["args"] == ["--model=knn", "--seed=3"]


def test_build_pod_labels_owner_and_lifecycle() -> None:
    pod = build_pod(make_study(), make_trial({"model": "knn", "cpu": "1"}), "trial-uid", 1)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"]["tradeoff.dev/study"] == "demo"
    assert meta["labels"]["tradeoff.dev/trial"] == "demo-0003"
    assert meta["labels"]["tradeoff.dev/attempt"] == "1"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Trial",
            "name": "demo-0003",
            "uid": "trial-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 90
    container = spec["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_no_deadline_without_active_deadline() -> None:
    study = make_study()
    study.spec.trial_template.active_deadline = None
    pod = build_pod(study, make_trial({"model": "knn", "cpu": "1"}), "u", 1)
    assert "activeDeadlineSeconds" not in pod["spec"]


def test_restricted_profile_is_added_by_default() -> None:
    spec = harden({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]})
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for container in (*spec["containers"], *spec["initContainers"]):
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }


def test_restricted_profile_keeps_what_the_template_sets() -> None:
    given: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": False, "runAsUser": 0},
        "containers": [
            {
                "name": "a",
                "securityContext": {
                    "allowPrivilegeEscalation": True,
                    "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                },
            }
        ],
    }
    spec = harden(given)
    assert spec["securityContext"]["runAsNonRoot"] is False
    assert spec["securityContext"]["runAsUser"] == 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = spec["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is True
    assert sc["capabilities"] == {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}
    assert given["containers"][0]["securityContext"]["capabilities"]["drop"] == ["MKNOD"]


def test_template_termination_settings_win() -> None:
    container = {
        "name": "main",
        "image": "x",
        "command": ["run"],
        "terminationMessagePath": "/tmp/summary.json",
        "terminationMessagePolicy": "File",
    }
    side = {"name": "side", "image": "y"}
    study = make_study(primaryContainer="main", pod={"containers": [side, container]})
    pod = build_pod(study, make_trial({"model": "knn", "cpu": "1"}), "u", 1)
    primary = pod["spec"]["containers"][1]
    assert primary_container(study) == "main"
    assert primary["terminationMessagePath"] == "/tmp/summary.json"
    assert primary["terminationMessagePolicy"] == "File"
    assert "terminationMessagePath" not in pod["spec"]["containers"][0]


# -- ended pods ------------------------------------------------------------------------
def ended_pod(
    exit_code: int = 0, message: str = "", reason: str = "", phase: str | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase or ("Succeeded" if exit_code == 0 and not reason else "Failed"),
        "startTime": "2026-01-01T12:00:00Z",
        "containerStatuses": [
            {
                "name": "trial",
                "state": {
                    "terminated": {
                        "exitCode": exit_code,
                        "reason": "Completed" if exit_code == 0 else "Error",
                        "startedAt": "2026-01-01T12:00:01Z",
                        "finishedAt": "2026-01-01T12:00:05Z",
                        "message": message,
                    }
                },
            }
        ],
    }
    if reason:
        status["reason"] = reason
        status["message"] = f"{reason} happened"
    return {
        "metadata": {"name": "demo-0003-a1"},
        "spec": {
            "nodeName": "n1",
            "containers": [
                {"name": "trial", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}
            ],
        },
        "status": status,
    }


NODE = {"metadata": {"labels": {"topology.kubernetes.io/region": "eu-north-1"}}}


def judge(pod: dict[str, Any] | None, log: str = "", study: Study | None = None) -> attempts.Ending:
    study = study or make_study()
    output = None
    economics = None
    if pod is not None:
        term = attempts.terminated_state(pod, "trial")
        output = attempts.read_metrics(study, log, str(term.get("message") or ""))
        economics = attempts.price(study, pod, NODE, EconomicsConfig(), "trial", NOW)
    return attempts.judge(Engine(study.spec), study, pod, "trial", output, economics)


def test_phases() -> None:
    assert attempts.phase(None) == "missing"
    assert attempts.phase({"status": {"phase": "Pending"}}) == "pending"
    assert attempts.phase({"status": {"phase": "Running"}}) == "running"
    assert attempts.phase(ended_pod()) == "ended"
    assert attempts.phase(ended_pod(3)) == "ended"


def test_clean_exit_with_objectives_succeeds_and_is_priced() -> None:
    ending = judge(ended_pod(), log="accuracy=0.8\n")
    assert ending.state == "Succeeded" and ending.reason is None
    assert ending.economics is not None
    assert ending.economics.duration_seconds == 4.0
    assert ending.economics.vcpu == 2.0 and ending.economics.region == "eu-north-1"
    assert ending.values == [0.8, ending.economics.cost_usd]
    assert ending.feasible is True


def test_termination_message_is_authoritative() -> None:
    pod = ended_pod(message='{"metrics": {"accuracy": 0.91}}')
    ending = judge(pod, log="accuracy=0.5\n")
    assert ending.metrics["accuracy"] == 0.91 and ending.values is not None
    assert ending.values[0] == 0.91


def test_clean_exit_without_objective_fails_metrics_missing() -> None:
    ending = judge(ended_pod(), log="loss=0.3\n")
    assert (ending.state, ending.reason) == ("Failed", "MetricsMissing")
    assert "accuracy" in (ending.message or "")


def test_non_zero_exit_fails_with_its_code_and_last_line() -> None:
    ending = judge(ended_pod(3, message="Traceback...\nValueError: diverged\n"))
    assert (ending.state, ending.reason) == ("Failed", "Error")
    assert ending.message == "container trial exited with code 3 (Error): ValueError: diverged"


@pytest.mark.parametrize(
    ("pod_reason", "expected"),
    [("Evicted", "Evicted"), ("DeadlineExceeded", "DeadlineExceeded"), ("NodeLost", "PodLost")],
)
def test_pod_level_reasons(pod_reason: str, expected: str) -> None:
    ending = judge(ended_pod(137, reason=pod_reason), log="accuracy=0.9\n")
    assert (ending.state, ending.reason) == ("Failed", expected)
    assert pod_reason in (ending.message or "")


def test_a_vanished_pod_is_lost() -> None:
    ending = judge(None)
    assert (ending.state, ending.reason) == ("Failed", "PodLost")
    assert ending.economics is None


def test_node_unknown_falls_back_to_defaults() -> None:
    study = make_study()
    pod = ended_pod()
    econ = attempts.price(study, pod, None, EconomicsConfig(), "trial", NOW)
    assert econ is not None and econ.region is None
    assert econ.grams_per_kwh == EconomicsConfig().grams_per_kwh


def test_an_unstarted_pod_costs_nothing_known() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": []}, "status": {"phase": "Pending"}}
    assert attempts.price(make_study(), pod, None, EconomicsConfig(), "trial", NOW) is None
