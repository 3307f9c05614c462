"""Small builders of specs and records shared by the tests."""

from __future__ import annotations

import copy
from typing import Any

from tradeoff.api import StudySpec, Trial
from tradeoff.api.trial import StepValue
from tradeoff.engine import Engine
from tradeoff.engine.validation import validate_study

BASE: dict[str, Any] = {
    "apiVersion": "tradeoff.dev/v1alpha1",
    "kind": "Study",
    "metadata": {"name": "demo"},
    "spec": {
        "objectives": [
            {"name": "accuracy", "direction": "maximize"},
            {"name": "cost", "direction": "minimize"},
        ],
        "parameters": [
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
        ],
        "algorithm": {"name": "tpe", "seed": 1},
        "budget": {"maxTrials": 20, "parallelism": 1},
        "trialTemplate": {
            "pod": {"containers": [{"name": "trial", "image": "x", "command": ["true"]}]}
        },
    },
}


KEY = b"tradeoff-tests-signing-key-32byt"
"""The signing key of engines in tests: a fresh Engine given it verifies earlier records."""


# Small discrete, mixed and conditional spaces for the engine's property tests.
PROPERTY_SPACES: dict[str, list[dict[str, Any]]] = {
    "discrete": [
        {"name": "a", "type": "int", "low": 0, "high": 5},
        {"name": "b", "type": "categorical", "values": ["p", "q", "r"]},
    ],
    "mixed": [
        {"name": "a", "type": "int", "low": 0, "high": 3},
        {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
        {"name": "s", "type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
    ],
    "conditional": [
        {"name": "model", "type": "categorical", "values": ["lin", "tree", "knn"]},
        {"name": "c", "type": "int", "low": 1, "high": 4, "when": {"model": ["lin"]}},
        {"name": "depth", "type": "int", "low": 1, "high": 3, "when": {"model": ["tree"]}},
        {"name": "k", "type": "categorical", "values": [1, 3], "when": {"model": ["knn"]}},
    ],
}


def manifest(**spec: Any) -> dict[str, Any]:
    """The base manifest with top-level spec fields replaced."""
    doc = copy.deepcopy(BASE)
    doc["spec"].update(spec)
    return doc


def make_spec(**spec: Any) -> StudySpec:
    return validate_study(manifest(**spec)).spec


def finish(
    engine: Engine,
    record: Trial,
    metrics: dict[str, float],
    state: str = "Succeeded",
) -> Trial:
    """Mark `record` finished with `metrics`, judged by the engine."""
    record.status.attempts = max(1, record.status.attempts)
    record.status.metrics = dict(metrics)
    if state == "Succeeded":
        ev = engine.evaluate(metrics, None)
        if ev.values is None:
            record.status.state = "Failed"
            record.status.reason = ev.failure_reason
            return record
        record.status.values = ev.values
        record.status.feasible = ev.feasible
        record.status.violations = ev.violations
    record.status.state = state  # type: ignore[assignment]
    return record


def run(engine: Engine, objective: Any, trials: int, batch: int = 1) -> list[Trial]:
    """Ask, evaluate `objective(params) -> metrics` and record, `trials` times."""
    records: list[Trial] = []
    while len(records) < trials:
        for s in engine.ask(records, min(batch, trials - len(records))):
            record = Trial.new("demo", s.number, s.parameters, s.sampler_state)
            records.append(finish(engine, record, objective(s.parameters)))
    return records


def report_steps(engine: Engine, records: list[Trial], number: int, curve: list[float]) -> bool:
    """Run trial `number` through `curve` one intermediate value at a time, storing each
    pruning decision's state as the adapters do; whether it was pruned (else it succeeds
    with the last value as its accuracy)."""
    r = Trial.new("demo", number, {"x": number / 100, "y": 0.5})
    r.status.state = "Running"
    records.append(r)
    for step, value in enumerate(curve):
        r.status.intermediate.append(StepValue(step=step, value=value))
        decision = engine.should_prune(records, number)
        r.status.pruning_state = decision.pruning_state
        if decision.prune:
            r.status.state = "Pruned"
            return True
    finish(engine, r, {"accuracy": curve[-1], "cost": 1.0})
    return False
