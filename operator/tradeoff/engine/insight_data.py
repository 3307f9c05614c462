"""What every insight check reads: the analysed trials as arrays, and small statistics.

The checks see at most `importance.MAX_TRIALS` succeeded trials, evenly spread by number,
so their cost follows that cap, never the study's length or the size of a range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tradeoff.api.space import Parameter, ParamValue
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.pareto import losses


@dataclass(frozen=True)
class Data:
    """The trials the checks analyse, with their losses (every objective minimised)."""

    spec: StudySpec
    trials: list[Trial]
    """Succeeded trials with objective values (feasible or not), at most the cap."""
    losses: np.ndarray
    front: set[str]
    """Names of the trials on the whole feasible Pareto front (of all records)."""
    noise_sd: dict[str, float] = field(default_factory=dict)
    """Spread of each objective between runs of one configuration, where measured."""

    @classmethod
    def of(cls, spec: StudySpec, trials: Sequence[Trial], front: set[str]) -> Data:
        return cls(spec, list(trials), losses(spec, trials), front)

    def active(self, name: str) -> tuple[np.ndarray, list[ParamValue]]:
        """(indices of the trials where parameter `name` is set, its values there)."""
        index: list[int] = []
        values: list[ParamValue] = []
        for i, t in enumerate(self.trials):
            if name in t.spec.parameters:
                index.append(i)
                values.append(t.spec.parameters[name])
        return np.array(index, dtype=int), values

    def sign(self, objective: int) -> float:
        """-1 for a maximised objective (losses are negated values), else 1."""
        return -1.0 if self.spec.objectives[objective].direction == "maximize" else 1.0


def num(value: float) -> str:
    """A number for a message: three significant digits."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    return f"{value:.3g}"


def pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def position(p: Parameter, value: float) -> float:
    """Where `value` sits in `p`'s range, 0 (low) to 1 (high); on a log scale with log."""
    assert p.low is not None and p.high is not None
    low, high, v = p.low, p.high, float(value)
    if p.log:
        low, high, v = math.log(low), math.log(high), math.log(max(v, p.low))
    return min(1.0, max(0.0, (v - low) / (high - low)))


def groups_p(groups: Sequence[np.ndarray]) -> float:
    """Kruskal-Wallis p-value that the groups come from one distribution (1.0 when it
    cannot be told: fewer than two non-empty groups, or every value identical)."""
    kept = [g for g in groups if len(g) > 0]
    if len(kept) < 2 or np.ptp(np.concatenate(kept)) == 0:
        return 1.0
    try:
        from scipy.stats import kruskal  # imported when used: 1.5 s

        p = float(kruskal(*kept).pvalue)
    except ValueError:
        return 1.0
    return 1.0 if math.isnan(p) else p


def bins(values: Sequence[ParamValue], numeric: bool, min_size: int) -> list[np.ndarray]:
    """Positions of `values` grouped: by value for categorical parameters (groups of at
    least `min_size`), by rank into four equal bins for numeric ones."""
    if numeric:
        order = np.argsort(np.array(values, dtype=float), kind="stable")
        return [b for b in np.array_split(order, 4) if len(b) >= min_size]
    by_value: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        by_value.setdefault(repr(v), []).append(i)
    return [np.array(g) for g in by_value.values() if len(g) >= min_size]
