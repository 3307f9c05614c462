"""TPE's defaults: the settings the engine gives TPE when a study leaves them out."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from tests.factories import make_spec, run
from tradeoff.engine import Engine
from tradeoff.engine.samplers import algorithm_problems, make_sampler

NUMERIC = [
    {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
    {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
]
CONDITIONAL = [
    {"name": "model", "type": "categorical", "values": ["svm", "forest"]},
    {"name": "C", "type": "float", "low": 0.01, "high": 10.0, "when": {"model": ["svm"]}},
    {"name": "trees", "type": "int", "low": 10, "high": 100, "when": {"model": ["forest"]}},
]


def tpe(objectives: int, parameters: list[dict[str, Any]], **settings: Any) -> Any:
    names = ["accuracy", "cost", "carbon"][:objectives]
    spec = make_spec(
        objectives=[{"name": n, "direction": "minimize"} for n in names],
        parameters=parameters,
        algorithm={"name": "tpe", "seed": 1, "settings": settings},
    )
    assert algorithm_problems(spec) == []
    sampler = make_sampler(spec, 1)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    return sampler


@pytest.mark.parametrize(
    ("objectives", "parameters", "multivariate", "group"),
    [
        (1, NUMERIC, True, False),
        (1, CONDITIONAL, True, True),
        (2, NUMERIC, False, False),
        (2, CONDITIONAL, False, False),
        (3, NUMERIC, False, False),
    ],
)
def test_tpe_is_multivariate_for_one_objective_and_univariate_for_several(
    objectives: int, parameters: list[dict[str, Any]], multivariate: bool, group: bool
) -> None:
    sampler = tpe(objectives, parameters)
    assert sampler._multivariate is multivariate
    assert sampler._group is group
    assert sampler._constant_liar is True


def test_a_study_can_ask_for_univariate_tpe_on_a_conditional_space() -> None:
    """Was refused: the default `group` needs multivariate TPE."""
    sampler = tpe(1, CONDITIONAL, multivariate=False)
    assert (sampler._multivariate, sampler._group) == (False, False)


def test_asking_for_multivariate_tpe_with_several_objectives_groups_conditional_spaces() -> None:
    sampler = tpe(2, CONDITIONAL, multivariate=True)
    assert (sampler._multivariate, sampler._group) == (True, True)
    assert tpe(2, NUMERIC, multivariate=True)._group is False


def test_asking_for_group_implies_multivariate() -> None:
    sampler = tpe(2, CONDITIONAL, group=True)
    assert (sampler._multivariate, sampler._group) == (True, True)


def test_the_constant_liar_can_be_turned_off() -> None:
    assert tpe(2, NUMERIC, constantLiar=False)._constant_liar is False


def test_univariate_tpe_proposes_differently_from_multivariate() -> None:
    """The defaults reach the sampler: past the startup trials the two models disagree."""

    def proposals(**settings: Any) -> list[dict[str, Any]]:
        spec = make_spec(algorithm={"name": "tpe", "seed": 4, "settings": settings})
        records = run(Engine(spec), lambda p: {"accuracy": p["x"], "cost": p["x"] + p["y"]}, 14)
        return [r.spec.parameters for r in records[10:]]

    default = proposals()
    assert default == proposals(multivariate=False)
    assert default != proposals(multivariate=True)
