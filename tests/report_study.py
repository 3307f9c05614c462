"""A three-objective study with every kind of trial, for the report's tests.

Accuracy (maximised), cost and carbon (minimised, the built-in metrics of each trial's
counted attempt); a constraint on accuracy; a log-scaled, an int, a categorical and a
conditional parameter; and among the trials an infeasible one, a failed one, a pruned
one, a far outlier, and one whose earlier attempt was interrupted (so its counted cost
differs from the cost of all its attempts).
"""

from __future__ import annotations

import math
from typing import Any

from tradeoff.api import StudySpec, Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.trial import StepValue
from tradeoff.economics import add_attempt
from tradeoff.engine import Engine, Summary
from tradeoff.engine.outcome import violation_lines

__all__ = ["Engine", "spec", "study"]

from tests.factories import KEY, make_spec

TRIALS = 24
OUTLIER = 7
"""The trial whose carbon is far beyond the others (drawn at the edge of the axes)."""
RESUMED = 3
"""The trial with an interrupted attempt before the one that counts."""


def spec() -> StudySpec:
    return make_spec(
        objectives=[
            {"name": "accuracy", "direction": "maximize"},
            {"name": "cost", "direction": "minimize"},
            {"name": "carbon", "direction": "minimize"},
        ],
        constraints=[{"metric": "accuracy", "min": 0.6}],
        parameters=[
            {"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            {"name": "depth", "type": "int", "low": 1, "high": 8},
            {"name": "kind", "type": "categorical", "values": ["tree", "linear"]},
            {"name": "leaves", "type": "int", "low": 2, "high": 64, "when": {"kind": ["tree"]}},
        ],
        algorithm={"name": "random", "seed": 7},
        budget={"maxTrials": TRIALS, "parallelism": 2, "timeout": "30m"},
    )


def _economics(seconds: float, cpu: float) -> TrialEconomics:
    cost = seconds * 2e-5 * (1 + cpu)
    return TrialEconomics.model_validate(
        {
            "durationSeconds": seconds,
            "cpuSeconds": seconds * cpu,
            "energyKWh": seconds * 1e-5,
            "carbonGrams": seconds * 4e-3 * (1 + cpu),
            "costUSD": cost,
            "source": "measured",
            "vcpu": 1.0,
            "memoryGiB": 1.0,
            "gramsPerKWh": 400.0,
        }
    )


def _accuracy(p: dict[str, Any]) -> float:
    lr = float(p["lr"])
    depth = int(p["depth"])
    tree = 0.03 if p["kind"] == "tree" else 0.0
    return 0.95 - 0.05 * abs(math.log10(lr) + 2.5) - 0.2 / depth + tree


def study() -> tuple[StudySpec, list[Trial], Summary]:
    """The spec, the records and the engine's summary."""
    s = spec()
    engine = Engine(s, "random", study="demo", key=KEY)
    records: list[Trial] = []
    while len(records) < TRIALS:
        for sug in engine.ask(records, 1):
            record = Trial.new("demo", sug.number, sug.parameters, sug.sampler_state)
            records.append(_finish(engine, record))
    return s, records, engine.summarize(records)


def _finish(engine: Engine, record: Trial) -> Trial:
    n, status = record.number, record.status
    status.attempts = 1
    seconds = 5.0 + 3.0 * int(record.spec.parameters["depth"]) + n % 3
    spent = _economics(seconds, 0.5 + (n % 4) / 4)
    if n == OUTLIER:
        spent = _economics(seconds * 40, 3.0)
    status.economics = spent
    if n == RESUMED:
        status.economics = add_attempt(_economics(30.0, 1.0), spent)
    if n == 5:
        status.state, status.reason, status.message = "Failed", "Error", "exited with code 1"
        return record
    accuracy = _accuracy(record.spec.parameters)
    if n == 9:
        status.state, status.reason = "Pruned", "Pruned"
        status.message = "pruned at step 2 by median"
        status.intermediate = [StepValue(step=1, value=0.3), StepValue(step=2, value=0.35)]
        return record
    if n == 11:
        accuracy = 0.42  # infeasible: below the constraint's min
    evaluation = engine.evaluate({"accuracy": accuracy}, spent)
    assert evaluation.values is not None
    status.metrics = {"accuracy": accuracy}
    status.values, status.feasible = evaluation.values, evaluation.feasible
    status.violations = dict(evaluation.violations)
    status.state = "Succeeded"
    if not evaluation.feasible:
        status.reason = "Infeasible"
        lines = violation_lines(engine.spec, status.metrics, spent)
        status.message = "infeasible: " + "; ".join(lines)
    return record
