"""The engine: asking, rebuilding from records, conditional spaces, constraints, stop rules."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.factories import KEY, finish, make_spec, run
from tradeoff.api import Trial
from tradeoff.engine import Engine
from tradeoff.engine.space import config_key


def zdt1(p: dict[str, Any]) -> dict[str, float]:
    x, y = float(p["x"]), float(p["y"])
    g = 1 + 9 * y
    return {"accuracy": 1 - x, "cost": g * (1 - math.sqrt(x / g))}


def roundtrip(records: list[Trial]) -> list[Trial]:
    """What a store gives back: records through JSON and back."""
    return [Trial.model_validate(json.loads(r.model_dump_json(by_alias=True))) for r in records]


@pytest.mark.parametrize(
    ("algorithm", "settings"),
    [("tpe", {}), ("nsga2", {"populationSize": 6}), ("random", {}), ("qmc", {})],
)
def test_rebuilding_from_records_gives_the_identical_next_suggestion(
    algorithm: str, settings: dict[str, Any]
) -> None:
    spec = make_spec(algorithm={"name": algorithm, "seed": 42, "settings": settings})
    # 23 trials: NSGA-II is several generations in, TPE past its startup trials.
    live = Engine(spec, key=KEY)
    records = run(live, zdt1, 23, batch=3)
    restarted = Engine(
        make_spec(algorithm={"name": algorithm, "seed": 42, "settings": settings}), key=KEY
    )
    assert live.ask(records, 3) == restarted.ask(roundtrip(records), 3)


@pytest.mark.parametrize(
    ("algorithm", "settings"),
    [("tpe", {}), ("nsga2", {"populationSize": 4}), ("gp", {"nStartupTrials": 4})],
)
def test_a_restart_at_any_point_proposes_what_the_running_process_did(
    algorithm: str, settings: dict[str, Any]
) -> None:
    """Asynchronous study, three trials in flight: the state before every ask is saved as a
    store would save it; an engine built afresh from that state proposes the same trial."""
    spec = make_spec(algorithm={"name": algorithm, "seed": 11, "settings": settings})
    live = Engine(spec, key=KEY)
    records: list[Trial] = []
    history: list[tuple[list[Trial], Any]] = []
    while len(records) < (9 if algorithm == "gp" else 20):
        running = [r for r in records if r.state == "Pending"]
        if len(running) == 3:  # the oldest finishes, then its slot is refilled
            finish(live, running[0], zdt1(running[0].spec.parameters))
        saved = roundtrip(records)
        (suggestion,) = live.ask(records, 1)
        history.append((saved, suggestion))
        records.append(
            Trial.new("demo", suggestion.number, suggestion.parameters, suggestion.sampler_state)
        )
    for saved, suggestion in history:
        assert Engine(spec, key=KEY).ask(saved, 1) == [suggestion]


def test_nsga2_generation_state_lives_in_the_records() -> None:
    spec = make_spec(algorithm={"name": "nsga2", "seed": 3, "settings": {"populationSize": 4}})
    engine = Engine(spec, key=KEY)
    records = run(engine, zdt1, 12)
    generations = [r.spec.sampler_state["trial"]["NSGAIISampler:generation"] for r in records]
    assert generations == [0] * 4 + [1] * 4 + [2] * 4
    # The parent population chosen for a generation is recorded with the trial that chose it.
    assert any(k.startswith("NSGAIISampler:parent") for k in records[4].spec.sampler_state["study"])


def test_a_late_finisher_does_not_change_a_recorded_parent_population() -> None:
    spec = make_spec(algorithm={"name": "nsga2", "seed": 5, "settings": {"populationSize": 4}})
    engine = Engine(spec, key=KEY)
    # Six generation-0 trials run at once; four finish, so generation 1 starts.
    records = [
        Trial.new("demo", s.number, s.parameters, s.sampler_state) for s in engine.ask([], 6)
    ]
    for r in records[:4]:
        finish(engine, r, zdt1(r.spec.parameters))
    (first_of_gen1,) = engine.ask(records, 1)
    records.append(Trial.new("demo", 6, first_of_gen1.parameters, first_of_gen1.sampler_state))
    parents = {k: v for k, v in first_of_gen1.sampler_state["study"].items() if "parent" in k}
    assert [sorted(v) for v in parents.values()] == [[0, 1, 2, 3]]
    # The stragglers of generation 0 finish later; a rebuilt study keeps the recorded parents.
    for r in records[4:6]:
        finish(engine, r, zdt1(r.spec.parameters))
    rebuilt = Engine(spec, key=KEY)
    study = rebuilt._sync(roundtrip(records))
    attrs = study._storage.get_study_system_attrs(study._study_id)
    assert {k: sorted(attrs[k]) for k in parents} == {k: sorted(v) for k, v in parents.items()}
    assert Engine(spec, key=KEY).ask(roundtrip(records), 2) == engine.ask(records, 2)


def test_parallel_asks_never_repeat_a_configuration() -> None:
    spec = make_spec(
        parameters=[
            {"name": "a", "type": "categorical", "values": [1, 2, 3]},
            {"name": "b", "type": "int", "low": 0, "high": 2},
        ],
        budget={"maxTrials": 9, "parallelism": 9},
    )
    engine = Engine(spec, key=KEY)
    first = engine.ask([], 5)
    records = [Trial.new("demo", s.number, s.parameters) for s in first]
    second = engine.ask(records, 9)
    keys = [config_key(s.parameters) for s in first + second]
    assert len(keys) == len(set(keys)) == 9  # the whole 3 x 3 space, nothing twice
    records += [Trial.new("demo", s.number, s.parameters) for s in second]
    assert engine.ask(records, 1) == []
    assert engine.exhausted(records)


def test_numbers_continue_after_the_highest_record() -> None:
    engine = Engine(make_spec(), key=KEY)
    records = [
        Trial.new("demo", 0, {"x": 0.1, "y": 0.2}),
        Trial.new("demo", 5, {"x": 0.3, "y": 0.1}),
    ]
    assert [s.number for s in engine.ask(records, 2)] == [6, 7]


CASH = [
    {"name": "model", "type": "categorical", "values": ["svm", "forest"]},
    {
        "name": "C",
        "type": "float",
        "low": 0.001,
        "high": 100,
        "log": True,
        "when": {"model": ["svm"]},
    },
    {"name": "trees", "type": "int", "low": 10, "high": 100, "when": {"model": ["forest"]}},
    {"name": "depth", "type": "int", "low": 1, "high": 5, "when": {"model": ["forest"]}},
]


@pytest.mark.parametrize("algorithm", ["tpe", "nsga2", "random", "qmc", "gp"])
def test_conditional_parameters_are_sampled_define_by_run(algorithm: str) -> None:
    spec = make_spec(parameters=CASH, algorithm={"name": algorithm, "seed": 0})
    engine = Engine(spec, key=KEY)

    def objective(p: dict[str, Any]) -> dict[str, float]:
        score = 0.9 if p["model"] == "svm" else 0.8 + p["depth"] / 100
        return {"accuracy": score, "cost": p.get("trees", 5) / 100}

    records = run(engine, objective, 12 if algorithm == "gp" else 16, batch=2)
    for r in records:
        names = set(r.spec.parameters)
        expected = (
            {"model", "C"} if r.spec.parameters["model"] == "svm" else {"model", "trees", "depth"}
        )
        assert names == expected


def test_constraints_shape_the_front_and_the_recommendation() -> None:
    spec = make_spec(constraints=[{"metric": "cost", "max": 0.5}])
    engine = Engine(spec, key=KEY)
    records = run(engine, lambda p: {"accuracy": p["x"], "cost": p["x"]}, 20)
    summary = engine.summarize(records)
    front = {p.trial for p in summary.front}
    assert front
    for r in records:
        assert r.status.feasible == (r.status.metrics["cost"] <= 0.5)
        if r.metadata.name in front:
            assert r.status.feasible
    assert summary.recommended is not None
    assert summary.recommended.values["cost"] <= 0.5


def test_constraints_reach_the_sampler_as_feasibility() -> None:
    spec = make_spec(
        constraints=[{"metric": "cost", "max": 0.5}], algorithm={"name": "tpe", "seed": 0}
    )
    engine = Engine(spec, key=KEY)
    records = run(engine, lambda p: {"accuracy": p["x"], "cost": p["x"]}, 40)
    late = [r.status.metrics["cost"] for r in records[20:]]
    assert sum(c <= 0.5 for c in late) >= 14  # TPE learns where the feasible region is


def test_missing_objective_fails_the_trial_with_a_reason() -> None:
    engine = Engine(make_spec(), key=KEY)
    ev = engine.evaluate({"accuracy": 0.9}, None)
    assert ev.values is None
    assert ev.failure_reason == "MetricsMissing"
    assert ev.failure_message is not None and "cost" in ev.failure_message


def test_builtin_economics_metrics_are_objectives() -> None:
    from tradeoff.api.economics import TrialEconomics

    econ = TrialEconomics(
        duration_seconds=10,
        energy_kwh=0.001,
        carbon_grams=0.5,
        cost_usd=0.002,
        source="estimated",
        vcpu=1,
        memory_gib=0.5,
        grams_per_kwh=475,
    )
    spec = make_spec(
        objectives=[
            {"name": "accuracy", "direction": "maximize"},
            {"name": "carbon", "direction": "minimize"},
        ]
    )
    ev = Engine(spec, key=KEY).evaluate({"accuracy": 0.9, "carbon": 99.0}, econ)
    assert ev.values == [0.9, 0.5]  # computed, not taken from the trial


def test_grid_search_walks_the_grid_and_stops() -> None:
    spec = make_spec(
        parameters=[
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0, "step": 0.5},
            {"name": "k", "type": "categorical", "values": ["a", "b"]},
        ],
        algorithm={"name": "grid", "seed": 0},
        budget={"maxTrials": 100, "parallelism": 2},
    )
    engine = Engine(spec, key=KEY)
    records = run(engine, lambda p: {"accuracy": p["x"], "cost": 1.0}, 6, batch=2)
    assert {config_key(r.spec.parameters) for r in records} == {
        config_key({"x": x, "k": k}) for x in (0.0, 0.5, 1.0) for k in ("a", "b")
    }
    decision = engine.stop_decision(records)
    assert decision is not None and decision.reason == "SearchSpaceExhausted"


def test_seedless_studies_still_run() -> None:
    engine = Engine(make_spec(algorithm={"name": "tpe"}), key=KEY)
    assert len(run(engine, zdt1, 5)) == 5


def test_pruned_trials_in_a_multi_objective_study_do_not_confuse_the_sampler() -> None:
    from tradeoff.api.trial import StepValue

    engine = Engine(make_spec(earlyStopping={"algorithm": "median"}), key=KEY)
    records = run(engine, zdt1, 12)
    records[3].status.state = "Pruned"
    records[3].status.intermediate = [StepValue(step=0, value=0.1)]
    assert len(engine.ask(records, 2)) == 2


def test_grid_search_survives_a_failed_trial_and_a_duplicate() -> None:
    spec = make_spec(
        parameters=[{"name": "k", "type": "categorical", "values": ["a", "b", "c"]}],
        algorithm={"name": "grid", "seed": 0},
        budget={"maxTrials": 5, "parallelism": 1},
    )
    engine = Engine(spec, key=KEY)
    records = run(engine, lambda p: {"accuracy": 1.0, "cost": 1.0}, 2)
    records[1].status.state = "Failed"  # its configuration may be tried again
    more = engine.ask(records, 3)
    assert {s.parameters["k"] for s in more} == {"a", "b", "c"} - {records[0].spec.parameters["k"]}


NUMERIC = [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]
CATEGORICAL = [{"name": "k", "type": "categorical", "values": ["a", "b"]}]


@pytest.mark.parametrize(
    ("objectives", "parameters", "max_trials", "expected"),
    [
        (1, NUMERIC, 50, "gp"),
        (2, NUMERIC, 200, "gp"),
        (2, NUMERIC, 201, "tpe"),
        (3, NUMERIC, 50, "tpe"),
        (3, NUMERIC, 300, "tpe"),
        (2, NUMERIC, 400, "tpe"),
        (1, CASH, 50, "tpe"),
        (1, CATEGORICAL, 50, "tpe"),
    ],
)
def test_auto_rules(
    objectives: int, parameters: list[dict[str, Any]], max_trials: int, expected: str
) -> None:
    from tradeoff.engine import resolve_algorithm

    names = ["accuracy", "cost", "carbon"][:objectives]
    spec = make_spec(
        objectives=[{"name": n, "direction": "minimize"} for n in names],
        parameters=parameters,
        algorithm={"name": "auto"},
        budget={"maxTrials": max_trials},
    )
    chosen = resolve_algorithm(spec)
    assert chosen.name == expected
    assert chosen.reason.startswith("auto: ")


@pytest.mark.parametrize(
    ("algorithm", "objectives", "parameters"),
    [
        ("auto", 2, CASH),
        ("tpe", 2, CASH),
        ("gp", 2, NUMERIC),
        ("nsga2", 2, CASH),
        ("nsga3", 3, NUMERIC),
        ("cmaes", 1, [*NUMERIC, {"name": "y", "type": "float", "low": -1.0, "high": 1.0}]),
        ("qmc", 2, NUMERIC),
        ("random", 2, CASH),
        ("grid", 1, CATEGORICAL),
    ],
)
def test_every_algorithm_runs_a_study(
    algorithm: str, objectives: int, parameters: list[dict[str, Any]]
) -> None:
    names = ["accuracy", "cost", "carbon"][:objectives]
    spec = make_spec(
        objectives=[{"name": n, "direction": "minimize"} for n in names],
        parameters=parameters,
        algorithm={"name": algorithm, "seed": 3},
    )
    engine = Engine(spec, key=KEY)

    def objective(p: dict[str, Any]) -> dict[str, float]:
        x = float(p.get("x", p.get("C", 0.5)) or 0.5) if not isinstance(p.get("x"), str) else 0.5
        return {n: x * (i + 1) for i, n in enumerate(names)}

    records = run(engine, objective, 2 if algorithm == "grid" else 8, batch=2)
    assert len({config_key(r.spec.parameters) for r in records}) == len(records)
    assert all(r.state == "Succeeded" for r in records)
    assert engine.summarize(records).front
