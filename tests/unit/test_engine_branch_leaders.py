"""`warmStart.bestPerBranchFirst`: the prior trials' best configuration of each branch
(value of a categorical parameter that others depend on) runs first, best first; the API
refuses it where it can do nothing; a rebuilt engine proposes the same."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import KEY, PROPERTY_SPACES, finish, make_spec, run
from tradeoff.api import Trial
from tradeoff.api.errors import ManifestError
from tradeoff.engine import Engine
from tradeoff.engine.branch_leaders import leaders
from tradeoff.engine.priors import Source, match

SPACE = PROPERTY_SPACES["conditional"]  # model: lin (c), tree (depth), knn (k)
ACCURACY = [{"name": "accuracy", "direction": "maximize"}]


def record(number: int, params: dict[str, Any], values: list[float], study: str = "old") -> Trial:
    r = Trial.new(study, number, params)
    r.status.state = "Succeeded"
    r.status.values = values
    return r


def roundtrip(records: list[Trial]) -> list[Trial]:
    return [Trial.model_validate(json.loads(r.model_dump_json(by_alias=True))) for r in records]


def random_records(seed: int, count: int) -> tuple[list[Trial], random.Random]:
    """`count` succeeded records of the old study over every branch, ties too, and the
    generator that made them (for the values that follow)."""
    rng = random.Random(seed)
    old = []
    for i in range(count):
        model = rng.choice(["lin", "tree", "knn"])
        extra = {"lin": {"c": rng.randint(1, 4)}, "tree": {"depth": rng.randint(1, 3)}}
        params = {"model": model, **extra.get(model, {"k": rng.choice([1, 3])})}
        old.append(record(i, params, [round(rng.random(), 1)]))
    return old, rng


def shuffled_priors(spec: Any, old: list[Trial], order_seed: int) -> Any:
    """The priors `old` make, read back from JSON in an order `order_seed` shuffles."""
    shuffled = roundtrip(old)
    random.Random(order_seed).shuffle(shuffled)
    return match(spec, [Source("old", ["accuracy"], shuffled)])


OLD = [
    record(0, {"model": "lin", "c": 1}, [0.70]),
    record(1, {"model": "tree", "depth": 2}, [0.90]),
    record(2, {"model": "lin", "c": 3}, [0.80]),
    record(3, {"model": "tree", "depth": 3}, [0.95]),
    record(4, {"model": "tree", "depth": 1}, [0.60]),
]


def spec_(**warm: Any) -> Any:
    return make_spec(
        parameters=SPACE,
        objectives=ACCURACY,
        warmStart={"fromStudies": [{"name": "old"}], "bestPerBranchFirst": True, **warm},
    )


def test_each_branch_s_best_prior_runs_first_best_first() -> None:
    spec = spec_(trials=[{"parameters": {"model": "knn", "k": 3}}])
    priors = match(spec, [Source("old", ["accuracy"], OLD)])
    # The author's configurations first, then tree's best (0.95) and lin's (0.8);
    # knn has no prior, so nothing of it.
    assert priors.points == [
        {"model": "knn", "k": 3},
        {"model": "tree", "depth": 3},
        {"model": "lin", "c": 3},
    ]
    engine = Engine(spec, key=KEY, priors=priors)
    records = run(engine, lambda p: {"accuracy": 0.5}, 4)
    assert [r.spec.parameters for r in records[:3]] == priors.points
    assert engine.summarize(records).counts.created == 4  # the study's own trials


def test_without_the_option_nothing_runs_first() -> None:
    spec = make_spec(
        parameters=SPACE, objectives=ACCURACY, warmStart={"fromStudies": [{"name": "old"}]}
    )
    assert match(spec, [Source("old", ["accuracy"], OLD)]).points == []


def test_best_is_feasible_first_then_the_mean_rank_over_objectives() -> None:
    spec = make_spec(parameters=SPACE)  # accuracy up, cost down
    old = [
        record(0, {"model": "lin", "c": 1}, [0.9, 0.9]),  # ranks 1 and 3: mean 2
        record(1, {"model": "lin", "c": 2}, [0.8, 0.1]),  # ranks 2 and 1: mean 1.5
        record(2, {"model": "tree", "depth": 1}, [0.99, 0.05]),  # best, but infeasible
        record(3, {"model": "tree", "depth": 2}, [0.1, 0.5]),  # ranks 3 and 2: mean 2.5
    ]
    old[2].status.feasible = False
    assert leaders(spec, old) == [{"model": "lin", "c": 2}, {"model": "tree", "depth": 2}]


def test_a_branch_is_a_value_of_a_categorical_that_another_parameter_depends_on() -> None:
    spec = make_spec(
        parameters=[
            {"name": "model", "type": "categorical", "values": ["a", "b"]},
            {"name": "scaler", "type": "categorical", "values": ["s", "t"]},
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0, "when": {"model": ["a"]}},
        ],
        objectives=ACCURACY,
    )
    old = [
        record(0, {"model": "a", "scaler": "s", "x": 0.5}, [0.9]),
        record(1, {"model": "a", "scaler": "t", "x": 0.1}, [0.8]),
        record(2, {"model": "b", "scaler": "t"}, [0.7]),
    ]
    # `scaler` is no branch: its values do not each get a configuration.
    assert leaders(spec, old) == [old[0].spec.parameters, old[2].spec.parameters]


def test_the_api_refuses_it_where_it_can_do_nothing() -> None:
    with pytest.raises(ManifestError) as caught:
        make_spec(warmStart={"fromStudies": [{"name": "old"}], "bestPerBranchFirst": True})
    assert "warmStart.bestPerBranchFirst: the space has no branches" in str(caught.value)
    with pytest.raises(ManifestError) as caught:
        make_spec(
            parameters=SPACE,
            warmStart={"trials": [{"parameters": {"model": "lin"}}], "bestPerBranchFirst": True},
        )
    assert "warmStart.bestPerBranchFirst: needs prior trials" in str(caught.value)
    make_spec(  # known results in the spec are priors too
        parameters=SPACE,
        objectives=ACCURACY,
        warmStart={
            "trials": [{"parameters": {"model": "lin"}, "values": {"accuracy": 0.5}}],
            "bestPerBranchFirst": True,
        },
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    seed=st.integers(min_value=0, max_value=1000),
    prior_count=st.integers(min_value=0, max_value=15),
    plan=st.lists(
        st.tuples(st.integers(min_value=1, max_value=3), st.booleans()), min_size=2, max_size=6
    ),
)
def test_the_same_priors_in_any_order_give_the_same_proposals_after_a_restart(
    seed: int, prior_count: int, plan: list[tuple[int, bool]]
) -> None:
    spec = make_spec(
        parameters=SPACE,
        objectives=ACCURACY,
        algorithm={"name": "tpe", "seed": seed},
        budget={"maxTrials": 100, "parallelism": 3},
        warmStart={"fromStudies": [{"name": "old"}], "bestPerBranchFirst": True},
    )
    old, rng = random_records(seed, prior_count)

    def priors(order_seed: int) -> Any:
        return shuffled_priors(spec, old, order_seed)

    assert len(priors(0).points) == len({t.spec.parameters["model"] for t in old})
    live = Engine(spec, key=KEY, priors=priors(0))
    records: list[Trial] = []
    for step, (count, restart) in enumerate(plan):
        fresh = Engine(spec, key=KEY, priors=priors(step + 1)).ask(roundtrip(records), count)
        proposed = live.ask(records, count)
        assert proposed == fresh
        for s in proposed:
            r = Trial.new("demo", s.number, s.parameters, s.sampler_state)
            records.append(finish(live, r, {"accuracy": rng.random()}))
        if restart:
            live = Engine(spec, key=KEY, priors=priors(step + 100))
            records = roundtrip(records)
    assert not live.warnings
