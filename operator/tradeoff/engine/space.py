"""The search space as Optuna distributions, sampled define-by-run, and counted exactly.

Nothing here lists the values of a range: sizes are computed arithmetically and the
`index`-th configuration is decoded on demand, so memory and time follow the number of
parameters and trials, never the number of values a range holds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from tradeoff.api.space import Parameter, ParamValue, is_active, ordered_for_sampling

ConfigKey = tuple[Any, ...]
"""A configuration's names and values, alternating (`config_key`)."""
_Chosen = tuple[tuple[str, ParamValue], ...]
"""Representative values chosen for the conditioning parameters a later `when` names."""


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
    """Parameters in sampling order, with their distributions and exact counts.

    A continuous parameter counts as one "slot" whose value is drawn: `skeleton_size` is
    the number of configurations with every continuous value left open, `size` the exact
    number of configurations (None when some active parameter is continuous).
    """

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.parameters = ordered_for_sampling(parameters)
        self.distributions = {p.name: distribution(p) for p in self.parameters}
        self._fits = {name: _fits(d) for name, d in self.distributions.items()}
        self._ranges = {
            name: bounds
            for name, d in self.distributions.items()
            if (bounds := _plain_range(d)) is not None
        }
        self._quick = {
            name: _quick_fits(d, self._fits[name]) for name, d in self.distributions.items()
        }
        self._dists_by_names: dict[tuple[str, ...], dict[str, BaseDistribution]] = {}
        self.conditional = any(p.is_conditional for p in self.parameters)
        self._classes = {p.name: _value_classes(p, self.parameters) for p in self.parameters}
        self._later_deps = [
            {dep for q in self.parameters[i:] for dep in (q.when or {})}
            for i in range(len(self.parameters) + 1)
        ]
        self._count = lru_cache(maxsize=None)(self._count_uncached)
        self.skeleton_size, self.open = self._count(0, ())
        self.size: int | None = None if self.open else self.skeleton_size

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
        quick = self._quick
        for name, value in params.items():
            check = quick.get(name)
            if check is None or not check(value):
                return self._known_each(params)
        # All fit (the usual case): the distributions of this set of names, made once.
        names = tuple(params)
        dists = self._dists_by_names.get(names)
        if dists is None:
            dists = {name: self.distributions[name] for name in names}
            if len(self._dists_by_names) < MAX_NAME_SETS:
                self._dists_by_names[names] = dists
        return dict(params), dict(dists)

    def _known_each(
        self, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, BaseDistribution]]:
        kept: dict[str, Any] = {}
        dists: dict[str, BaseDistribution] = {}
        fits, ranges = self._fits, self._ranges
        for name, value in params.items():
            bounds = ranges.get(name)
            if bounds is not None and type(value) in bounds[2]:
                # inline: a cold rebuild checks every value of every record
                if bounds[0] <= value <= bounds[1]:
                    kept[name], dists[name] = value, self.distributions[name]
                continue
            check = fits.get(name)
            if check is not None and check(value):
                kept[name], dists[name] = value, self.distributions[name]
        return kept, dists

    @property
    def is_grid(self) -> bool:
        """Finite and unconditional: what grid search can walk."""
        return not self.conditional and not self.open

    # -- exact enumeration -------------------------------------------------------------

    def _count_uncached(self, index: int, chosen: _Chosen) -> tuple[int, bool]:
        """(configurations, any open slot) of parameters[index:] given `chosen`."""
        if index == len(self.parameters):
            return 1, False
        p = self.parameters[index]
        if not is_active(p, dict(chosen)):
            return self._count(index + 1, self._relevant(index + 1, chosen))
        classes = self._classes[p.name]
        if classes is None:  # nothing later depends on p: its count multiplies the rest
            n = p.value_count()
            rest, open_rest = self._count(index + 1, self._relevant(index + 1, chosen))
            return (n or 1) * rest, n is None or open_rest
        total, any_open = 0, False
        for members in classes:
            rest, open_rest = self._count(
                index + 1, self._relevant(index + 1, (*chosen, (p.name, members[0])))
            )
            total += len(members) * rest
            any_open = any_open or open_rest
        return total, any_open

    def _relevant(self, index: int, chosen: _Chosen) -> _Chosen:
        """Only choices that a parameter from `index` on still depends on (memo key)."""
        deps = self._later_deps[index]
        return tuple(item for item in chosen if item[0] in deps)

    def config_at(self, index: int, rng: random.Random) -> dict[str, ParamValue]:
        """The `index`-th configuration of the skeleton; open (continuous) values drawn."""
        assert 0 <= index < self.skeleton_size
        values: dict[str, ParamValue] = {}
        chosen: _Chosen = ()
        for i, p in enumerate(self.parameters):
            if not is_active(p, values):
                continue
            classes = self._classes[p.name]
            if classes is None:
                rest, _ = self._count(i + 1, self._relevant(i + 1, chosen))
                digit, index = divmod(index, rest)
                n = p.value_count()
                values[p.name] = _draw(p, rng) if n is None else p.value_at(digit)
                continue
            for members in classes:
                key = (*chosen, (p.name, members[0]))
                rest, _ = self._count(i + 1, self._relevant(i + 1, key))
                if index < len(members) * rest:
                    digit, index = divmod(index, rest)
                    values[p.name] = members[digit]
                    chosen = key
                    break
                index -= len(members) * rest
        return values


_NUMBER_TYPES = (float, int)
_INT_TYPES = (int,)
_SCALAR_TYPES = (str, int, float, bool)
MAX_NAME_SETS = 64
"""Sets of parameter names whose distributions `known` keeps (a conditional space has a
few; records a user wrote could have any number)."""


def _quick_fits(dist: BaseDistribution, fits: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """`fits`, or a cheaper check that is True only where `fits` is: a range check for
    continuous floats and step-1 integers, membership for categorical values."""
    if isinstance(dist, CategoricalDistribution):
        try:
            allowed = frozenset(dist.choices)
        except TypeError:
            return fits
        # Optuna finds a choice by equality (`list.index`), as a set does for scalars.
        return lambda v: type(v) in _SCALAR_TYPES and v in allowed
    bounds = _plain_range(dist)
    if bounds is None:
        return fits
    low, high, types = bounds
    return lambda v: type(v) in types and low <= v <= high


def _plain_range(dist: BaseDistribution) -> tuple[float, float, tuple[type, ...]] | None:
    """(low, high, value types) of a distribution whose values of those types are exactly
    the ones in a range: continuous floats, and integers with step 1 (values of other
    types get Optuna's own check, which takes e.g. 2.0 for 2)."""
    if isinstance(dist, FloatDistribution) and dist.step is None:
        return dist.low, dist.high, _NUMBER_TYPES
    if isinstance(dist, IntDistribution) and dist.step == 1:
        return dist.low, dist.high, _INT_TYPES
    return None


def _fits(dist: BaseDistribution) -> Callable[[Any], bool]:
    """Whether a value belongs to `dist`: a plain range check for continuous floats,
    Optuna's own check otherwise."""
    if isinstance(dist, FloatDistribution) and dist.step is None:
        low, high = dist.low, dist.high
        return lambda v: type(v) in _NUMBER_TYPES and low <= v <= high

    def contains(value: Any) -> bool:
        try:
            return bool(dist._contains(dist.to_internal_repr(value)))
        except (ValueError, TypeError):
            return False

    return contains


def _value_classes(p: Parameter, parameters: Sequence[Parameter]) -> list[list[ParamValue]] | None:
    """A conditioning parameter's values grouped by which later parameters they activate.

    Values in one group behave alike for every `when`, so counting branches per group
    (not per value) keeps counting linear in the manifest. None when nothing depends on p.
    """
    lists = [q.when[p.name] for q in parameters if q.when and p.name in q.when]
    if not lists:
        return None
    groups: dict[tuple[bool, ...], list[ParamValue]] = {}
    for value in p.values or []:
        groups.setdefault(tuple(value in allowed for allowed in lists), []).append(value)
    return list(groups.values())


def _draw(p: Parameter, rng: random.Random) -> float:
    """A uniformly drawn value of a continuous parameter (log-uniform with `log`)."""
    assert p.low is not None and p.high is not None
    if p.log:
        return math.exp(rng.uniform(math.log(p.low), math.log(p.high)))
    return rng.uniform(p.low, p.high)


def permutation(size: int, seed: int) -> tuple[int, int]:
    """(offset, stride) of a seeded walk `k -> (offset + k * stride) % size` visiting each
    index of range(size) once: the stride is coprime with the size."""
    rng = random.Random(seed)
    offset = rng.randrange(size)
    stride = rng.randrange(1, size) if size > 1 else 1
    while math.gcd(stride, size) != 1:
        stride += 1
    return offset, stride


def config_key(params: Mapping[str, Any]) -> ConfigKey:
    """A hashable key of a configuration; floats compared to 10 significant digits.

    Names and values alternate, by name, in one flat tuple: equal exactly when the
    (name, value) pairs are, and one object per record instead of one per value (a cold
    rebuild keys every record, and the garbage collector visits each new tuple)."""
    out: list[Any] = []
    for name in sorted(params):
        value = params[name]
        # %-formatting: half an f-string's cost per float
        out += (name, float("%.10g" % value) if isinstance(value, float) else value)  # noqa: UP031
    return tuple(out)
