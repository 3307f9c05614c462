"""The Study/Trial models: wire format, defaults, parameter rules, conditions, durations."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from tradeoff.api import ManifestError, Parameter, Study, Trial, trial_name
from tradeoff.api.duration import parse_duration
from tradeoff.api.errors import SpecProblem, format_validation_error
from tradeoff.api.space import is_active, ordered_for_sampling, space_problems
from tradeoff.api.study import Budget
from tradeoff.engine.validation import validate_study

MANIFEST: dict[str, Any] = {
    "apiVersion": "tradeoff.dev/v1alpha1",
    "kind": "Study",
    "metadata": {"name": "demo"},
    "spec": {
        "objectives": [
            {"name": "accuracy", "direction": "maximize"},
            {"name": "cost", "direction": "minimize"},
        ],
        "parameters": [
            {"name": "model", "type": "categorical", "values": ["svm", "forest"]},
            {"name": "C", "type": "float", "low": 0.01, "high": 100, "log": True,
             "when": {"model": ["svm"]}},
        ],
        "budget": {"maxTrials": 10, "maxFailedTrials": 2, "timeout": "1h30m"},
        "earlyStopping": {"algorithm": "median"},
        "trialTemplate": {
            "activeDeadline": "10m",
            "primaryContainer": "trial",
            "pod": {"containers": [{"name": "trial", "image": "x", "args": ["--C=${params.C}"]}]},
        },
    },
}  # fmt: skip


def study(**spec: Any) -> Study:
    document = copy.deepcopy(MANIFEST)
    document["spec"].update(spec)
    return validate_study(document)


def problems(**spec: Any) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        study(**spec)
    return caught.value.problems


def param(**fields: Any) -> Parameter:
    return Parameter.model_validate(fields)


def param_problems(**fields: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        param(**fields)
    return format_validation_error(caught.value, Parameter)


# --- wire format and defaults ---------------------------------------------------------


def test_camel_case_round_trip() -> None:
    s = study()
    assert s.spec.budget.max_trials == 10
    assert s.spec.trial_template.active_deadline == "10m"
    assert s.spec.early_stopping.algorithm == "median"
    wire = s.wire()
    spec = wire["spec"]
    assert isinstance(spec, dict)
    assert spec["budget"]["maxFailedTrials"] == 2
    assert spec["trialTemplate"]["primaryContainer"] == "trial"
    assert "max_trials" not in str(wire) and "None" not in str(wire)
    assert Study.model_validate(wire) == s
    assert validate_study(wire).wire() == wire


def test_snake_case_names_are_accepted_in_python() -> None:
    assert Budget(max_trials=3).max_trials == 3


def test_defaults() -> None:
    s = study(budget={})
    spec = s.spec
    assert (spec.budget.max_trials, spec.budget.parallelism, spec.budget.max_failed_trials) == (
        20, 1, 5,
    )  # fmt: skip
    assert spec.budget.timeout is None and spec.budget.timeout_seconds is None
    assert spec.algorithm.name == "auto" and spec.algorithm.seed is None
    assert spec.selection.policy == "knee"
    assert spec.constraints == [] and spec.goal is None and spec.economics is None
    assert spec.trial_template.retries == 0
    assert spec.trial_template.metrics.format == "auto"
    assert spec.objective_names == ["accuracy", "cost"]
    assert spec.pruning_metric == "accuracy"
    assert s.status is None


def test_unknown_field_is_refused_with_a_hint() -> None:
    lines = problems(budget={"maxTrial": 3})
    assert lines == ["spec.budget.maxTrial: unknown field (did you mean 'maxTrials'?)"]


def test_several_problems_are_reported_together() -> None:
    lines = problems(budget={"maxTrials": 0, "parallelism": 0})
    assert lines == [
        "spec.budget.maxTrials: must be at least 1 (got 0)",
        "spec.budget.parallelism: must be at least 1 (got 0)",
    ]


def test_parameter_value_union_gives_one_line() -> None:
    lines = problems(parameters=[{"name": "C", "type": "categorical", "values": [[1]]}])
    assert lines == [
        "spec.parameters[0].values[0]: must be a string, a number or a boolean (got a list)"
    ]


def test_field_named_like_a_union_tag_is_not_merged() -> None:
    lines = problems(goal={"str": "high"})
    assert lines == [
        "spec.goal.str: must be a number (got 'high')",
        "spec.goal.str: is not an objective (objectives: accuracy, cost)",
    ]


def test_trial_record() -> None:
    trial = Trial.new("demo", 7, {"model": "svm", "C": 0.5})
    assert trial.metadata.name == trial_name("demo", 7) == "demo-0007"
    assert trial.metadata.labels == {
        "tradeoff.dev/study": "demo",
        "tradeoff.dev/trial": "demo-0007",
    }
    assert trial.state == "Pending" and not trial.finished
    wire = trial.wire()
    assert wire["apiVersion"] == "tradeoff.dev/v1alpha1" and wire["kind"] == "Trial"
    assert Trial.model_validate(wire) == trial
    assert trial_name("s", 12345) == "s-12345"


def test_a_record_time_without_its_zone_is_utc() -> None:
    """A record edited by hand may drop the zone; a naive time beside the aware ones broke
    every comparison and subtraction of the result commands and the operator's metrics."""
    wire = Trial.new("demo", 1, {}).wire()
    wire["status"] = {
        "startTime": "2026-01-02T03:04:05",
        "completionTime": "2026-01-02T05:04:05+02:00",
        "conditions": [{"type": "Running", "status": "True", "lastTransitionTime": "2026-01-02"}],
    }
    status = Trial.model_validate(wire).status
    assert status.start_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert status.completion_time is not None and status.start_time is not None
    assert (status.completion_time - status.start_time).total_seconds() == 0
    assert status.conditions[0].last_transition_time == datetime(2026, 1, 2, tzinfo=UTC)


# --- parameter rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"type": "float", "low": 2, "high": 1}, "low: must be below high (2 >= 1)"),
        ({"type": "float", "low": 1, "high": 1}, "low: must be below high (1 >= 1)"),
        ({"type": "float", "low": 0, "high": 1, "log": True}, "low: must be > 0 with log: true"),
        ({"type": "float", "high": 1}, "low: a float parameter needs low and high"),
        ({"type": "int", "low": 0.5, "high": 3}, "low: must be a whole number for an int"),
        ({"type": "int", "low": 1, "high": 9, "step": 1.5}, "step: must be a whole number"),
        ({"type": "float", "low": 1, "high": 9, "step": 0}, "step: must be greater than 0"),
        (
            {"type": "float", "low": 1, "high": 9, "log": True, "step": 1},
            "step: cannot be combined",
        ),
        ({"type": "float", "low": 1, "high": 9, "values": [1]}, "values: applies to categorical"),
        ({"type": "categorical", "values": []}, "values: a categorical parameter needs at least"),
        ({"type": "categorical", "values": ["a", "a"]}, "values: values must be unique"),
        ({"type": "categorical", "values": ["a"], "low": 1}, "low: applies to float and int"),
        ({"type": "float", "low": "x", "high": 1}, "low: must be a number (got 'x')"),
        ({"type": "float", "low": float("-inf"), "high": 1}, "bounds must be finite numbers"),
        ({"type": "bool", "values": [1]}, "type: must be one of 'float', 'int' or 'categorical'"),
    ],
)
def test_parameter_rules(fields: dict[str, Any], expected: str) -> None:
    lines = param_problems(name="p", **fields)
    assert any(expected in line for line in lines), lines


@pytest.mark.parametrize("name", ["1x", "a-b", "a b", ""])
def test_parameter_names_are_identifiers(name: str) -> None:
    (line,) = param_problems(name=name, type="float", low=0, high=1)
    assert line.startswith("name: must be")


def test_categorical_values_keep_their_types() -> None:
    p = param(name="p", type="categorical", values=["1", 1, 1.5, True])
    assert p.values == ["1", 1, 1.5, True]
    assert [type(v) for v in p.values] == [str, int, float, bool]


def test_value_counts_and_values_are_computed_not_listed() -> None:
    n = param(name="n", type="int", low=1, high=7, step=3)
    assert n.value_count() == 3 and [n.value_at(i) for i in range(3)] == [1, 4, 7]
    f = param(name="f", type="float", low=0, high=1, step=0.25)
    assert f.value_count() == 5 and f.value_at(3) == 0.75
    assert param(name="f", type="float", low=0, high=1).value_count() is None
    c = param(name="c", type="categorical", values=["a", "b"])
    assert c.value_count() == 2 and c.value_at(1) == "b"
    huge = param(name="h", type="int", low=0, high=2_000_000_000)
    assert huge.value_count() == 2_000_000_001 and huge.value_at(2_000_000_000) == 2_000_000_000


# --- conditional parameters -----------------------------------------------------------


def test_ordered_for_sampling_moves_conditions_after_their_parents() -> None:
    c = param(name="C", type="float", low=1, high=2, when={"model": ["svm"]})
    k = param(name="kernel", type="categorical", values=["rbf", "lin"], when={"model": ["svm"]})
    g = param(name="gamma", type="float", low=1, high=2, when={"kernel": ["rbf"]})
    model = param(name="model", type="categorical", values=["svm", "knn"])
    x = param(name="x", type="float", low=0, high=1)
    ordered = [p.name for p in ordered_for_sampling([g, c, x, k, model])]
    assert ordered.index("model") < ordered.index("C")
    assert ordered.index("model") < ordered.index("kernel") < ordered.index("gamma")
    assert [p.name for p in ordered_for_sampling([model, x, c])] == ["model", "x", "C"]


def test_cycles_are_refused() -> None:
    a = param(name="a", type="categorical", values=["x"], when={"b": ["x"]})
    b = param(name="b", type="categorical", values=["x"], when={"a": ["x"]})
    with pytest.raises(SpecProblem, match="cycle: a, b"):
        ordered_for_sampling([a, b])
    assert "cycle" in space_problems([a, b])[0][1]


def test_is_active() -> None:
    c = param(name="C", type="float", low=1, high=2, when={"model": ["svm", "logreg"]})
    assert is_active(c, {"model": "svm"})
    assert not is_active(c, {"model": "knn"})
    assert not is_active(c, {})
    assert is_active(param(name="x", type="float", low=0, high=1), {})


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"modle": ["svm"]}, "spec.parameters[1].when.modle: names unknown parameter 'modle'"),
        ({"model": ["rf"]}, "spec.parameters[1].when.model: 'rf' is not a value of 'model'"),
        ({"model": []}, "spec.parameters[1].when.model: needs at least one value of 'model'"),
        ({"C": [1]}, "spec.parameters[1].when.C: a parameter cannot depend on itself"),
    ],
)
def test_when_problems(when: dict[str, Any], expected: str) -> None:
    params = copy.deepcopy(MANIFEST["spec"]["parameters"])
    params[1]["when"] = when
    if "C" in when:
        params[1] |= {"type": "categorical", "values": [1], "low": None, "high": None, "log": False}
    lines = problems(parameters=params)
    assert any(line.startswith(expected) for line in lines), lines


def test_when_must_name_a_categorical() -> None:
    params = [
        {"name": "x", "type": "float", "low": 0, "high": 1},
        {"name": "C", "type": "float", "low": 1, "high": 2, "when": {"x": [0.5]}},
    ]
    (line,) = problems(parameters=params)
    assert line == "spec.parameters[1].when.x: must name a categorical parameter ('x' is float)"


# --- cross-field checks of the spec ---------------------------------------------------


def test_references_to_objectives() -> None:
    assert problems(goal={"acc": 0.9}) == [
        "spec.goal.acc: is not an objective (objectives: accuracy, cost)"
    ]
    assert problems(earlyStopping={"algorithm": "median", "metric": "loss"}) == [
        "spec.earlyStopping.metric: 'loss' is not an objective (objectives: accuracy, cost)"
    ]
    assert problems(selection={"policy": "weighted-sum"}) == [
        "spec.selection.weights: weighted-sum needs weights per objective"
    ]
    assert problems(selection={"policy": "weighted-sum", "weights": {"accuracy": 0}}) == [
        "spec.selection.weights: weights must be >= 0 and not all zero"
    ]


def test_constraints() -> None:
    assert problems(constraints=[{"metric": "cost"}]) == [
        "spec.constraints[0]: a constraint needs max, min or both"
    ]
    assert problems(constraints=[{"metric": "cost", "min": 2, "max": 1}]) == [
        "spec.constraints[0].min: must not exceed max (2.0 > 1.0)"
    ]
    assert study(constraints=[{"metric": "cost", "max": 1}]).spec.constraints[0].max == 1


def test_template_references() -> None:
    pod = {"containers": [{"name": "t", "args": ["${params.nope}", "${trial.name}", "${x.y}"]}]}
    assert problems(trialTemplate={"pod": pod}) == [
        "spec.trialTemplate.pod.containers[0].args[0]: '${params.nope}' names unknown parameter"
        " 'nope'; parameters: C, model",
        "spec.trialTemplate.pod.containers[0].args[2]: '${x.y}' is not a reference; references"
        " are ${params.NAME} (C, model), ${trial.name}, ${trial.number} and ${study.name}",
    ]
    bad = {"pod": {"containers": [{"name": "t"}]}, "primaryContainer": "main"}
    assert problems(trialTemplate=bad) == [
        "spec.trialTemplate.primaryContainer: no container named 'main'"
    ]
    args = {"pod": {"containers": [{"name": "t", "args": "--x"}]}}
    assert problems(trialTemplate=args) == [
        "spec.trialTemplate.pod.containers[0].args: must be a list of strings"
    ]


# --- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("1d", 86400), ("250ms", 0.25),
     ("1.5h", 5400), ("600", 600), (45, 45), (2.5, 2.5)],
)  # fmt: skip
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "x", "10 minutes", "5x", "m10", "1h 30m", "0s", "0", -1])
def test_bad_durations(text: str | int) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_in_the_spec() -> None:
    s = study(budget={"timeout": 600})
    assert s.spec.budget.timeout == "600" and s.spec.budget.timeout_seconds == 600
    assert study().spec.trial_template.active_deadline_seconds == 600
    assert problems(budget={"timeout": "10 minutes"}) == [
        "spec.budget.timeout: not a duration: '10 minutes' (use e.g. 90s, 10m, 1h30m)"
    ]
    assert problems(budget={"timeout": True}) == [
        "spec.budget.timeout: must be a duration such as 90s, 10m or 1h30m (got True)"
    ]
    assert problems(budget={"timeout": "0s"}) == [
        "spec.budget.timeout: must be a positive duration (got '0s')"
    ]
