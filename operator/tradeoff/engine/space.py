"""The search space as Optuna distributions, sampled define-by-run."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from tradeoff.api.space import Parameter, ParamValue, is_active, ordered_for_sampling


def distribution(p: Parameter) -> BaseDistribution:
    """The Optuna distribution of one parameter."""
    if p.type == "categorical":
        return CategoricalDistribution(list(p.values or []))
    assert p.low is not None and p.high is not None
    if p.type == "int":
        step = int(p.step or 1)
        int_high = int(p.low) + (int(p.high) - int(p.low)) // step * step
        return IntDistribution(int(p.low), int_high, log=p.log, step=step)
    if p.step is not None:
        high = p.low + math.floor((p.high - p.low) / p.step + 1e-9) * p.step
        return FloatDistribution(p.low, high, step=p.step)
    return FloatDistribution(p.low, p.high, log=p.log)


class SearchSpace:
    """Parameters in sampling order, with their distributions."""

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.parameters = ordered_for_sampling(parameters)
        self.distributions = {p.name: distribution(p) for p in self.parameters}
        self.conditional = any(p.is_conditional for p in self.parameters)

    def sample(self, trial: optuna.Trial) -> dict[str, ParamValue]:
        """Suggest every active parameter, in dependency order."""
        chosen: dict[str, ParamValue] = {}
        for p in self.parameters:
            if is_active(p, chosen):
                chosen[p.name] = trial._suggest(p.name, self.distributions[p.name])
        return chosen

    def known(
        self, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
        """The params a record holds that still fit the space, and their distributions."""
        kept: dict[str, Any] = {}
        dists: dict[str, BaseDistribution] = {}
        for name, value in params.items():
            dist = self.distributions.get(name)
            if dist is None:
                continue
            try:
                if dist._contains(dist.to_internal_repr(value)):
                    kept[name], dists[name] = value, dist
            except (ValueError, TypeError):
                continue
        return kept, dists

    def size(self) -> int | None:
        """Number of distinct configurations, or None when some parameter is continuous."""
        return _count(self.parameters, {})

    def grid(self) -> dict[str, list[ParamValue]] | None:
        """Every parameter's values for a grid search, or None if the space is not a grid."""
        values = {p.name: p.grid_values() for p in self.parameters}
        if self.conditional or any(v is None for v in values.values()):
            return None
        return {k: v for k, v in values.items() if v is not None}


def _count(parameters: Sequence[Parameter], chosen: dict[str, ParamValue]) -> int | None:
    """Configurations of `parameters` given `chosen`, walking conditional branches."""
    if not parameters:
        return 1
    head, rest = parameters[0], parameters[1:]
    if not is_active(head, chosen):
        return _count(rest, chosen)
    values = head.grid_values()
    if values is None:
        return None
    if not any(head.name in (p.when or {}) for p in rest):
        tail = _count(rest, chosen)
        return None if tail is None else len(values) * tail
    total = 0
    for v in values:
        tail = _count(rest, {**chosen, head.name: v})
        if tail is None:
            return None
        total += tail
    return total


def config_key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable key of a configuration; floats compared to 10 significant digits."""
    return tuple(
        sorted((k, float(f"{v:.10g}") if isinstance(v, float) else v) for k, v in params.items())
    )
