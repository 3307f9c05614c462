"""Gaps in trial numbers: a record may be deleted, or forged with a number near the cap.
The engine's cost follows the records that exist, not the highest number one claims, and
what it proposes over gapped records is what it proposed when gaps held failed trials."""

from __future__ import annotations

import math
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import KEY, finish, make_spec, run
from tradeoff.api import Trial
from tradeoff.api.trial import MAX_TRIAL_NUMBER
from tradeoff.engine import Engine
from tradeoff.engine.priors import match

SAMPLERS: dict[str, dict[str, Any]] = {
    "tpe": {"settings": {"nStartupTrials": 3}},
    "random": {},
    "nsga2": {"settings": {"populationSize": 4}},
    "qmc": {},
}


def zdt1(p: dict[str, Any]) -> dict[str, float]:
    x, y = float(p["x"]), float(p["y"])
    g = 1 + 9 * y
    return {"accuracy": 1 - x, "cost": g * (1 - math.sqrt(x / g))}


def spec_for(sampler: str) -> Any:
    return make_spec(algorithm={"name": sampler, "seed": 4, **SAMPLERS[sampler]})


def test_a_forged_number_at_the_cap_costs_what_one_record_costs() -> None:
    engine = Engine(make_spec(), key=KEY)
    records = [
        Trial.new("demo", 0, {"x": 0.1, "y": 0.2}),
        Trial.new("demo", MAX_TRIAL_NUMBER - 1, {"x": 0.3, "y": 0.1}),
    ]
    tracemalloc.start()
    try:
        (suggestion,) = engine.ask(records, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert suggestion.number == MAX_TRIAL_NUMBER
    assert peak < 5_000_000  # a placeholder per missing number took hundreds of MB
    assert len(engine._mirror.storage.trials) == 2


def test_no_number_is_proposed_past_the_cap() -> None:
    engine = Engine(make_spec(), key=KEY)
    records = [Trial.new("demo", MAX_TRIAL_NUMBER, {"x": 0.3, "y": 0.1})]
    assert engine.ask(records, 2) == []


def _failed_placeholder(number: int) -> Trial:
    record = Trial.new("demo", number, {})
    record.status.state = "Failed"
    return record


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    sampler=st.sampled_from(sorted(SAMPLERS)),
    deleted=st.sets(st.integers(min_value=0, max_value=12), max_size=5),  # 13 stays
    late=st.lists(st.integers(min_value=0, max_value=13), max_size=4),
)
def test_gapped_records_propose_what_failed_placeholders_did(
    sampler: str, deleted: set[int], late: list[int]
) -> None:
    """Records with numbers missing propose what they did when each gap held a failed
    trial, in a fresh engine and in one that saw some records arrive after later ones."""
    spec = spec_for(sampler)
    history = run(Engine(spec, key=KEY), zdt1, 14, batch=2)
    if sampler == "nsga2":  # a deleted parent is absent now, a failed trial before
        deleted = {n for n in deleted if n >= 12}  # the newest generation: no one's parent
    kept = [r for r in history if r.number not in deleted]
    filled = [r if r.number not in deleted else _failed_placeholder(r.number) for r in history]
    expected = Engine(spec, key=KEY).ask(filled, 2)
    assert Engine(spec, key=KEY).ask(kept, 2) == expected
    # The live engine first sees the records without the late ones, then all of them.
    live = Engine(spec, key=KEY)
    live.ask([r for r in kept if r.number not in late], 1)
    assert live.ask(kept, 2) == expected


def test_a_record_arriving_after_later_ones_is_put_in_its_place() -> None:
    spec = spec_for("nsga2")
    engine = Engine(spec, key=KEY)
    records = run(engine, zdt1, 9)
    engine.ask(records[:4] + records[5:], 1)
    assert engine.ask(records, 3) == Engine(spec, key=KEY).ask(records, 3)
    finish(engine, records[4], {"accuracy": 0.5, "cost": 0.5})
    assert engine.ask(records, 3) == Engine(spec, key=KEY).ask(records, 3)


def test_nsga2_goes_on_when_a_parent_record_is_deleted() -> None:
    """A parent population's cached ids may name a record deleted since: the sampler
    breeds from the parents that exist (a failed placeholder in its place crashed the
    crossover with a KeyError), and a restarted engine proposes the same."""
    spec = spec_for("nsga2")
    live = Engine(spec, key=KEY)
    history = run(live, zdt1, 14, batch=2)
    kept = [r for r in history if r.number not in {0, 2, 7}]
    proposed = live.ask(kept, 2)
    assert [s.number for s in proposed] == [14, 15]
    assert Engine(spec, key=KEY).ask(kept, 2) == proposed


def test_records_repeating_a_number_are_an_error_not_an_endless_rebuild() -> None:
    records = [
        Trial.new("demo", 0, {"x": 0.1, "y": 0.2}),
        Trial.new("demo", 0, {"x": 0.5, "y": 0.5}),
    ]
    with pytest.raises(ValueError, match=r"trial numbers \[0\] are each in more than one record"):
        Engine(make_spec(), key=KEY).ask(records, 1)


def test_a_record_holding_the_last_number_ends_the_study_in_one_line() -> None:
    """Nothing can be numbered after the cap: the study ends instead of idling forever
    (local mode raised "no trial runs and no stop rule ended the study")."""
    engine = Engine(make_spec(), key=KEY)
    records = [
        finish(engine, Trial.new("demo", 0, {"x": 0.1, "y": 0.2}), zdt1({"x": 0.1, "y": 0.2}))
    ]
    assert engine.stop_decision(records) is None
    records.append(Trial.new("demo", MAX_TRIAL_NUMBER, {"x": 0.3, "y": 0.1}))
    assert engine.stop_decision(records) is None  # it may still run
    finish(engine, records[-1], zdt1({"x": 0.3, "y": 0.1}))
    decision = engine.stop_decision(records)
    assert decision is not None
    assert (decision.state, decision.reason) == ("Failed", "TrialNumbersUsedUp")
    assert decision.message == (
        "a trial holds number 999,999, the last there is (made by hand?):"
        " no further trial can be numbered"
    )


def test_a_given_configuration_is_run_at_its_number_after_a_gap() -> None:
    """warmStart.trials are Optuna's enqueued trials, found by their place among the
    stored trials: after a gap, place and number differ, and the next one is still run."""
    points = [{"parameters": {"x": i / 10, "y": i / 10}} for i in range(6)]
    spec = make_spec(algorithm={"name": "tpe", "seed": 3}, warmStart={"trials": points})
    history = run(Engine(spec, key=KEY, priors=match(spec, [])), zdt1, 4)
    kept = [r for r in history if r.number not in (1, 2)]
    filled = [r if r.number not in (1, 2) else _failed_placeholder(r.number) for r in history]
    engine = Engine(spec, key=KEY, priors=match(spec, []))
    proposed = engine.ask(kept, 2)
    assert [s.parameters for s in proposed] == [{"x": 0.4, "y": 0.4}, {"x": 0.5, "y": 0.5}]
    assert proposed == Engine(spec, key=KEY, priors=match(spec, [])).ask(filled, 2)
