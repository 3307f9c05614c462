"""`render_pod_spec`: `${params.NAME}` substitution, inactive parameters, trial env."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tradeoff.api.space import ParamValue
from tradeoff.api.template import (
    ENV_PARAMS,
    ENV_STUDY,
    ENV_TERMINATION_LOG,
    ENV_TRIAL,
    TrialTemplate,
    format_value,
    render_pod_spec,
)


def template(*containers: dict[str, Any], **fields: Any) -> TrialTemplate:
    return TrialTemplate.model_validate({"pod": {"containers": list(containers)}, **fields})


def render(tpl: TrialTemplate, params: dict[str, ParamValue]) -> dict[str, Any]:
    return render_pod_spec(tpl, params, study="demo", trial="demo-0003", number=3)


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_command_args_env_and_resources_are_substituted() -> None:
    tpl = template(
        {
            "name": "trial",
            "image": "img",
            "command": ["python", "-m", "${params.module}"],
            "args": ["--C=${params.C}", "--n=${params.n}", "--id=${trial.name}/${trial.number}"],
            "env": [{"name": "MODEL", "value": "${params.model}-${study.name}"}],
            "resources": {
                "requests": {"cpu": "${params.cpu}", "memory": "512Mi"},
                "limits": {"memory": "${params.mem}Mi"},
            },
        }
    )
    params: dict[str, ParamValue] = {
        "module": "trial_runner.sklearn", "C": 0.5, "n": 10, "model": "svm",
        "cpu": "500m", "mem": 1024,
    }  # fmt: skip
    (c,) = render(tpl, params)["containers"]
    assert c["command"] == ["python", "-m", "trial_runner.sklearn"]
    assert c["args"] == ["--C=0.5", "--n=10", "--id=demo-0003/3"]
    assert env_of(c)["MODEL"] == "svm-demo"
    assert c["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"memory": "1024Mi"},
    }
    assert c["image"] == "img"


def test_template_is_not_modified() -> None:
    tpl = template({"name": "t", "args": ["--C=${params.C}"]})
    render(tpl, {"C": 1.5})
    assert tpl.pod["containers"][0]["args"] == ["--C=${params.C}"]


def test_inactive_parameters_drop_their_arguments() -> None:
    tpl = template(
        {
            "name": "t",
            "args": [
                "--model=${params.model}",
                "--C=${params.C}",
                "--C",
                "${params.C}",
                "--gamma",
                "${params.gamma}",
                "--verbose",
                "positional-${params.C}",
            ],
            "env": [{"name": "C", "value": "${params.C}"}, {"name": "KEEP", "value": "1"}],
        }
    )
    (c,) = render(tpl, {"model": "knn", "gamma": 0.1})["containers"]
    assert c["args"] == ["--model=knn", "--gamma", "0.1", "--verbose"]
    assert "C" not in env_of(c) and env_of(c)["KEEP"] == "1"
    (c,) = render(tpl, {"model": "svm", "C": 2.0, "gamma": 0.1})["containers"]
    assert c["args"] == [
        "--model=svm", "--C=2.0", "--C", "2.0", "--gamma", "0.1", "--verbose", "positional-2.0",
    ]  # fmt: skip


def test_option_with_equals_sign_is_kept_before_a_dropped_reference() -> None:
    tpl = template({"name": "t", "args": ["--mode=fast", "${params.C}"]})
    assert render(tpl, {})["containers"][0]["args"] == ["--mode=fast"]


def test_inactive_resource_quantity_is_dropped() -> None:
    tpl = template(
        {"name": "t", "resources": {"requests": {"cpu": "${params.cpu}", "memory": "1Gi"}}}
    )
    (c,) = render(tpl, {})["containers"]
    assert c["resources"] == {"requests": {"memory": "1Gi"}}


def test_trial_environment() -> None:
    tpl = template(
        {"name": "side", "env": [{"name": "A", "value": "1"}]},
        {"name": "main", "env": [{"name": ENV_STUDY, "value": "stale"}]},
        primaryContainer="main",
    )
    side, main = render(tpl, {"b": "x y", "a": 1})["containers"]
    assert env_of(side) == {"A": "1"}
    env = env_of(main)
    assert json.loads(env[ENV_PARAMS]) == {"a": 1, "b": "x y"}
    assert env[ENV_PARAMS] == '{"a": 1, "b": "x y"}'
    assert (env[ENV_STUDY], env[ENV_TRIAL]) == ("demo", "demo-0003")
    assert env[ENV_TERMINATION_LOG] == "/dev/termination-log"
    assert [e["name"] for e in main["env"]].count(ENV_STUDY) == 1


def test_first_container_is_primary_by_default() -> None:
    tpl = template({"name": "a", "terminationMessagePath": "/tmp/t"}, {"name": "b"})
    a, b = render(tpl, {})["containers"]
    assert env_of(a)[ENV_TERMINATION_LOG] == "/tmp/t"
    assert "env" not in b


def test_values_are_list_elements_not_shell_words() -> None:
    tpl = template({"name": "t", "command": ["run", "--label=${params.label}"]})
    text = "a b; rm -rf / $(x) 'q' \"dq\""
    (c,) = render(tpl, {"label": text})["containers"]
    assert c["command"] == ["run", f"--label={text}"]


def test_unknown_context_references_are_left_alone() -> None:
    tpl = template({"name": "t", "args": ["$HOME", "${HOME}", "${params.x}x"]})
    assert render(tpl, {"x": 1})["containers"][0]["args"] == ["$HOME", "${HOME}", "1x"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (3, "3"), (2.0, "2.0"), (0.001, "0.001"),
     (1e-7, "1e-07"), (1e20, "1e+20"), ("500m", "500m")],
)  # fmt: skip
def test_format_value(value: ParamValue, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        ({}, "pod.containers: needs at least one container"),
        ({"containers": []}, "pod.containers: needs at least one container"),
        ({"containers": [{"image": "x"}]}, "pod.containers[0].name: every container needs a name"),
        ({"containers": [{"name": "t", "command": "run"}]}, "must be a list of strings"),
    ],
)
def test_pod_problems(pod: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        TrialTemplate.model_validate({"pod": pod})


def test_placement_is_substituted_so_a_parameter_chooses_the_node() -> None:
    region_key = "topology.kubernetes.io/region"
    term = {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["${params.pool}"]}]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 1, "preference": {"matchExpressions": [
                    {"key": "zone", "operator": "In", "values": ["${params.zone}", "z9"]}
                ]}}
            ],
        }
    }  # fmt: skip
    tpl = TrialTemplate.model_validate(
        {
            "pod": {
                "nodeSelector": {region_key: "${params.region}", "disk": "ssd"},
                "affinity": affinity,
                "containers": [{"name": "t", "image": "x", "command": ["run"]}],
            }
        }
    )
    pod = render(tpl, {"region": "eu-west-3", "pool": "gpu", "zone": "z1"})
    assert pod["nodeSelector"] == {region_key: "eu-west-3", "disk": "ssd"}
    node = pod["affinity"]["nodeAffinity"]
    required = node["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert required[0]["matchExpressions"][0]["values"] == ["gpu"]
    preferred = node["preferredDuringSchedulingIgnoredDuringExecution"][0]["preference"]
    assert preferred["matchExpressions"][0]["values"] == ["z1", "z9"]
    # the template itself is untouched
    assert tpl.pod["nodeSelector"][region_key] == "${params.region}"
