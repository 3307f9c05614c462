"""Insights on constructed records whose effects are known, and on pure noise."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import make_spec
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.space import Parameter
from tradeoff.api.status import Insight
from tradeoff.api.trial import StepValue, Trial
from tradeoff.engine.importance import MAX_TRIALS
from tradeoff.engine.insights import insights, insights_due, milestone

X = {"name": "x", "type": "float", "low": 0.0, "high": 1.0}
Y = {"name": "y", "type": "float", "low": 0.0, "high": 1.0}
MODEL = {"name": "model", "type": "categorical", "values": ["a", "b", "c"]}
FRACTION = {"name": "fraction", "type": "float", "low": 0.1, "high": 1.0}
TWO = [{"name": "accuracy", "direction": "maximize"}, {"name": "cost", "direction": "minimize"}]

Params = dict[str, Any]
Metrics = Callable[[Params, random.Random], tuple[float, float]]


def record(
    number: int,
    params: Params,
    values: list[float],
    cost: float = 0.001,
    curve: list[float] | None = None,
    seconds: float = 10.0,
) -> Trial:
    r = Trial.new("demo", number, params)
    r.status.state = "Succeeded"
    r.status.values = values
    r.status.feasible = True
    r.status.metrics = {"accuracy": values[0]}
    r.status.economics = TrialEconomics(
        duration_seconds=seconds,
        energy_kwh=0.0,
        carbon_grams=0.0,
        cost_usd=cost,
        source="estimated",
        vcpu=1.0,
        memory_gib=1.0,
        grams_per_kwh=475.0,
    )
    if curve is not None:
        r.status.intermediate = [StepValue(step=i + 1, value=v) for i, v in enumerate(curve)]
    return r


def study(
    parameters: list[dict[str, Any]], metrics: Metrics, n: int = 40, seed: int = 0
) -> list[Trial]:
    """`n` trials drawn at random from the space, scored by `metrics(params, rng)`."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        params: Params = {}
        for p in parameters:
            if p["type"] == "categorical":
                params[p["name"]] = rng.choice(p["values"])
            else:
                params[p["name"]] = rng.uniform(p["low"], p["high"])
        accuracy, cost = metrics(params, rng)
        out.append(record(i, params, [accuracy, cost], cost=cost))
    return out


def of(found: list[Insight], kind: str) -> list[Insight]:
    return [i for i in found if i.kind == kind]


def noise_only(params: Params, rng: random.Random) -> tuple[float, float]:
    return rng.random(), rng.random()


SEEDS = range(5)


def test_importance_per_objective_names_the_parameter_that_drives_it() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    records = study([X, Y], lambda p, r: (p["x"] + 0.01 * r.random(), p["y"] + 0.01 * r.random()))
    found = of(insights(spec, records), "importance")
    assert [(i.subject, max(i.evidence, key=lambda k: float(i.evidence[k]))) for i in found] == [
        ("accuracy", "x"),
        ("cost", "y"),
    ]
    assert float(found[0].evidence["x"]) > 0.8
    assert "fANOVA over 40 trials" in found[0].message


def test_no_importance_from_too_few_trials() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    assert of(insights(spec, study([X, Y], noise_only, n=4)), "importance") == []


def test_edge_when_the_best_trials_sit_at_the_top_of_a_range() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    records = study([X, Y], lambda p, r: (p["x"] + 0.01 * r.random(), r.random()))
    found = [i for i in of(insights(spec, records), "edge") if i.objective == "accuracy"]
    assert [(i.subject, i.evidence["side"]) for i in found] == [("x", "high")]
    assert "beyond high=1" in found[0].message


@pytest.mark.parametrize("seed", SEEDS)
def test_no_edge_no_front_verdict_and_no_cheaper_value_on_pure_noise(seed: int) -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y, MODEL])
    found = insights(spec, study([X, Y, MODEL], noise_only, n=60, seed=seed))
    kinds = {i.kind for i in found}
    assert not kinds & {"edge", "never-on-front", "cheaper-resource", "pruning-savings", "noise"}


def test_no_effect_for_a_parameter_nothing_depends_on() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    records = study([X, Y], lambda p, r: (p["x"] + 0.05 * r.random(), p["x"] + 0.05 * r.random()))
    found = of(insights(spec, records), "no-effect")
    assert [i.subject for i in found] == ["y"]
    assert float(found[0].evidence["maxShare"]) < 0.05


def test_no_no_effect_verdict_for_a_parameter_that_drives_one_objective() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    records = study([X, Y], lambda p, r: (p["x"] + 0.05 * r.random(), p["y"]))
    assert of(insights(spec, records), "no-effect") == []


def test_categorical_value_never_on_the_front() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, MODEL])

    def metrics(p: Params, r: random.Random) -> tuple[float, float]:
        bad = p["model"] == "c"
        return r.random() * (0.5 if bad else 1.0), r.random() + (1.0 if bad else 0.0)

    found = of(insights(spec, study([X, MODEL], metrics, n=60)), "never-on-front")
    assert [i.subject for i in found] == ["model=c"]
    assert float(found[0].evidence["pValue"]) < 0.01


def test_cheaper_resource_that_loses_nothing() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, FRACTION])

    def metrics(p: Params, r: random.Random) -> tuple[float, float]:
        return p["x"] + 0.01 * r.random(), 0.001 * p["fraction"]

    found = of(insights(spec, study([X, FRACTION], metrics)), "cheaper-resource")
    assert [i.subject for i in found] == ["fraction"]
    assert str(found[0].evidence["cheaperValues"]).startswith("<=")
    assert float(found[0].evidence["saving"]) > 0.3


def test_no_cheaper_resource_when_the_costlier_values_are_better() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, FRACTION])

    def metrics(p: Params, r: random.Random) -> tuple[float, float]:
        return p["fraction"] + 0.01 * r.random(), 0.001 * p["fraction"]

    assert of(insights(spec, study([X, FRACTION], metrics)), "cheaper-resource") == []


def curves(shape: Callable[[float, int], float], n: int = 20, seed: int = 0) -> list[Trial]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = rng.random()
        curve = [shape(q, step) for step in range(1, 11)]
        out.append(record(i, {"x": q, "y": 0.5}, [curve[-1], 0.001], curve=curve))
    return out


def test_pruning_savings_replayed_from_the_curves() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    found = of(insights(spec, curves(lambda q, step: q * step / 10)), "pruning-savings")
    assert len(found) == 1
    ev = found[0].evidence
    assert 0 < int(ev["stopped"]) < 20 and float(ev["shareOfTimeSaved"]) > 0.2
    assert ev["stoppedOnFront"] == 0  # the curves keep their order: no front trial lost


def test_pruning_counts_front_trials_it_would_have_lost() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    # Curves cross: the trials that start worst end best.
    found = of(
        insights(spec, curves(lambda q, step: (1 - q) if step < 10 else q)), "pruning-savings"
    )
    assert int(found[0].evidence["stoppedOnFront"]) >= 1


def test_no_pruning_savings_when_curves_agree_or_are_missing() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    assert of(insights(spec, curves(lambda q, step: 0.5)), "pruning-savings") == []
    assert of(insights(spec, study([X, Y], noise_only)), "pruning-savings") == []


def test_noise_where_configurations_repeat() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y])
    rng = random.Random(3)
    records = [
        record(i, {"x": i % 4 / 4, "y": 0.5}, [i % 4 / 4 + rng.gauss(0, 0.01), 0.001])
        for i in range(40)
    ]
    found = of(insights(spec, records), "noise")
    accuracy = next(i for i in found if i.subject == "accuracy")
    assert 0.005 < float(accuracy.evidence["sd"]) < 0.02
    assert accuracy.evidence["configurations"] == 4 and accuracy.evidence["runs"] == 40
    assert float(accuracy.evidence["shareOfSpread"]) < 0.1


def test_noise_widens_what_a_cheaper_setting_may_lose() -> None:
    """The costlier values are better by less than two measured standard deviations."""
    spec = make_spec(objectives=TWO, parameters=[X, FRACTION])
    rng = random.Random(1)
    records = []
    for i in range(40):
        fraction = 0.1 if i % 2 else 1.0
        accuracy = 0.9 + (0.004 if fraction == 1.0 else 0.0) + rng.gauss(0, 0.01)
        records.append(
            record(i, {"x": 0.5, "fraction": fraction}, [accuracy, fraction], cost=fraction)
        )
    found = insights(spec, records)
    assert [i.subject for i in of(found, "noise")] == ["accuracy", "cost"]
    assert [i.subject for i in of(found, "cheaper-resource")] == ["fraction"]


def test_the_same_records_give_the_same_insights() -> None:
    spec = make_spec(objectives=TWO, parameters=[X, Y, MODEL])
    records = study([X, Y, MODEL], lambda p, r: (p["x"] + 0.1 * r.random(), r.random()))
    assert insights(spec, records) == insights(spec, records)


def test_cost_is_bounded_in_trials_and_independent_of_range_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wide = {"name": "n", "type": "int", "low": 0, "high": 1_000_000_000}

    def listed(*_: object) -> None:
        raise AssertionError("a range's values were listed")

    monkeypatch.setattr(Parameter, "value_at", listed)
    spec = make_spec(objectives=TWO, parameters=[X, wide])
    rng = random.Random(0)
    records = [
        record(i, {"x": rng.random(), "n": rng.randrange(10**9)}, [rng.random(), 0.001])
        for i in range(1000)
    ]
    started = time.process_time()
    found = insights(spec, records)
    took = time.process_time() - started
    assert f"fANOVA over {MAX_TRIALS} trials" in of(found, "importance")[0].message
    assert took < 30  # about a second unloaded; the cap keeps 1,000 trials at 100's cost


def test_milestones_and_when_insights_are_due() -> None:
    assert [milestone(n) for n in (0, 4, 5, 9, 10, 19, 20, 99, 100, 250, 1999, 12345)] == [
        0, 0, 5, 5, 10, 10, 20, 90, 100, 200, 1000, 12000,
    ]  # fmt: skip
    assert len({milestone(n) for n in range(1, 10_001)} - {0}) == 29
    assert not insights_due(None, 4, ended=False)
    assert insights_due(None, 5, ended=False)
    assert not insights_due(5, 9, ended=False)
    assert insights_due(5, 10, ended=False)
    assert insights_due(10, 12, ended=True)
    assert not insights_due(12, 12, ended=True)
    assert insights_due(None, 3, ended=True)
