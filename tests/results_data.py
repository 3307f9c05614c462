"""A small finished study, as a local workdir or as cluster objects, for the result commands.

Its values are judged by the real engine (objective values, feasibility); the test knows
which trials must be on the front, which is infeasible, which failed and which was pruned.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study
from tradeoff.api.trial import StepValue, Trial
from tradeoff.engine import Engine
from tradeoff.local.store import FileStore

LONG = "maximum_depth_of_every_tree_in_the_forest"
"""A long parameter name: tables must show it whole."""

MANIFEST: dict[str, Any] = {
    "apiVersion": "tradeoff.dev/v1alpha1",
    "kind": "Study",
    "metadata": {"name": "demo"},
    "spec": {
        "objectives": [
            {"name": "accuracy", "direction": "maximize"},
            {"name": "cost", "direction": "minimize"},
        ],
        "constraints": [{"metric": "accuracy", "min": 0.5}],
        "parameters": [
            {"name": "model", "type": "categorical", "values": ["forest", "logreg"]},
            {"name": LONG, "type": "int", "low": 2, "high": 64, "when": {"model": ["forest"]}},
            {"name": "C", "type": "float", "low": 0.001, "high": 1000.0, "log": True},
        ],
        "algorithm": {"name": "random", "seed": 5},
        "budget": {"maxTrials": 7, "parallelism": 2},
        "trialTemplate": {
            "pod": {"containers": [{"name": "trial", "image": "x", "command": ["true"]}]}
        },
    },
}

# number: (parameters, state, accuracy, cost)
TRIALS: dict[int, tuple[dict[str, Any], str, float, float]] = {
    0: ({"model": "forest", LONG: 48, "C": 3.5}, "Succeeded", 0.9, 3e-5),
    1: ({"model": "logreg", "C": 0.25}, "Succeeded", 0.8, 1e-5),
    2: ({"model": "logreg", "C": 12.0}, "Succeeded", 0.7, 2e-5),
    3: ({"model": "forest", LONG: 7, "C": 0.01}, "Failed", 0.0, 4e-6),
    4: ({"model": "forest", LONG: 3, "C": 1.0}, "Pruned", 0.0, 2e-6),
    5: ({"model": "logreg", "C": 0.002}, "Succeeded", 0.4, 5e-6),
    6: ({"model": "forest", LONG: 64, "C": 700.0}, "Succeeded", 0.95, 9e-5),
}
FRONT = {"demo-0000", "demo-0001", "demo-0006"}
INFEASIBLE = "demo-0005"
RECOMMENDED = "demo-0000"  # the knee of the front (the engine decides; tests check it)
STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def study(name: str = "demo") -> Study:
    doc = copy.deepcopy(MANIFEST)
    doc["metadata"]["name"] = name
    return Study.model_validate(doc)


def economics(cost: float, seconds: float = 2.0) -> TrialEconomics:
    return TrialEconomics.model_validate(
        {
            "durationSeconds": seconds,
            "cpuSeconds": seconds / 2,
            "energyKWh": cost * 0.03,
            "carbonGrams": cost * 14,
            "costUSD": cost,
            "source": "measured",
            "vcpu": 1.0,
            "memoryGiB": 0.5,
            "gramsPerKWh": 475.0,
        }
    )


def records(name: str = "demo", scale: float = 1.0) -> list[Trial]:
    """The trials of TRIALS, judged by the engine; ``scale`` multiplies the accuracies."""
    engine = Engine(study(name).spec, "random", study=name)
    out = []
    for number, (params, state, accuracy, cost) in TRIALS.items():
        record = Trial.new(name, number, dict(params))
        s = record.status
        s.attempts = 1
        s.start_time = STARTED + timedelta(seconds=10 * number)
        s.completion_time = s.start_time + timedelta(seconds=2)
        s.economics = economics(cost)
        if state == "Succeeded":
            s.metrics = {"accuracy": accuracy * scale, "f1": accuracy * 0.9}
            judged = engine.evaluate(s.metrics, s.economics)
            s.values, s.feasible, s.violations = judged.values, judged.feasible, judged.violations
            if not judged.feasible:
                s.reason, s.message = "Infeasible", "infeasible: violates accuracy >= 0.5"
        elif state == "Failed":
            s.reason, s.message = "Error", "exited with code 1: boom"
        else:
            s.intermediate = [StepValue(step=1, value=0.3), StepValue(step=2, value=0.35)]
            s.reason, s.message = "Pruned", "pruned at step 2 by median"
        s.state = state  # type: ignore[assignment]
        out.append(record)
    return out


def write_workdir(root: Path, name: str = "demo", scale: float = 1.0) -> Path:
    """A workdir under ``root`` as `tradeoff run` leaves it after the study ended."""
    store = FileStore(root / name)
    store.open(study(name), now=STARTED)
    store.record_algorithm(AlgorithmChoice(name="random", reason="set in spec.algorithm.name"))
    for record in records(name, scale):
        store.save_trial(record)
    return store.workdir


def cluster_objects(name: str = "demo", scale: float = 1.0) -> tuple[dict[str, Any], list[Trial]]:
    """The Study object (status as the operator writes it) and its records."""
    doc = study(name).model_dump(mode="json", by_alias=True, exclude_none=True)
    doc["status"] = {
        "state": "Succeeded",
        "message": "all 7 trials ran",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "True",
                "reason": "MaxTrialsReached",
                "message": "all 7 trials ran",
            }
        ],
        "algorithm": {"name": "random", "reason": "set in spec.algorithm.name"},
    }
    return doc, records(name, scale)


RESULT_COMMANDS = [
    ["show"],
    ["export"],
    ["best"],
    ["report", "-o", "report.html"],
    ["insights"],
    ["propose"],
    ["compare", "SECOND"],
]
"""The commands that read a study's workdir (`compare` against a second study, SECOND)."""
