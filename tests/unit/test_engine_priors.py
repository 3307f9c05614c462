"""Warm start in the engine: prior trials matched by name, dropped values counted, priors
informing the sampler without counting against the budget or joining the front unless
asked, configurations run first, and exact replay with priors."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import KEY, finish, make_spec, run
from tradeoff.api import Trial
from tradeoff.api.errors import ManifestError
from tradeoff.engine import Engine
from tradeoff.engine.priors import (
    DROPPED_VALUE,
    NO_OBJECTIVE,
    NO_PARAMETER,
    PRIOR_LABEL,
    UNFINISHED,
    Priors,
    Source,
    match,
)

OBJECTIVES = ["accuracy", "cost"]


def record(
    number: int, params: dict[str, Any], values: list[float] | None, **metrics: float
) -> Trial:
    r = Trial.new("old", number, params)
    r.status.state = "Succeeded" if values is not None else "Failed"
    r.status.values = values
    r.status.metrics = dict(metrics)
    return r


def roundtrip(records: list[Trial]) -> list[Trial]:
    return [Trial.model_validate(json.loads(r.model_dump_json(by_alias=True))) for r in records]


def bowl(params: dict[str, Any]) -> dict[str, float]:
    """Best near x = 0.85, y = 0.15; cost grows with y."""
    x, y = params["x"], params["y"]
    return {"accuracy": 1 - (x - 0.85) ** 2 - (y - 0.15) ** 2, "cost": 0.1 + y}


def test_values_are_matched_by_name_and_what_does_not_fit_is_dropped_and_counted() -> None:
    spec = make_spec(
        parameters=[
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "n", "type": "int", "low": 1, "high": 5},
            {"name": "kind", "type": "categorical", "values": ["a", "b"]},
        ]
    )
    source = Source(
        "old",
        ["cost", "accuracy"],  # the other order: values are taken by name
        [
            record(0, {"x": 0.5, "n": 3, "kind": "a", "gone": 7}, [0.2, 0.9]),
            record(1, {"x": 1.5, "n": True, "kind": "c"}, [0.3, 0.8]),  # nothing fits
            record(2, {"x": "0.5", "n": 2.0, "kind": 1}, [0.4, 0.7]),  # str x, int 1 for "a"
            record(3, {"gone": 1}, [0.1, 0.1]),  # nothing in common
            record(4, {"x": 0.1}, None),  # failed
        ],
    )
    priors = match(spec, [source])
    assert [t.spec.parameters for t in priors.trials] == [
        {"x": 0.5, "n": 3, "kind": "a"},
        {"n": 2},
    ]
    assert [t.status.values for t in priors.trials] == [[0.9, 0.2], [0.7, 0.4]]
    assert isinstance(priors.trials[1].spec.parameters["n"], int)
    assert priors.dropped == {DROPPED_VALUE: 5, NO_PARAMETER: 2, UNFINISHED: 1}
    assert priors.used == {"old": 2}
    assert all(t.metadata.labels == {PRIOR_LABEL: "old"} for t in priors.trials)
    assert priors.trials[0].metadata.name == "old/old-0000"
    assert "2 prior trials (old: 2)" in priors.describe()
    assert "5 values outside the space or of another type" in priors.describe()


def test_objectives_come_from_metrics_of_that_name_else_the_trial_is_dropped() -> None:
    spec = make_spec()
    source = Source(
        "old",
        ["loss"],
        [
            record(0, {"x": 0.1, "y": 0.2}, [0.5], accuracy=0.8, cost=0.01),
            record(1, {"x": 0.3, "y": 0.4}, [0.4], accuracy=0.9),  # no cost
        ],
    )
    priors = match(spec, [source])
    assert [t.status.values for t in priors.trials] == [[0.8, 0.01]]
    assert priors.dropped == {NO_OBJECTIVE: 1}


def test_matching_is_deterministic_whatever_order_the_store_lists_records_in() -> None:
    spec = make_spec()
    records = run(Engine(spec, key=KEY), bowl, 12)
    shuffled = list(records)
    random.Random(4).shuffle(shuffled)
    a = match(spec, [Source("old", OBJECTIVES, records)])
    b = match(spec, [Source("old", OBJECTIVES, roundtrip(shuffled))])
    assert a == b


def test_spec_trials_with_values_are_priors_and_without_are_run_first() -> None:
    spec = make_spec(
        warmStart={
            "trials": [
                {"parameters": {"x": 0.25}},
                {"parameters": {"x": 0.9, "y": 0.1}, "values": {"cost": 0.2, "accuracy": 0.95}},
                {"parameters": {"x": 0.5, "y": 0.5}},
            ]
        },
        budget={"maxTrials": 5, "parallelism": 1},
    )
    priors = match(spec, [])
    assert [t.metadata.name for t in priors.trials] == ["warmStart.trials[1]"]
    assert priors.trials[0].status.values == [0.95, 0.2]
    assert priors.points == [{"x": 0.25}, {"x": 0.5, "y": 0.5}]
    engine = Engine(spec, key=KEY, priors=priors)
    records = run(engine, bowl, 5)
    assert records[0].spec.parameters["x"] == 0.25  # y left to the sampler
    assert 0.0 <= float(records[0].spec.parameters["y"]) <= 1.0
    assert records[1].spec.parameters == {"x": 0.5, "y": 0.5}
    # They are ordinary trials: the budget of five includes them.
    assert engine.trials_to_start(records) == 0
    decision = engine.stop_decision(records)
    assert decision is not None and decision.reason == "MaxTrialsReached"


def test_a_configuration_already_tried_is_not_run_again() -> None:
    spec = make_spec(
        parameters=[{"name": "n", "type": "int", "low": 0, "high": 9}],
        warmStart={"trials": [{"parameters": {"n": 4}}, {"parameters": {"n": 4}}]},
        algorithm={"name": "random", "seed": 1},
    )
    engine = Engine(spec, key=KEY, priors=match(spec, []))
    records = run(engine, lambda p: {"accuracy": p["n"], "cost": 1.0}, 3)
    ns = [r.spec.parameters["n"] for r in records]
    assert ns[0] == 4 and 4 not in ns[1:] and len(set(ns)) == 3


def test_grid_search_runs_the_given_configurations_first() -> None:
    spec = make_spec(
        parameters=[
            {"name": "a", "type": "int", "low": 0, "high": 3},
            {"name": "b", "type": "categorical", "values": ["p", "q"]},
        ],
        algorithm={"name": "grid", "seed": 5},
        warmStart={"trials": [{"parameters": {"a": 3, "b": "q"}}]},
        budget={"maxTrials": 8, "parallelism": 2},
    )
    engine = Engine(spec, key=KEY, priors=match(spec, []))
    records = run(engine, lambda p: {"accuracy": p["a"], "cost": 1.0}, 8, batch=2)
    assert records[0].spec.parameters == {"a": 3, "b": "q"}
    assert len({(r.spec.parameters["a"], r.spec.parameters["b"]) for r in records}) == 8


def test_priors_never_count_against_max_trials() -> None:
    spec = make_spec(budget={"maxTrials": 4, "parallelism": 4})
    old = run(Engine(spec, key=KEY), bowl, 10)
    engine = Engine(spec, key=KEY, priors=match(spec, [Source("old", OBJECTIVES, old)]))
    assert engine.trials_to_start([]) == 4
    proposed = engine.ask([], 4)
    assert [s.number for s in proposed] == [0, 1, 2, 3]
    assert engine.summarize([]).counts.created == 0


@pytest.mark.parametrize("algorithm", ["tpe", "gp"])
def test_priors_inform_the_sampler(algorithm: str) -> None:
    """With forty priors around the optimum, the first proposals are near it; cold, a
    seeded sampler's first proposals are spread over the square."""
    settings_ = {"nStartupTrials": 10}
    spec = make_spec(
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        algorithm={"name": algorithm, "seed": 3, "settings": settings_},
    )
    rng = random.Random(0)
    old = []
    for i in range(40):
        p = {"x": rng.random(), "y": rng.random()}
        old.append(record(i, p, [bowl(p)["accuracy"]]))
    priors = match(spec, [Source("old", ["accuracy"], old)])
    assert len(priors.trials) == 40

    def distance(engine: Engine) -> float:
        records = run(engine, lambda p: {"accuracy": bowl(p)["accuracy"]}, 5)
        return sum(
            ((r.spec.parameters["x"] - 0.85) ** 2 + (r.spec.parameters["y"] - 0.15) ** 2) ** 0.5
            for r in records
        ) / len(records)

    warm = distance(Engine(spec, key=KEY, priors=priors))
    cold = distance(Engine(spec, key=KEY))
    assert warm < 0.2 < cold


def test_priors_are_on_the_front_only_when_asked() -> None:
    old = [record(0, {"x": 0.85, "y": 0.0}, [1.0, 0.1])]  # dominates anything the study finds
    for include in (False, True):
        spec = make_spec(warmStart={"includeInFront": include})
        engine = Engine(spec, key=KEY, priors=match(spec, [Source("old", OBJECTIVES, old)]))
        records = run(engine, bowl, 3)
        summary = engine.summarize(records)
        names = {p.trial for p in summary.front}
        assert ("old/old-0000" in names) is include
        assert summary.counts.created == 3
        if include:
            assert names == {"old/old-0000"}
            assert summary.recommended is not None
            assert summary.recommended.trial == "old/old-0000"
        else:
            assert names <= {r.metadata.name for r in records}


def test_prior_feasibility_follows_this_study_s_constraints() -> None:
    spec = make_spec(
        constraints=[{"metric": "cost", "max": 0.5}], warmStart={"includeInFront": True}
    )
    old = [
        record(0, {"x": 0.1, "y": 0.1}, [0.9, 0.9]),
        record(1, {"x": 0.2, "y": 0.2}, [0.5, 0.2]),
    ]
    priors = match(spec, [Source("old", OBJECTIVES, old)])
    assert [t.status.feasible for t in priors.trials] == [False, True]
    names = {p.trial for p in Engine(spec, key=KEY, priors=priors).summarize([]).front}
    assert names == {"old/old-0001"}


def test_the_api_refuses_configurations_that_do_not_fit() -> None:
    with pytest.raises(ManifestError) as caught:
        make_spec(
            warmStart={
                "trials": [
                    {"parameters": {"x": 2.0, "z": 1}},
                    {"parameters": {"x": 0.5}, "values": {"accuracy": 0.9, "loss": 1}},
                ]
            }
        )
    text = str(caught.value)
    assert "warmStart.trials[0].parameters.x: 2.0 is outside [0, 1]" in text
    assert "warmStart.trials[0].parameters.z: not a parameter (known: x, y)" in text
    assert "warmStart.trials[1].values.loss: not an objective (known: accuracy, cost)" in text
    assert "warmStart.trials[1].values: needs a value of every objective: cost" in text


SPACE = [
    {"name": "a", "type": "int", "low": 0, "high": 5},
    {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
    {"name": "m", "type": "categorical", "values": ["p", "q"]},
]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    sampler=st.sampled_from(["tpe", "nsga2", "random", "qmc"]),
    seed=st.integers(min_value=0, max_value=1000),
    prior_count=st.integers(min_value=0, max_value=12),
    plan=st.lists(
        st.tuples(st.integers(min_value=1, max_value=3), st.booleans(), st.booleans()),
        min_size=3,
        max_size=8,
    ),
)
def test_a_rebuilt_engine_with_priors_proposes_what_the_running_one_does(
    sampler: str, seed: int, prior_count: int, plan: list[tuple[int, bool, bool]]
) -> None:
    settings_: dict[str, Any] = {"populationSize": 4} if sampler == "nsga2" else {}
    spec = make_spec(
        parameters=SPACE,
        algorithm={"name": sampler, "seed": seed, "settings": settings_},
        budget={"maxTrials": 100, "parallelism": 3},
        warmStart={"trials": [{"parameters": {"a": 2}}, {"parameters": {"m": "q", "x": 0.5}}]},
    )
    rng = random.Random(seed)
    old = [
        record(
            i, {"a": rng.randrange(8), "x": rng.random(), "m": "p"}, [rng.random(), rng.random()]
        )
        for i in range(prior_count)
    ]

    def priors() -> Priors:
        return match(spec, [Source("old", OBJECTIVES, roundtrip(old))])

    live = Engine(spec, key=KEY, priors=priors())
    records: list[Trial] = []
    for count, succeed, restart in plan:
        fresh = Engine(spec, key=KEY, priors=priors()).ask(roundtrip(records), count)
        proposed = live.ask(records, count)
        assert proposed == fresh
        for s in proposed:
            r = Trial.new("demo", s.number, s.parameters, s.sampler_state)
            if succeed:
                finish(live, r, {"accuracy": float(s.parameters["a"]), "cost": 1.0})
            records.append(r)
        if restart:
            live = Engine(spec, key=KEY, priors=priors())
            records = roundtrip(records)
    assert not live.warnings


def _two_points(a: float, b: float) -> Any:
    def metrics(p: dict[str, Any]) -> dict[str, float]:
        return {"accuracy": -((p["x"] - a) ** 2) - (p["y"] - b) ** 2, "cost": 1.0}

    return metrics


@pytest.mark.parametrize(("target", "kept"), [((0.8, 0.25), True), ((0.15, 0.85), False)])
def test_priors_inform_only_while_they_agree_with_the_study(
    target: tuple[float, float], kept: bool
) -> None:
    """Priors from a study whose best region was (0.85, 0.15): a target near it keeps
    them; a target where that region is the worst stops them once own results show it."""
    spec = make_spec(
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        algorithm={"name": "tpe", "seed": 2},
    )
    source = _two_points(0.85, 0.15)
    rng = random.Random(1)
    old = []
    for i in range(30):
        p = {"x": rng.random(), "y": rng.random()}
        old.append(record(i, p, [source(p)["accuracy"]]))
    engine = Engine(spec, key=KEY, priors=match(spec, [Source("old", ["accuracy"], old)]))
    objective = _two_points(*target)
    records = run(engine, lambda p: {"accuracy": objective(p)["accuracy"]}, 4)
    assert engine.priors_in_use  # fewer than five own results: nothing to check yet
    records += run_more(engine, records, objective, 8)
    assert engine.priors_in_use is kept
    # A rebuilt engine decides the same from the same records.
    again = Engine(spec, key=KEY, priors=match(spec, [Source("old", ["accuracy"], old)]))
    assert again.ask(roundtrip(records), 2) == engine.ask(records, 2)
    assert again.priors_in_use is kept


def run_more(engine: Engine, records: list[Trial], objective: Any, n: int) -> list[Trial]:
    new: list[Trial] = []
    for _ in range(n):
        (s,) = engine.ask(records + new, 1)
        r = Trial.new("demo", s.number, s.parameters, s.sampler_state)
        new.append(finish(engine, r, {"accuracy": objective(s.parameters)["accuracy"]}))
    return new


def test_the_priors_line_says_when_the_priors_are_set_aside() -> None:
    spec = make_spec(objectives=[{"name": "accuracy", "direction": "maximize"}])
    source = _two_points(0.85, 0.15)
    old = [record(i, p, [source(p)["accuracy"]]) for i, p in enumerate(_grid())]
    engine = Engine(spec, key=KEY, priors=match(spec, [Source("old", ["accuracy"], old)]))
    assert engine.priors_line([]) == "16 prior trials (old: 16)"
    mirrored = _two_points(0.15, 0.85)
    records = run(engine, lambda p: {"accuracy": mirrored(p)["accuracy"]}, 8)
    assert engine.priors_line(records) == (
        "16 prior trials (old: 16); set aside: they disagree with this study's own results"
    )


def _grid() -> list[dict[str, Any]]:
    return [{"x": (i + 0.5) / 4, "y": (j + 0.5) / 4} for i in range(4) for j in range(4)]


def test_an_earlier_studys_ensemble_trial_is_no_prior_and_no_drop() -> None:
    spec = make_spec()
    records = run(Engine(spec, key=KEY), bowl, 4)
    ensemble = record(4, {}, [0.99, 0.5], accuracy=0.99)
    ensemble.spec.kind = "Ensemble"
    priors = match(spec, [Source("old", OBJECTIVES, [*records, ensemble])])
    assert len(priors.trials) == 4 and priors.dropped == {}
    assert priors.dropped == match(spec, [Source("old", OBJECTIVES, records)]).dropped
