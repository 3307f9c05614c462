"""The pruner's state on records is signed: state the engine did not write is not used.

Optuna's successive-halving and Hyperband pruners keep each trial's completed rungs as
trial attributes and compare them as numbers. Records are data others may write (a Trial
object's status, a workdir's records), so the engine signs the state it hands back and
uses only state that verifies; a rebuilt engine with the same key decides the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import make_spec, report_steps
from tradeoff.api import Trial
from tradeoff.api.trial import StepValue
from tradeoff.engine import Engine, signing

PRUNERS = {
    "successive-halving": {"minResource": 1, "reductionFactor": 2},
    "hyperband": {"minResource": 1, "maxResource": 8, "reductionFactor": 2},
}
STEPS = 8


def _spec(algorithm: str) -> Any:
    return make_spec(earlyStopping={"algorithm": algorithm, "settings": PRUNERS[algorithm]})


def _finished_with(engine: Engine, forged: dict[str, Any]) -> list[Trial]:
    records: list[Trial] = []
    for n in range(3):
        report_steps(engine, records, n, [0.5 + s / 20 for s in range(STEPS)])
        records[-1].status.pruning_state = dict(forged)
    return records


@pytest.mark.parametrize("algorithm", sorted(PRUNERS))
@pytest.mark.parametrize(
    "forged",
    [
        {"completed_rung_0": "abc"},
        {"completed_rung_0": None},
        {"completed_rung_0": [1, 2]},
        {"completed_rung_0": {"a": 1}},
        {"completed_rung_0": 0.1, "signature": "0" * 64},
    ],
)
def test_pruning_state_the_engine_did_not_sign_is_ignored_and_named(
    algorithm: str, forged: dict[str, Any]
) -> None:
    engine = Engine(_spec(algorithm), study="demo")
    records = _finished_with(engine, forged)
    clean = Engine(_spec(algorithm), study="demo", key=engine.key)
    clean_records = _finished_with(clean, {})
    curve = [0.1 + s / 100 for s in range(STEPS)]
    # Forged rungs crashed the pruner (Optuna compares them with floats) before.
    assert report_steps(engine, records, 3, curve) == report_steps(clean, clean_records, 3, curve)
    assert any(
        "demo-0000: its pruning state is not signed by this study's key" in w
        for w in engine.warnings
    )


def test_sampler_state_copied_into_pruning_state_does_not_verify() -> None:
    engine = Engine(_spec("successive-halving"), study="demo")
    state = {"trial": {"completed_rung_0": 0.9}}
    signed = signing.sign(engine.key, "demo", 0, state)
    record = Trial.new("demo", 0, {"x": 0.0, "y": 0.5}, signed)
    record.status.state = "Running"
    record.status.intermediate = [StepValue(step=0, value=0.5)]
    record.status.pruning_state = dict(signed)
    engine.should_prune([record], 0)
    assert not any("sampler state is not signed" in w for w in engine.warnings)
    assert any("pruning state is not signed" in w for w in engine.warnings)


curves = st.lists(
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=STEPS),
    min_size=2,
    max_size=6,
)


@settings(max_examples=30, deadline=None)
@given(algorithm=st.sampled_from(sorted(PRUNERS)), trials=curves, data=st.data())
def test_a_rebuilt_engine_prunes_as_the_one_that_kept_running(
    algorithm: str, trials: list[list[float]], data: st.DataObject
) -> None:
    """Restart at any trial: the pruning decisions (and the stored state) are the same."""
    restart_at = data.draw(st.integers(0, len(trials) - 1))
    kept = Engine(_spec(algorithm), study="demo")
    rebuilt_key = kept.key
    kept_records: list[Trial] = []
    kept_pruned = [report_steps(kept, kept_records, n, c) for n, c in enumerate(trials)]

    first = Engine(_spec(algorithm), study="demo", key=rebuilt_key)
    records: list[Trial] = []
    pruned = [report_steps(first, records, n, c) for n, c in enumerate(trials[:restart_at])]
    second = Engine(_spec(algorithm), study="demo", key=rebuilt_key)
    pruned += [report_steps(second, records, n, c) for n, c in enumerate(trials) if n >= restart_at]
    assert pruned == kept_pruned
    assert [r.status.pruning_state for r in records] == [
        r.status.pruning_state for r in kept_records
    ]
    assert not kept.warnings and not first.warnings and not second.warnings
