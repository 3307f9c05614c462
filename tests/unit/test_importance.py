"""Parameter importance (Optuna's fANOVA over the records), per objective."""

from __future__ import annotations

from typing import Any

from tests.factories import KEY, make_spec, run
from tradeoff.engine import Engine, param_importances
from tradeoff.engine.importance import MAX_TRIALS, MIN_TRIALS


def _objective(p: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": 1 - (float(p["x"]) - 0.3) ** 2, "cost": 0.01 + 0.001 * float(p["y"])}


def test_the_parameter_an_objective_depends_on_ranks_first() -> None:
    spec = make_spec(algorithm={"name": "random", "seed": 3})
    records = run(Engine(spec, key=KEY), _objective, 30)
    found = param_importances(spec, records)
    assert found.reason is None and found.trials == found.succeeded == 30
    assert found.by_objective["accuracy"]["x"] > 0.8
    assert found.by_objective["cost"]["y"] > 0.8
    assert found == param_importances(spec, records)  # seeded: the same every time


def test_too_few_trials_say_so() -> None:
    spec = make_spec()
    records = run(Engine(spec, key=KEY), _objective, MIN_TRIALS - 1)
    found = param_importances(spec, records)
    assert found.by_objective == {}
    assert found.reason == f"not enough trials: {MIN_TRIALS - 1} succeeded, {MIN_TRIALS} needed"


def test_many_trials_are_sampled_down() -> None:
    spec = make_spec(algorithm={"name": "random", "seed": 5})
    records = run(Engine(spec, key=KEY), _objective, MAX_TRIALS + 20)
    found = param_importances(spec, records)
    assert (found.trials, found.succeeded) == (MAX_TRIALS, MAX_TRIALS + 20)
    assert found.by_objective["accuracy"]["x"] > 0.8


def test_a_parameter_set_in_only_some_trials_is_left_out() -> None:
    spec = make_spec(
        parameters=[
            {"name": "kind", "type": "categorical", "values": ["a", "b"]},
            {"name": "x", "type": "float", "low": 0, "high": 1, "when": {"kind": ["a"]}},
        ],
        algorithm={"name": "random", "seed": 2},
    )
    records = run(Engine(spec, key=KEY), lambda p: _objective({"y": 0.5, "x": 0.1, **p}), 12)
    assert {"a", "b"} == {r.spec.parameters["kind"] for r in records}
    found = param_importances(spec, records)
    assert set(found.by_objective["accuracy"]) == {"kind"}
