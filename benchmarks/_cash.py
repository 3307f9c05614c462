"""The built-in CASH workload (``trial_runner.sklearn``) evaluated in-process.

A configuration runs through the workload's own ``run`` with its metric lines captured,
so the numbers are exactly what a trial pod would report. Cost and carbon come from
``tradeoff.economics`` with the trial's duration taken as the CPU time of the run
(one thread), which keeps the load of other processes on a shared machine out of it.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.economics import EconomicsConfig, Resources, price_trial
from trial_runner import METRICS_PREFIX
from trial_runner import sklearn as sklearn_workload

MEMORY_GIB = 0.5
"""Memory request of every CASH trial."""

SPACE: list[dict[str, Any]] = [
    {"name": "model", "type": "categorical", "values": ["logreg", "svm", "knn", "forest", "mlp"]},
    {
        "name": "C",
        "type": "float",
        "low": 1e-3,
        "high": 1e3,
        "log": True,
        "when": {"model": ["logreg", "svm"]},
    },
    {
        "name": "gamma",
        "type": "float",
        "low": 1e-4,
        "high": 1.0,
        "log": True,
        "when": {"model": ["svm"]},
    },
    {"name": "n_neighbors", "type": "int", "low": 1, "high": 30, "when": {"model": ["knn"]}},
    {
        "name": "n_estimators",
        "type": "int",
        "low": 10,
        "high": 150,
        "log": True,
        "when": {"model": ["forest"]},
    },
    {"name": "max_depth", "type": "int", "low": 2, "high": 16, "when": {"model": ["forest"]}},
    {
        "name": "hidden_units",
        "type": "int",
        "low": 16,
        "high": 128,
        "log": True,
        "when": {"model": ["mlp"]},
    },
    {"name": "epochs", "type": "int", "low": 5, "high": 30, "when": {"model": ["mlp"]}},
    {"name": "scaler", "type": "categorical", "values": ["none", "standard", "minmax"]},
    {"name": "data_fraction", "type": "float", "low": 0.1, "high": 1.0},
]
"""A CASH space over five model families on one dataset (conditional parameters)."""

CPU_PARAMETER: dict[str, Any] = {"name": "cpu", "type": "categorical", "values": [0.5, 1.0, 2.0]}
"""Resource allocation as a parameter: the vCPU request (the workload is single-threaded)."""


def workload_metrics(
    params: Mapping[str, Any],
    dataset: str = "digits",
    seed: int = 0,
    workload: ModuleType = sklearn_workload,
) -> tuple[dict[str, float], float]:
    """The final metrics a built-in workload (``trial_runner.sklearn`` unless another is
    given, e.g. ``trial_runner.pipeline``) reports for ``params`` (none when it fails on
    them), and its CPU seconds."""
    argv = [f"--dataset={dataset}", f"--seed={seed}"]
    argv += [f"--{k}={v}" for k, v in params.items() if k != "cpu"]
    args = workload.build_parser().parse_args(argv)
    buffer = io.StringIO()
    started = time.process_time()
    # A model error makes the workload exit 1: no final metrics, so the trial fails.
    with contextlib.redirect_stdout(buffer), contextlib.suppress(ValueError):
        workload.run(args)
    cpu_seconds = time.process_time() - started
    final: dict[str, float] = {}
    for line in buffer.getvalue().splitlines():
        if line.startswith(METRICS_PREFIX):
            values = json.loads(line[len(METRICS_PREFIX) :])
            if "step" not in values:
                final.update({k: float(v) for k, v in values.items()})
    return final, cpu_seconds


def economics(cpu_seconds: float, vcpu: float = 1.0) -> TrialEconomics:
    """Cost, energy and carbon of a single-threaded run of ``cpu_seconds`` holding ``vcpu``."""
    resources = Resources(vcpu=vcpu, memory_gib=MEMORY_GIB)
    return price_trial(resources, cpu_seconds, EconomicsConfig.default(), cpu_seconds=cpu_seconds)


def evaluate(
    params: dict[str, Any], dataset: str = "digits"
) -> tuple[dict[str, float], TrialEconomics]:
    """Metrics and economics of one CASH trial, as the engine would receive them."""
    metrics, cpu_seconds = workload_metrics(params, dataset)
    return metrics, economics(cpu_seconds, float(params.get("cpu", 1.0)))
