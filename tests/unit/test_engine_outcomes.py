"""Pareto front, hypervolume, selection policies, pruning and stop rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import finish, make_spec, report_steps
from tradeoff.api import Trial
from tradeoff.api.trial import StepValue
from tradeoff.engine import Engine
from tradeoff.engine.pareto import normalised_hypervolume, pareto_front

POINTS = {  # accuracy (max), cost (min)
    0: (0.90, 4.0),
    1: (0.80, 1.0),
    2: (0.95, 9.0),
    3: (0.85, 2.0),
    4: (0.70, 3.0),  # dominated by 1 and 3
    5: (0.85, 2.0),  # same as 3: only the first stays on the front
}


def records_for(engine: Engine, points: dict[int, tuple[float, float]]) -> list[Trial]:
    out = []
    for n, (acc, cost) in points.items():
        r = Trial.new("demo", n, {"x": n / 10, "y": 0.5})
        out.append(finish(engine, r, {"accuracy": acc, "cost": cost}))
    return out


def front_numbers(engine: Engine, records: list[Trial]) -> list[int]:
    return [t.number for t in pareto_front(engine.spec, records)]


def test_pareto_front_keeps_nondominated_feasible_trials() -> None:
    engine = Engine(make_spec())
    records = records_for(engine, POINTS)
    assert front_numbers(engine, records) == [0, 1, 2, 3]


def test_infeasible_and_failed_trials_are_not_on_the_front() -> None:
    engine = Engine(make_spec(constraints=[{"metric": "cost", "max": 5.0}]))
    records = records_for(engine, POINTS)
    records[1].status.state = "Failed"
    assert front_numbers(engine, records) == [0, 3]


def test_normalised_hypervolume_by_hand() -> None:
    engine = Engine(make_spec())
    # Losses (-accuracy, cost): (-1, 1) and (0, 0)... scaled to [0,1]: (0,1) and (1,0).
    records = records_for(engine, {0: (1.0, 1.0), 1: (0.0, 0.0)})
    # Reference 1.1 in scaled units: boxes 1.1x0.1 + 0.1x1.1 - 0.1x0.1 = 0.21; / 1.21.
    assert normalised_hypervolume(engine.spec, records) == pytest.approx(0.21 / 1.21)
    records.append(
        finish(engine, Trial.new("demo", 2, {"x": 0.5, "y": 0.5}), {"accuracy": 0.5, "cost": 0.5})
    )
    # The middle point adds a 0.5 x 0.5 square.
    assert normalised_hypervolume(engine.spec, records) == pytest.approx((0.21 + 0.25) / 1.21)


def _recommended(selection: dict[str, Any]) -> str | None:
    engine = Engine(make_spec(selection=selection))
    rec = engine.summarize(records_for(engine, POINTS)).recommended
    return rec.trial if rec else None


def test_knee_picks_the_point_nearest_the_ideal() -> None:
    # Scaled over the front (acc 0.80..0.95, cost 1..9): trial 3 -> (0.667, 0.125) -> 0.678,
    # trial 0 -> (0.333, 0.375) -> 0.502, trial 1 -> (1, 0), trial 2 -> (0, 1).
    assert _recommended({"policy": "knee"}) == "demo-0000"


def test_weighted_sum_follows_the_weights() -> None:
    assert (
        _recommended({"policy": "weighted-sum", "weights": {"accuracy": 1, "cost": 0}})
        == "demo-0002"
    )
    assert (
        _recommended({"policy": "weighted-sum", "weights": {"accuracy": 0, "cost": 1}})
        == "demo-0001"
    )


def test_epsilon_constraint_and_lexicographic() -> None:
    assert _recommended({"policy": "epsilon-constraint", "objective": "cost"}) == "demo-0001"
    assert _recommended({"policy": "lexicographic", "order": ["accuracy", "cost"]}) == "demo-0002"


def _running_with(number: int, values: list[float]) -> Trial:
    r = Trial.new("demo", number, {"x": number / 100, "y": 0.5})
    r.status.state = "Running"
    r.status.intermediate = [StepValue(step=i, value=v) for i, v in enumerate(values)]
    return r


@pytest.mark.parametrize(
    ("algorithm", "settings"),
    [
        ("median", {"nStartupTrials": 2, "nWarmupSteps": 1}),
        ("successive-halving", {"minResource": 1, "reductionFactor": 2}),
        ("hyperband", {"minResource": 1, "maxResource": 8, "reductionFactor": 2}),
    ],
)
def test_pruners_stop_a_clearly_worse_trial(algorithm: str, settings: dict[str, Any]) -> None:
    engine = Engine(make_spec(earlyStopping={"algorithm": algorithm, "settings": settings}))
    good = [0.5, 0.6, 0.7, 0.8, 0.85, 0.88, 0.9, 0.91, 0.92]
    records: list[Trial] = []
    for n in range(6):
        report_steps(engine, records, n, [v - n / 100 for v in good])
    assert report_steps(engine, records, 6, [0.01, 0.02, 0.02, 0.03, 0.03, 0.04, 0.05, 0.05, 0.06])
    assert not report_steps(engine, records, 7, [v + 0.05 for v in good])
    assert records[6].state == "Pruned" and records[7].state == "Succeeded"


def test_successive_halving_rungs_are_recorded_on_the_trial() -> None:
    engine = Engine(
        make_spec(earlyStopping={"algorithm": "successive-halving", "settings": {"minResource": 1}})
    )
    decision = engine.should_prune([_running_with(0, [0.5, 0.6])], 0)
    assert any(k.startswith("completed_rung_") for k in decision.pruning_state)


def test_no_pruner_never_prunes() -> None:
    engine = Engine(make_spec())
    assert not engine.should_prune([_running_with(0, [0.0, 0.0])], 0).prune


def _with_states(engine: Engine, states: list[str]) -> list[Trial]:
    out = []
    for n, state in enumerate(states):
        r = Trial.new("demo", n, {"x": n / 100, "y": 0.5})
        if state == "Succeeded":
            finish(engine, r, {"accuracy": 0.5, "cost": 1.0})
        else:
            r.status.state = state  # type: ignore[assignment]
        out.append(r)
    return out


def test_stop_rules() -> None:
    engine = Engine(make_spec(budget={"maxTrials": 4, "parallelism": 2, "maxFailedTrials": 2}))
    assert engine.trials_to_start([]) == 2
    assert engine.trials_to_start(_with_states(engine, ["Running", "Succeeded"])) == 1
    assert engine.trials_to_start(_with_states(engine, ["Succeeded"] * 3 + ["Running"])) == 0
    assert engine.stop_decision(_with_states(engine, ["Succeeded"] * 3 + ["Running"])) is None
    done = engine.stop_decision(
        _with_states(engine, ["Succeeded", "Pruned", "Failed", "Succeeded"])
    )
    assert done is not None and (done.state, done.reason) == ("Succeeded", "MaxTrialsReached")
    failed = engine.stop_decision(_with_states(engine, ["Failed", "Failed", "Running"]))
    assert failed is not None and (failed.state, failed.reason) == ("Failed", "TooManyFailedTrials")
    assert failed.cancel_running


def test_timeout_and_goal() -> None:
    engine = Engine(make_spec(budget={"maxTrials": 10, "timeout": "1m"}, goal={"accuracy": 0.9}))
    records = _with_states(engine, ["Succeeded", "Running"])
    assert engine.stop_decision(records, elapsed_seconds=30) is None
    timeout = engine.stop_decision(records, elapsed_seconds=61)
    assert timeout is not None and timeout.reason == "Timeout" and timeout.cancel_running
    finish(engine, records[1], {"accuracy": 0.95, "cost": 2.0})
    goal = engine.stop_decision(records, elapsed_seconds=1)
    assert goal is not None and goal.reason == "GoalReached" and "demo-0001" in goal.message


def test_a_study_that_ran_its_budget_ended_by_it_however_late_it_is_looked_at() -> None:
    engine = Engine(make_spec(budget={"maxTrials": 2, "timeout": "1m"}))
    ran = _with_states(engine, ["Succeeded", "Succeeded"])
    for elapsed in (1, 61, 86_400):  # resumed a day later: still its budget, not the timeout
        decision = engine.stop_decision(ran, elapsed_seconds=elapsed)
        assert decision is not None and decision.reason == "MaxTrialsReached"
    cut_short = engine.stop_decision(_with_states(engine, ["Succeeded", "Running"]), 61)
    assert cut_short is not None and cut_short.reason == "Timeout"


def test_no_success_at_all_is_a_failure() -> None:
    engine = Engine(make_spec(budget={"maxTrials": 2, "maxFailedTrials": 5}))
    decision = engine.stop_decision(_with_states(engine, ["Failed", "Pruned"]))
    assert decision is not None and (decision.state, decision.reason) == (
        "Failed",
        "NoTrialSucceeded",
    )


def test_summary_counts_totals_and_best() -> None:
    from tradeoff.api.economics import TrialEconomics

    engine = Engine(make_spec())
    records = records_for(engine, POINTS)
    for r in records:
        r.status.economics = TrialEconomics(
            duration_seconds=1,
            energy_kwh=0.5,
            carbon_grams=2.0,
            cost_usd=0.25,
            source="estimated",
            vcpu=1,
            memory_gib=1,
            grams_per_kwh=475,
        )
    s = engine.summarize(records)
    assert s.counts.succeeded == 6 and s.front_size == 4
    assert s.totals.cost_usd == pytest.approx(1.5) and s.totals.carbon_grams == pytest.approx(12)
    assert s.best == {"accuracy": 0.95, "cost": 1.0}
