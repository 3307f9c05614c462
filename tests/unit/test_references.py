"""Template references are checked at validation: each mistake gets one line and the fix."""

from __future__ import annotations

import pytest

from tradeoff.api.references import reference_problems

PARAMS = {"C", "gamma", "n_estimators"}


def problems(*args: str, **container: object) -> list[tuple[str, str]]:
    pod = {"containers": [{"name": "t", "image": "i", "args": list(args), **container}]}
    return reference_problems(pod, PARAMS)


@pytest.mark.parametrize(
    "text",
    [
        "--C=${params.C}",
        "${params.n_estimators}",
        "--name=${trial.name}-${trial.number}/${study.name}",
        "${HOME}",  # not Tradeoff's: passed as written
        "$HOME",
        "echo $foo.bar",
        "price=$5.00",
        "{}",
        '--json={"a": 1}',
        "${params.C}}",
    ],
)
def test_valid_or_foreign_text_is_left_alone(text: str) -> None:
    assert problems(text) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--C=$params.C", "'$params.C' is not a reference; write '${params.C}'"),
        ("--C=$(params.C)", "'$(params.C)' is not a reference; write '${params.C}'"),
        ("--C={params.C}", "'{params.C}' is not a reference; write '${params.C}'"),
        ("--C={{params.C}}", "'{{params.C}}' is not a reference; write '${params.C}'"),
        ("--C=${param.C}", "'${param.C}' is not a reference; write '${params.C}'"),
        ("--C=${parameters.C}", "'${parameters.C}' is not a reference; write '${params.C}'"),
        ("--lr=${trialParameters.gamma}",
         "'${trialParameters.gamma}' is not a reference; write '${params.gamma}'"),
        ("--C=${C}", "'${C}' is not a reference; write '${params.C}'"),
        ("--C=${params.C", "'${params.C' is not closed; write '${params.C}'"),
        ("--C=${params.C --x=1", "'${params.C' is not closed; write '${params.C}'"),
        ("--C=${ params.C }", "'${ params.C }' has spaces; write '${params.C}'"),
        ("--C=${{params.C}}", "'${{params.C}}' has a brace too many; write '${params.C}'"),
        ("--g=${params.gama}",
         "'${params.gama}' names unknown parameter 'gama'; did you mean '${params.gamma}'?"),
        ("--c=${params.c}",
         "'${params.c}' names unknown parameter 'c'; did you mean '${params.C}'?"),
        ("--x=${params.zzz}",
         "'${params.zzz}' names unknown parameter 'zzz'; parameters: C, gamma, n_estimators"),
        ("${trials.name}", "'${trials.name}' is not a reference; did you mean '${trial.name}'?"),
        ("${study.nam}", "'${study.nam}' is not a reference; did you mean '${study.name}'?"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_line_with_the_fix(text: str, message: str) -> None:
    assert problems("--dataset=digits", text) == [("pod.containers[0].args[1]", message)]


def test_every_substituted_field_is_checked() -> None:
    found = problems(
        command=["python", "$params.C"],
        env=[{"name": "A", "value": "${param.gamma}"}, {"name": "B", "valueFrom": {}}],
        resources={"requests": {"cpu": "${params.cpu}"}, "limits": {"memory": "${params.C"}},
    )
    assert [path for path, _ in found] == [
        "pod.containers[0].command[1]",
        "pod.containers[0].env[0].value",
        "pod.containers[0].resources.requests.cpu",
        "pod.containers[0].resources.limits.memory",
    ]


def test_a_reference_where_nothing_is_substituted_is_reported() -> None:
    pod = {
        "containers": [{"name": "t", "image": "trainer:${params.C}", "workingDir": "${HOME}"}],
        "initContainers": [{"name": "i", "args": ["--C=${params.C}"]}],
    }
    assert reference_problems(pod, PARAMS) == [
        (
            "pod.containers[0].image",
            "'trainer:${params.C}': references are substituted only in command, args,"
            " env values and resource quantities",
        ),
        (
            "pod.initContainers[0].args[0]",
            "'--C=${params.C}': references are substituted only in command, args,"
            " env values and resource quantities",
        ),
    ]


def test_a_flood_of_mistakes_is_capped_in_time_and_lines() -> None:
    import time

    from tradeoff.api import ManifestError
    from tradeoff.engine.validation import MAX_PROBLEMS, validate_study

    args = ["$params.C" * 20_000, "${a" * 50_000, *(["{params.C}"] * 500)]
    document = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "flood"},
        "spec": {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [{"name": "C", "type": "float", "low": 0.1, "high": 1.0}],
            "trialTemplate": {"pod": {"containers": [{"name": "t", "args": args}]}},
        },
    }
    started = time.perf_counter()
    with pytest.raises(ManifestError) as caught:
        validate_study(document)
    assert time.perf_counter() - started < 10
    lines = caught.value.problems
    assert len(lines) == MAX_PROBLEMS
    # One line for args[0] (repeats of a line are one line), one per {params.C}.
    assert lines[-1] == f"... and {1 + 500 - MAX_PROBLEMS + 1} more problems"


def test_placement_references_are_checked() -> None:
    from tradeoff.api.references import reference_problems

    pod = {
        "nodeSelector": {"topology.kubernetes.io/region": "${params.regoin}"},
        "containers": [{"name": "t", "image": "x"}],
    }
    found = reference_problems(pod, ["region"])
    assert found == [
        (
            "pod.nodeSelector.topology.kubernetes.io/region",
            "'${params.regoin}' names unknown parameter 'regoin'; did you mean '${params.region}'?",
        )
    ]
