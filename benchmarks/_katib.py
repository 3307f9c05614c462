"""Katib's single-objective algorithm backends, driven the way Katib drives them.

Katib's ``random`` and ``tpe`` suggestion services call hyperopt (``hyperopt.rand.suggest``,
``hyperopt.tpe.suggest``) with the whole history on every request; its
``bayesianoptimization`` service asks and tells a scikit-optimize ``Optimizer`` with a
Gaussian process (Katib's defaults: ``n_initial_points=10``, ``acq_func="gp_hedge"``,
``acq_optimizer="auto"``). Katib has no conditional parameters, so a space is flattened:
every parameter is always sampled (the workload ignores the ones that do not apply).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

Loss = Callable[[dict[str, Any]], float]


def hyperopt_space(parameters: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The flattened space in hyperopt's terms."""
    from hyperopt import hp  # type: ignore[import-untyped]

    space: dict[str, Any] = {}
    for p in parameters:
        name, kind = p["name"], p["type"]
        if kind == "categorical":
            space[name] = hp.choice(name, list(p["values"]))
        elif p.get("log"):
            low, high = math.log(p["low"]), math.log(p["high"])
            space[name] = (
                hp.qloguniform(name, low, high, 1)
                if kind == "int"
                else hp.loguniform(name, low, high)
            )
        elif kind == "int":
            space[name] = hp.quniform(name, p["low"], p["high"], 1)
        else:
            space[name] = hp.uniform(name, p["low"], p["high"])
    return space


def _typed(parameters: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    ints = {p["name"] for p in parameters if p["type"] == "int"}
    return {k: round(v) if k in ints else v for k, v in values.items()}


def run_hyperopt(
    algorithm: str, parameters: Sequence[Mapping[str, Any]], loss: Loss, trials: int, seed: int
) -> list[float]:
    """Katib ``random`` (hyperopt.rand) or ``tpe`` (hyperopt.tpe): losses in trial order."""
    import hyperopt

    suggest = {"random": hyperopt.rand.suggest, "tpe": hyperopt.tpe.suggest}[algorithm]
    history = hyperopt.Trials()
    losses: list[float] = []

    def objective(values: dict[str, Any]) -> float:
        value = loss(_typed(parameters, values))
        losses.append(value)
        return value

    hyperopt.fmin(
        objective,
        hyperopt_space(parameters),
        algo=suggest,
        max_evals=trials,
        trials=history,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return losses


def skopt_dimensions(parameters: Sequence[Mapping[str, Any]]) -> list[Any]:
    from skopt.space import Categorical, Integer, Real  # type: ignore[import-untyped]

    dims: list[Any] = []
    for p in parameters:
        prior = "log-uniform" if p.get("log") else "uniform"
        if p["type"] == "categorical":
            dims.append(Categorical(list(p["values"]), name=p["name"]))
        elif p["type"] == "int":
            dims.append(Integer(int(p["low"]), int(p["high"]), prior=prior, name=p["name"]))
        else:
            dims.append(Real(float(p["low"]), float(p["high"]), prior=prior, name=p["name"]))
    return dims


def run_skopt(
    parameters: Sequence[Mapping[str, Any]], loss: Loss, trials: int, seed: int
) -> list[float]:
    """Katib ``bayesianoptimization`` (scikit-optimize, GP): losses in trial order."""
    from skopt import Optimizer  # type: ignore[import-untyped]

    optimizer = Optimizer(
        skopt_dimensions(parameters),
        base_estimator="GP",
        n_initial_points=10,
        acq_func="gp_hedge",
        acq_optimizer="auto",
        random_state=seed,
    )
    names = [p["name"] for p in parameters]
    losses: list[float] = []
    for _ in range(trials):
        point = optimizer.ask()
        values = {
            n: (v.item() if isinstance(v, np.generic) else v)
            for n, v in zip(names, point, strict=True)
        }
        value = loss(values)
        losses.append(value)
        optimizer.tell(point, value)
    return losses
