"""Records shared with a store (`SharedRecords`, never changed in place) by property: an
engine that follows them by identity and keeps its tallies and summary between calls
decides exactly what a fresh engine given the same records does (summary, stop decision,
trials to start, trials to resume, proposals), and a warm operator pass plans exactly
what a pass with fresh engines plans, over discrete, mixed and conditional spaces, with
economics, infeasible and Ensemble trials, cancellations, records replaced, removed and
reordered, and restarts anywhere."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import KEY, PROPERTY_SPACES, make_spec, manifest
from tradeoff.api import Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.engine import Engine, SharedRecords, lifecycle
from tradeoff.engine import records as records_module
from tradeoff.kube.engines import Engines
from tradeoff.kube.reconcile import plan_study

SPACES = PROPERTY_SPACES
OBJECTIVES = {
    1: [{"name": "accuracy", "direction": "maximize"}],
    2: [{"name": "accuracy", "direction": "maximize"}, {"name": "cost", "direction": "minimize"}],
}


def roundtrip(records: list[Trial]) -> list[Trial]:
    """What a store gives back: records through JSON and back."""
    return [Trial.model_validate(json.loads(r.model_dump_json(by_alias=True))) for r in records]


def metrics(params: dict[str, Any], tie: bool) -> dict[str, float]:
    """Objective values; with `tie`, a few distinct points only (identical points)."""
    score = sum(float(v) if not isinstance(v, str) else len(v) for v in params.values())
    if tie:
        score = float(round(score) % 3)
    return {"accuracy": math.sin(score) ** 2, "cost": 1 + math.cos(score * 1.7) ** 2}


def economics(cost: float) -> TrialEconomics:
    return TrialEconomics.model_validate(
        {
            "durationSeconds": 1.0,
            "energyKWh": cost / 3,
            "carbonGrams": cost * 7,
            "costUSD": cost,
            "source": "estimated",
            "vcpu": 1.0,
            "memoryGiB": 1.0,
            "gramsPerKWh": 100.0,
        }
    )


def ended(engine: Engine, record: Trial, outcome: str, cost: float, tie: bool) -> Trial:
    """`record` finished: a new object, as the operator's store holds it."""
    status = record.status.model_copy(deep=True)
    status.attempts, status.economics = 1, economics(cost)
    if outcome in ("succeed", "infeasible"):
        m = metrics(record.spec.parameters, tie)
        ev = engine.evaluate(m, None)
        status.metrics, status.values, status.feasible = m, ev.values, ev.feasible
        if outcome == "infeasible":
            status.feasible = False
        status.state = "Succeeded"
    else:
        status.state = "Failed" if outcome == "fail" else "Pruned"
    return record.model_copy(update={"status": status})


def ensemble_record(number: int, values: list[float]) -> Trial:
    record = Trial.new("demo", number, {})
    spec = record.spec.model_copy(update={"kind": "Ensemble"})
    status = record.status.model_copy(
        update={"state": "Succeeded", "values": values, "feasible": True}
    )
    return record.model_copy(update={"spec": spec, "status": status})


KINDS = [
    *("ask", "ask", "finish", "finish", "cancel", "resume", "touch", "infeasible"),
    *("remove", "swap", "ensemble", "restart"),
]
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(min_value=0, max_value=40),  # which record, or how many
        st.sampled_from(["succeed", "succeed", "succeed", "infeasible", "fail", "prune"]),
        st.floats(min_value=0.0, max_value=10.0, allow_nan=False),  # a trial's cost
    ),
    min_size=4,
    max_size=24,
)


def running_positions(records: list[Trial]) -> list[int]:
    """Positions of the trials that run (not finished, not cancelled)."""
    return [
        i
        for i, r in enumerate(records)
        if not r.finished and not lifecycle.waits_for_resume(r.state, r.status.reason)
    ]


def act(
    engine: Engine, records: list[Trial], action: tuple[str, int, str, float], tie: bool
) -> None:
    """Change `records` as a store would: replaced, added, removed or moved objects."""
    kind, which, outcome, cost = action
    at = which % len(records) if records else 0
    if kind == "finish":
        for i in running_positions(records)[: 1 + which % 3]:
            records[i] = ended(engine, records[i], outcome, cost, tie)
    elif kind == "cancel":
        for i, r in enumerate(records):
            if not r.finished:
                cancelled = lifecycle.cancel(r.status, "the study stopped")
                records[i] = r.model_copy(update={"status": cancelled})
    elif kind == "resume":
        for i, r in enumerate(records):
            if lifecycle.waits_for_resume(r.state, r.status.reason):
                records[i] = r.model_copy(update={"status": lifecycle.resume(r.status)})
    elif kind == "touch" and records:  # a new object with the same content
        records[at] = records[at].model_copy(deep=True)
    elif kind == "infeasible" and records and records[at].state == "Succeeded":
        status = records[at].status.model_copy(update={"feasible": False})
        records[at] = records[at].model_copy(update={"status": status})
    elif kind == "remove" and records:
        del records[at]
    elif kind == "swap" and len(records) >= 2:
        records[-1], records[-2] = records[-2], records[-1]
    elif kind == "ensemble":
        number = max((r.number for r in records), default=-1) + 1
        records.append(ensemble_record(number, [0.5, 1.5][: len(engine.spec.objectives)]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    space=st.sampled_from(sorted(SPACES)),
    sampler=st.sampled_from(["tpe", "random", "nsga2"]),
    objectives=st.sampled_from([1, 2]),
    goal=st.booleans(),
    tie=st.booleans(),
    seed=st.integers(min_value=0, max_value=1000),
    plan=ACTIONS,
)
def test_an_engine_following_shared_records_decides_what_a_fresh_one_does(
    space: str,
    sampler: str,
    objectives: int,
    goal: bool,
    tie: bool,
    seed: int,
    plan: list[tuple[str, int, str, float]],
) -> None:
    assert records_module.VERIFY  # the memo checks itself against a fresh summary too
    settings_ = {"populationSize": 4} if sampler == "nsga2" else {}
    spec = make_spec(
        objectives=OBJECTIVES[objectives],
        parameters=SPACES[space],
        algorithm={"name": sampler, "seed": seed, "settings": settings_},
        budget={"maxTrials": 30, "parallelism": 4, "maxFailedTrials": 20},
        **({"goal": {"accuracy": 0.999}} if goal else {}),
    )
    live = Engine(spec, key=KEY)
    records: list[Trial] = []
    for action in plan:
        if action[0] == "restart":
            live = Engine(spec, key=KEY)
        act(live, records, action, tie)
        shared, fresh, plain = SharedRecords(records), Engine(spec, key=KEY), roundtrip(records)
        assert live.summarize(shared) == fresh.summarize(plain)
        assert live.stop_decision(shared) == fresh.stop_decision(plain)
        assert live.trials_to_start(shared) == fresh.trials_to_start(plain)
        waiting = [r.number for r in live.waiting_to_resume(shared)]
        assert waiting == [r.number for r in fresh.waiting_to_resume(plain)]
        if action[0] == "ask":
            count = 1 + action[1] % 3
            proposed = live.ask(shared, count)
            assert proposed == fresh.ask(plain, count)
            records += [
                Trial.new("demo", s.number, s.parameters, s.sampler_state) for s in proposed
            ]
    assert not live.warnings


T0 = datetime(2026, 12, 1, tzinfo=UTC)


def study_obj(space: str, objectives: int, max_trials: int, generation: int) -> dict[str, Any]:
    doc = manifest(
        objectives=OBJECTIVES[objectives],
        parameters=SPACES[space],
        algorithm={"name": "random", "seed": 3},
        budget={"maxTrials": max_trials, "parallelism": 3, "maxFailedTrials": 4},
    )
    doc["metadata"].update(namespace="ns", uid="u-1", generation=generation)
    return doc


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    space=st.sampled_from(sorted(SPACES)),
    objectives=st.sampled_from([1, 2]),
    passes=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3),  # trials that finish before the pass
            st.sampled_from(["succeed", "succeed", "infeasible", "fail"]),
            st.floats(min_value=0.0, max_value=10.0, allow_nan=False),
            st.sampled_from(["", "", "", "restart", "raise budget"]),
        ),
        min_size=3,
        max_size=14,
    ),
)
def test_a_warm_pass_plans_what_a_pass_with_fresh_engines_plans(
    space: str, objectives: int, passes: list[tuple[int, str, float, str]]
) -> None:
    """The operator's pass (`plan_study`) with the engines kept across passes, against one
    with new engines every pass; a stop that cancels running trials cancels them, and a
    larger budget (a new generation) resumes them."""
    max_trials, generation = 8, 1
    obj = study_obj(space, objectives, max_trials, generation)
    kept = Engines(KEY)
    records: list[Trial] = []
    now = T0
    judge = Engine(make_spec(objectives=OBJECTIVES[objectives], parameters=SPACES[space]))
    for finishing, outcome, cost, event in passes:
        if event == "restart":
            kept = Engines(KEY)
        elif event == "raise budget":
            max_trials, generation = max_trials + 4, generation + 1
            obj = {
                **study_obj(space, objectives, max_trials, generation),
                "status": obj.get("status"),
            }
        for i in running_positions(records)[:finishing]:
            records[i] = ended(judge, records[i], outcome, cost, False)
        now += timedelta(seconds=5)
        warm = plan_study(obj, [], now, engines=kept, owned=(list(records), []))
        cold = plan_study(obj, [], now, engines=Engines(KEY), owned=(roundtrip(records), []))
        assert warm.new_trials == cold.new_trials
        assert warm.status.wire() == cold.status.wire()
        assert warm.events == cold.events
        assert [r.status for r in warm.resumed] == [r.status for r in cold.resumed]
        assert warm.summary == cold.summary
        obj = {**obj, "status": warm.status.wire()}
        by_number = {r.number: r for r in warm.resumed}
        records = [by_number.get(r.number, r) for r in records]
        records += [Trial.model_validate(body) for body in warm.new_trials]
        if warm.stop is not None and warm.stop.cancel_running:
            records = [
                r.model_copy(update={"status": lifecycle.cancel(r.status, "stopped")})
                if not r.finished
                else r
                for r in records
            ]
