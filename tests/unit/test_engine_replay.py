"""Exact replay, by property: an engine rebuilt from the records proposes exactly what the
uninterrupted one does, over discrete, mixed and conditional spaces, every sampler,
parallel asks, failures, prunes and restarts at arbitrary points."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import KEY, PROPERTY_SPACES, make_spec
from tradeoff.api import Trial
from tradeoff.engine import Engine
from tradeoff.engine import records as records_module
from tradeoff.engine.records import RecordBook, UnloggedChange
from tradeoff.engine.space import config_key

SPACES = PROPERTY_SPACES
SAMPLERS: dict[str, dict[str, Any]] = {
    "tpe": {"settings": {"nStartupTrials": 3}},
    # Multivariate TPE (grouped on the conditional space): a kept sampler, reseeded per ask.
    "tpe-multivariate": {"name": "tpe", "settings": {"nStartupTrials": 3, "multivariate": True}},
    "random": {},
    "nsga2": {"settings": {"populationSize": 4}},
    "nsga3": {"settings": {"populationSize": 4}},
    "qmc": {},
}


def roundtrip(records: list[Trial]) -> list[Trial]:
    """What a store gives back: records through JSON and back."""
    return [Trial.model_validate(json.loads(r.model_dump_json(by_alias=True))) for r in records]


def metrics(params: dict[str, Any]) -> dict[str, float]:
    score = sum(float(v) if not isinstance(v, str) else len(v) for v in params.values())
    return {"accuracy": math.sin(score) ** 2, "cost": 1 + math.cos(score * 1.7) ** 2}


def finish(engine: Engine, record: Trial, outcome: str) -> None:
    record.status.attempts = 1
    if outcome == "succeed":
        m = metrics(record.spec.parameters)
        ev = engine.evaluate(m, None)
        record.status.metrics, record.status.values = m, ev.values
        record.status.feasible = ev.feasible
        record.status.state = "Succeeded"
    else:
        record.status.state = "Failed" if outcome == "fail" else "Pruned"


def spec_for(space: str, sampler: str, seed: int, budget: int) -> Any:
    return make_spec(
        parameters=SPACES[space],
        algorithm={"name": sampler, "seed": seed, **SAMPLERS[sampler]},  # "name" may differ
        budget={"maxTrials": budget, "parallelism": 4},
    )


steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=3),  # trials asked at once
        st.sampled_from(["succeed", "succeed", "succeed", "fail", "prune"]),
        st.integers(min_value=0, max_value=3),  # how many running trials finish
        st.booleans(),  # restart the live engine afterwards
    ),
    min_size=4,
    max_size=12,
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    space=st.sampled_from(sorted(SPACES)),
    sampler=st.sampled_from(sorted(SAMPLERS)),
    seed=st.integers(min_value=0, max_value=1000),
    plan=steps,
)
def test_a_rebuilt_engine_proposes_what_the_running_one_does(
    space: str, sampler: str, seed: int, plan: list[tuple[int, str, int, bool]]
) -> None:
    """Three engines from one history: a live one given the records changed in place, a
    live one given a `RecordBook` with each change put, and a fresh one per ask."""
    assert records_module.VERIFY  # the book's log is checked against every record
    spec = spec_for(space, sampler, seed, 200)
    live, booked = Engine(spec, key=KEY), Engine(spec, key=KEY)
    records: list[Trial] = []
    book = RecordBook()
    for count, outcome, finishing, restart in plan:
        fresh = Engine(spec, key=KEY).ask(roundtrip(records), count)
        proposed = live.ask(records, count)
        assert proposed == fresh
        assert booked.ask(book, count) == fresh
        keys = [config_key(s.parameters) for s in proposed]
        taken = {config_key(r.spec.parameters) for r in records if r.state != "Failed"}
        assert len(set(keys)) == len(keys) and not taken & set(keys)
        for s in proposed:
            records.append(Trial.new("demo", s.number, s.parameters, s.sampler_state))
            book.put(Trial.new("demo", s.number, s.parameters, s.sampler_state))
        for record in [r for r in records if not r.finished][:finishing]:
            finish(live, record, outcome)
            twin = book.get(record.number)
            assert twin is not None
            finish(booked, twin, outcome)
            book.put(twin)
        if restart:
            live, booked = Engine(spec, key=KEY), Engine(spec, key=KEY)
            records = roundtrip(records)
            book = RecordBook(roundtrip(list(book)))
    assert not live.warnings and not booked.warnings


class SamplerPerAskEngine(Engine):
    """Test double: the engine as it was before it kept its sampler (one built per ask)
    and its genetic samplers' parent populations (Optuna looks them up each time)."""

    def _sampler(self, seed: int | None) -> Any:
        self._kept = None
        return super()._sampler(seed)

    def _remember_parents(self, sampler: Any) -> None:
        pass


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    space=st.sampled_from(sorted(SPACES)),
    sampler=st.sampled_from(sorted(SAMPLERS)),
    seed=st.integers(min_value=0, max_value=1000),
    plan=steps,
)
def test_a_kept_sampler_proposes_what_one_built_per_ask_does(
    space: str, sampler: str, seed: int, plan: list[tuple[int, str, int, bool]]
) -> None:
    """Keeping and reseeding the sampler (TPE, random, NSGA-II/III) and the parent
    populations it found changes no proposal, retries and fallbacks on small discrete
    spaces included."""
    spec = spec_for(space, sampler, seed, 200)
    kept, built = Engine(spec, key=KEY), SamplerPerAskEngine(spec, key=KEY)
    records = RecordBook()
    for count, outcome, finishing, restart in plan:
        proposed = kept.ask(records, count)
        assert proposed == built.ask(records, count)
        for s in proposed:
            records.put(Trial.new("demo", s.number, s.parameters, s.sampler_state))
        for record in [r for r in records if not r.finished][:finishing]:
            finish(kept, record, outcome)
            records.put(record)
        if restart:
            kept = Engine(spec, key=KEY)


def test_a_change_the_book_was_not_told_of_is_caught() -> None:
    spec = spec_for("mixed", "random", 1, 20)
    engine = Engine(spec, key=KEY)
    book = RecordBook()
    for s in engine.ask(book, 2):
        book.put(Trial.new("demo", s.number, s.parameters, s.sampler_state))
    engine.ask(book, 1)
    finish(engine, book[0], "succeed")  # changed in place, never put
    with pytest.raises(UnloggedChange, match=r"records \[0\] changed without RecordBook.put"):
        engine.ask(book, 1)
    book.put(book[0])
    assert len(engine.ask(book, 1)) == 1


def test_a_book_that_loses_a_record_is_read_afresh() -> None:
    spec = spec_for("discrete", "random", 3, 20)
    engine = Engine(spec, key=KEY)
    book = RecordBook()
    for s in engine.ask(book, 3):
        book.put(Trial.new("demo", s.number, s.parameters, s.sampler_state))
    book.remove(1)
    assert engine.ask(book, 2) == Engine(spec, key=KEY).ask(roundtrip(list(book)), 2)


@pytest.mark.parametrize("sampler", ["tpe", "random", "nsga2", "qmc", "cmaes", "grid", "gp"])
def test_a_finite_space_runs_to_exhaustion_without_a_stall(sampler: str) -> None:
    """`int 0..59` with maxTrials 60: exactly 60 distinct trials, whatever the sampler
    (GP, whose asks cost a second each here, over `int 0..19` and 20 trials)."""
    size = 20 if sampler == "gp" else 60
    settings_ = {"nStartupTrials": 5} if sampler == "gp" else {}
    spec = make_spec(
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        parameters=[{"name": "n", "type": "int", "low": 0, "high": size - 1}],
        algorithm={"name": sampler, "seed": 3, "settings": settings_},
        budget={"maxTrials": size, "parallelism": 3},
    )
    engine = Engine(spec, key=KEY)
    records: list[Trial] = []
    while True:
        count = engine.trials_to_start(records)
        if count == 0:
            break
        for s in engine.ask(records, count):
            record = Trial.new("demo", s.number, s.parameters, s.sampler_state)
            record.status.state = "Succeeded"
            record.status.metrics = {"accuracy": -((s.parameters["n"] - 17) ** 2)}
            record.status.values = [record.status.metrics["accuracy"]]
            records.append(record)
    assert sorted(r.spec.parameters["n"] for r in records) == list(range(size))
    decision = engine.stop_decision(records)
    assert decision is not None
    assert (decision.state, decision.reason) == ("Succeeded", "SearchSpaceExhausted")


def test_every_nsga2_generation_records_its_parents() -> None:
    """6 x 6 space, population 4: discards never lose a generation's parent population,
    and every trial, fallback ones included, carries its generation."""
    spec = make_spec(
        parameters=[
            {"name": "a", "type": "int", "low": 0, "high": 5},
            {"name": "b", "type": "int", "low": 0, "high": 5},
        ],
        algorithm={"name": "nsga2", "seed": 2, "settings": {"populationSize": 4}},
        budget={"maxTrials": 36, "parallelism": 1},
    )
    engine = Engine(spec, key=KEY)
    records: list[Trial] = []
    for _ in range(36):
        (s,) = engine.ask(records, 1)
        record = Trial.new("demo", s.number, s.parameters, s.sampler_state)
        finish(engine, record, "succeed")
        records.append(record)
    generations = [r.spec.sampler_state["trial"]["NSGAIISampler:generation"] for r in records]
    parents = {
        int(k.rsplit(":", 1)[1])
        for r in records
        for k in r.spec.sampler_state.get("study", {})
        if k.startswith("NSGAIISampler:parent:")
    }
    assert parents == set(range(1, max(generations) + 1))
    assert max(generations) >= 6
    assert Engine(spec, key=KEY).ask(roundtrip(records), 1) == engine.ask(records, 1) == []


NUMERIC: list[dict[str, Any]] = [
    {"name": "a", "type": "int", "low": 0, "high": 4},
    {"name": "s", "type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    sampler=st.sampled_from(["cmaes", "grid", "gp", "tpe"]),
    seed=st.integers(min_value=0, max_value=1000),
    plan=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=2),
            st.sampled_from(["succeed", "succeed", "fail"]),
            st.integers(min_value=0, max_value=2),
            st.booleans(),
        ),
        min_size=3,
        max_size=7,
    ),
)
def test_single_objective_samplers_replay_exactly(
    sampler: str, seed: int, plan: list[tuple[int, str, int, bool]]
) -> None:
    """CMA-ES, grid and GP (one objective, a 5 x 5 numeric space) replay exactly too."""
    settings_ = {"nStartupTrials": 2} if sampler in ("cmaes", "gp", "tpe") else {}
    spec = make_spec(
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        parameters=NUMERIC,
        algorithm={"name": sampler, "seed": seed, "settings": settings_},
        budget={"maxTrials": 25, "parallelism": 2},
    )
    live = Engine(spec, key=KEY)
    records: list[Trial] = []
    for count, outcome, finishing, restart in plan:
        proposed = live.ask(records, count)
        assert proposed == Engine(spec, key=KEY).ask(roundtrip(records), count)
        records += [Trial.new("demo", s.number, s.parameters, s.sampler_state) for s in proposed]
        for record in [r for r in records if not r.finished][:finishing]:
            finish(live, record, outcome)
            if record.status.values is not None:
                record.status.values = record.status.values[:1]
        if restart:
            live = Engine(spec, key=KEY)
            records = roundtrip(records)
    assert not live.warnings
