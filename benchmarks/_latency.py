"""The engine's suggest latency against the number of finished trials, per sampler.

A two-objective study over six parameters (four floats, one int, one categorical).
Histories of N finished trials are made by Optuna directly (fast): by NSGA-II for
``nsga2`` so its generation bookkeeping is real (each record carries the trial and study
attributes its ask set, signed, as the engine records them: a restarted engine finds every
generation's parents), by random sampling for the others
(their suggestions depend on the points, not on sampler state). Each history becomes
trial records; then ``Engine.ask(records, 1)`` is timed on an engine that has seen the
records before (the steady state: it converts only what changed), and separately a cold
rebuild: a fresh engine converting every record.
"""

from __future__ import annotations

import math
import time
from typing import Any

import _common as c
import numpy as np
import optuna

from tradeoff.api import Trial
from tradeoff.api.study import StudySpec
from tradeoff.engine import signing
from tradeoff.engine.core import Engine
from tradeoff.engine.space import SearchSpace

PARAMETERS: list[dict[str, Any]] = [
    *c.float_params(4),
    {"name": "depth", "type": "int", "low": 1, "high": 12},
    {"name": "kind", "type": "categorical", "values": ["a", "b", "c"]},
]
OBJECTIVES = [("f1", "minimize"), ("f2", "minimize")]
KEY = b"benchmark-signing-key"
"""The key histories are signed with, as an adapter's records are: engines built with it
verify their sampler state (an engine with another key would ignore it)."""


def engine(spec: StudySpec) -> Engine:
    """An engine of the histories' study, with their key."""
    return Engine(spec, study=c.STUDY, key=KEY)


def objectives(params: dict[str, Any]) -> tuple[float, float]:
    x = np.array([params[f"x{i}"] for i in range(4)])
    shift = {"a": 0.0, "b": 0.1, "c": 0.2}[params["kind"]] + params["depth"] / 100
    f1 = float(x[0])
    g = 1 + 9 * float(np.mean(x[1:])) + shift
    return f1, g * (1 - math.sqrt(f1 / g))


def finished(number: int, params: dict[str, Any], sampler_state: dict[str, Any]) -> Trial:
    """Trial ``number`` with ``params``, succeeded with the objectives' values."""
    values = objectives(params)
    record = Trial.new(c.STUDY, number, params, sampler_state)
    record.status.state = "Succeeded"
    record.status.metrics = {"f1": values[0], "f2": values[1]}
    record.status.values = list(values)
    record.status.feasible = True
    return record


def make_history(algorithm: str, n: int, seed: int = 0) -> list[Trial]:
    """``n`` finished records, produced by Optuna directly."""
    spec = c.study_spec(PARAMETERS, OBJECTIVES, algorithm, seed, max(n + 10, 20))
    space = SearchSpace(spec.parameters)
    if algorithm == "nsga2":
        from tradeoff.engine.samplers import make_sampler

        sampler = make_sampler(spec, seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    records = []
    storage = study._storage
    for number in range(n):
        before = dict(storage.get_study_system_attrs(study._study_id))
        trial = study.ask()
        params = space.sample(trial)
        study.tell(trial, objectives(params))
        state: dict[str, Any] = {}
        if attrs := storage.get_trial(trial._trial_id).system_attrs:
            state["trial"] = dict(attrs)
        now = storage.get_study_system_attrs(study._study_id)
        if changed := {k: v for k, v in now.items() if before.get(k) != v}:
            state["study"] = changed  # e.g. NSGA-II's parents, as the engine records them
        records.append(finished(number, params, signing.sign(KEY, c.STUDY, number, state)))
    return records


def time_asks(spec: StudySpec, records: list[Trial], repeats: int) -> dict[str, Any]:
    """Latency of ``Engine.ask(records, 1)`` and of the rebuild alone, in CPU seconds of
    this process (one thread; the machine is shared, so wall time is kept apart)."""
    live = engine(spec)
    asks, rebuilds, walls = [], [], []
    for _ in range(repeats):
        started, wall = time.process_time(), time.perf_counter()
        live.ask(records, 1)
        asks.append(time.process_time() - started)
        walls.append(time.perf_counter() - wall)
        started = time.process_time()
        engine(spec)._sync(records)
        rebuilds.append(time.process_time() - started)
    return {
        "ask_p50": float(np.percentile(asks, 50)),
        "ask_p95": float(np.percentile(asks, 95)),
        "rebuild_p50": float(np.percentile(rebuilds, 50)),
        "rebuild_share": float(np.median(rebuilds) / max(np.median(asks), 1e-12)),
        "wall_p50": float(np.percentile(walls, 50)),
        "repeats": repeats,
    }


def latency_table(
    samplers: list[str], sizes: list[int], gp_sizes: list[int], repeats: dict[int, int]
) -> dict[str, dict[str, Any]]:
    """Per sampler and history size: ask p50/p95 and the rebuild's p50 and share."""
    out: dict[str, dict[str, Any]] = {}
    cache: dict[tuple[bool, int], list[Trial]] = {}
    for algorithm in samplers:
        if algorithm == "gp" and not gp_sizes:
            continue
        out[algorithm] = {}
        for n in gp_sizes if algorithm == "gp" else sizes:
            key = (algorithm == "nsga2", n)
            if key not in cache:
                cache[key] = make_history(algorithm if algorithm == "nsga2" else "random", n)
            spec = c.study_spec(PARAMETERS, OBJECTIVES, algorithm, 0, n + 100)
            out[algorithm][str(n)] = time_asks(spec, cache[key], repeats.get(n, 3))
            r = out[algorithm][str(n)]
            print(
                f"  {algorithm} at {n}: ask p50 {r['ask_p50'] * 1000:.1f} ms,"
                f" p95 {r['ask_p95'] * 1000:.1f} ms,"
                f" rebuild {r['rebuild_p50'] * 1000:.1f} ms",
                flush=True,
            )
    return out
