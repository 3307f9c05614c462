"""`warmStart.paceByBranch`: in each branch at most as many priors inform the sampler as
the study has own results there (the branch's best first); none before the study tried a
branch; the API refuses it where it can do nothing; a rebuilt engine proposes the same."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import KEY, finish, make_spec, run
from tests.unit.test_engine_branch_leaders import (
    ACCURACY,
    OLD,
    SPACE,
    random_records,
    record,
    roundtrip,
    shuffled_priors,
)
from tradeoff.api import Trial
from tradeoff.api.errors import ManifestError
from tradeoff.engine import Engine
from tradeoff.engine.branch_leaders import ranked
from tradeoff.engine.prior_pace import BranchPace
from tradeoff.engine.priors import Source, match


def spec_(**extra: Any) -> Any:
    return make_spec(
        parameters=SPACE,
        objectives=ACCURACY,
        warmStart={"fromStudies": [{"name": "old"}], "paceByBranch": True},
        **extra,
    )


def own(*models: str) -> list[Trial]:
    params = {"lin": {"c": 2}, "tree": {"depth": 1}, "knn": {"k": 1}}
    return [record(i, {"model": m, **params[m]}, [0.5], "demo") for i, m in enumerate(models)]


def test_each_branch_has_as_many_priors_in_use_as_own_results_best_first() -> None:
    spec = spec_()
    pace = BranchPace(spec.parameters, OLD, ranked(spec, OLD))
    assert pace.in_use([]) == [False] * 5
    # One own tree result: tree's best prior (0.95); lin untried: none of it.
    assert pace.in_use(own("tree")) == [False, False, False, True, False]
    # Two of tree, one of lin, one of knn (no knn prior): tree's two best, lin's best.
    assert pace.in_use(own("tree", "lin", "tree", "knn")) == [False, True, True, True, False]
    # More own results than priors in a branch: all of that branch.
    assert pace.in_use(own("lin", "lin", "lin")) == [True, False, True, False, False]


def test_a_prior_in_no_branch_is_always_in_use_and_one_in_two_must_be_allowed_in_both() -> None:
    parameters = make_spec(
        parameters=[
            {"name": "model", "type": "categorical", "values": ["a", "b"]},
            {"name": "kind", "type": "categorical", "values": ["u", "v"], "when": {"model": ["a"]}},
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0, "when": {"kind": ["u"]}},
            {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
        ]
    ).parameters
    priors = [
        record(0, {"model": "a", "kind": "u", "x": 0.5}, [0.9]),
        record(1, {"y": 0.5}, [0.8]),  # its model was dropped (say): in no branch
        record(2, {"model": "a", "kind": "v"}, [0.7]),
    ]
    pace = BranchPace(parameters, priors, [0, 1, 2])
    assert pace.in_use([]) == [False, True, False]
    mine = [record(0, {"model": "a", "kind": "v"}, [0.1], "demo")]
    # model a tried once: its best (prior 0) is allowed there, but kind u was not tried;
    # prior 2 is allowed in kind v but is model a's second.
    assert pace.in_use(mine) == [False, True, False]
    mine.append(record(1, {"model": "a", "kind": "v"}, [0.2], "demo"))
    assert pace.in_use(mine) == [False, True, True]


def like_the_priors(p: dict[str, Any]) -> dict[str, float]:
    """The source's values again (so the global check keeps the priors)."""
    by_model = {"lin": 0.65 + 0.05 * p.get("c", 0), "tree": 0.3 + 0.22 * p.get("depth", 0)}
    return {"accuracy": by_model.get(p["model"], 0.5)}


def test_before_the_study_tries_a_branch_it_proposes_what_a_cold_study_does() -> None:
    spec = spec_(algorithm={"name": "tpe", "seed": 3})
    cold = make_spec(parameters=SPACE, objectives=ACCURACY, algorithm={"name": "tpe", "seed": 3})
    warm = Engine(spec, key=KEY, priors=match(spec, [Source("old", ["accuracy"], OLD)]))
    assert warm.ask([], 1) == Engine(cold, key=KEY).ask([], 1)
    assert not warm.priors_in_use
    assert warm.priors_line([]) == "5 prior trials (old: 5); paced by branch: 0 in use"
    records = run(warm, like_the_priors, 6)
    tried = {m: sum(r.spec.parameters["model"] == m for r in records) for m in ("lin", "tree")}
    in_use = min(tried["lin"], 2) + min(tried["tree"], 3)
    assert warm.priors_line(records).endswith(f"paced by branch: {in_use} in use")
    assert warm.priors_in_use is (in_use > 0)


def test_without_the_option_every_prior_informs_from_the_start() -> None:
    spec = make_spec(
        parameters=SPACE, objectives=ACCURACY, warmStart={"fromStudies": [{"name": "old"}]}
    )
    engine = Engine(spec, key=KEY, priors=match(spec, [Source("old", ["accuracy"], OLD)]))
    engine.ask([], 1)
    assert engine.priors_in_use
    assert engine.priors_line([]) == "5 prior trials (old: 5)"


def test_the_api_refuses_it_where_it_can_do_nothing() -> None:
    with pytest.raises(ManifestError) as caught:
        make_spec(warmStart={"fromStudies": [{"name": "old"}], "paceByBranch": True})
    assert "warmStart.paceByBranch: the space has no branches" in str(caught.value)
    with pytest.raises(ManifestError) as caught:
        make_spec(
            parameters=SPACE,
            warmStart={"trials": [{"parameters": {"model": "lin"}}], "paceByBranch": True},
        )
    assert "warmStart.paceByBranch: needs prior trials" in str(caught.value)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    seed=st.integers(min_value=0, max_value=1000),
    prior_count=st.integers(min_value=0, max_value=15),
    plan=st.lists(
        st.tuples(st.integers(min_value=1, max_value=3), st.booleans(), st.booleans()),
        min_size=2,
        max_size=7,
    ),
)
def test_a_rebuilt_engine_with_paced_priors_proposes_what_the_running_one_does(
    seed: int, prior_count: int, plan: list[tuple[int, bool, bool]]
) -> None:
    spec = spec_(
        algorithm={"name": "tpe", "seed": seed}, budget={"maxTrials": 100, "parallelism": 3}
    )
    old, rng = random_records(seed, prior_count)

    def priors(order_seed: int) -> Any:
        return shuffled_priors(spec, old, order_seed)

    live = Engine(spec, key=KEY, priors=priors(0))
    records: list[Trial] = []
    for step, (count, succeed, restart) in enumerate(plan):
        fresh = Engine(spec, key=KEY, priors=priors(step + 1))
        proposed = live.ask(records, count)
        assert proposed == fresh.ask(roundtrip(records), count)
        assert fresh.priors_in_use is live.priors_in_use
        for s in proposed:
            r = Trial.new("demo", s.number, s.parameters, s.sampler_state)
            if succeed:  # a running trial is no own result yet
                finish(live, r, {"accuracy": rng.random()})
            records.append(r)
        if restart:
            live = Engine(spec, key=KEY, priors=priors(step + 100))
            records = roundtrip(records)
    assert not live.warnings
