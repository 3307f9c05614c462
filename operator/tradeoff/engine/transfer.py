"""Whether prior trials still tell the truth about this study (warm start does no harm).

Prior trials carry another study's values. Where that study was about the same thing they
point the sampler at good regions; where it was not, they keep pointing it at their own
good region whatever the study finds there. So the engine checks them against the study's
own results: each of the latest own trials is predicted by its nearest prior trial (in the
normalised space, over the parameters both have), and the rank correlation of predicted
and observed values, averaged over the objectives, must be positive for the priors to keep
informing the sampler. With fewer than `MIN_OWN` own results there is nothing to check
and the priors inform. A pure function of the records: a rebuilt engine decides the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tradeoff.api.space import Parameter
from tradeoff.api.trial import Trial

MIN_OWN = 5
"""Own results needed before priors are checked."""
WINDOW = 40
"""The latest own results the check uses (its cost stays flat as the study grows)."""


class Priors:
    """Prior trials encoded once (their parameters as numbers, their values)."""

    def __init__(self, parameters: Sequence[Parameter], priors: Sequence[Trial]) -> None:
        self.parameters = list(parameters)
        self.x, self.categorical = _encode(self.parameters, priors)
        self.values = [t.status.values or [] for t in priors]


def agreement(known: Priors, own: Sequence[Trial]) -> float | None:
    """Mean rank correlation of nearest-prior predictions with `own` values (None: too few).

    `own` are the study's succeeded trials with values, in trial-number order.
    """
    own = list(own)[-WINDOW:]
    if len(own) < MIN_OWN or not known.values:
        return None
    p_x, p_cat = known.x, known.categorical
    o_x, _ = _encode(known.parameters, own)
    diff = np.abs(o_x[:, None, :] - p_x[None, :, :])  # own x prior x parameter
    diff = np.where(p_cat[None, None, :], (diff > 0).astype(float), diff)
    both = ~np.isnan(diff)
    shared = both.sum(axis=2)
    distance = np.where(shared > 0, np.nansum(diff, axis=2) / np.maximum(shared, 1), np.inf)
    nearest = np.argmin(distance, axis=1)
    predicted = np.array([known.values[i] for i in nearest], dtype=float)
    observed = np.array([t.status.values or [] for t in own], dtype=float)
    scores = [_rank_correlation(predicted[:, k], observed[:, k]) for k in range(observed.shape[1])]
    finite = [s for s in scores if not math.isnan(s)]
    return sum(finite) / len(finite) if finite else 0.0


def _encode(
    parameters: Sequence[Parameter], trials: Sequence[Trial]
) -> tuple[np.ndarray, np.ndarray]:
    """Trials x parameters: numeric values scaled to [0, 1] (log-aware), categorical values
    as their index; NaN where a trial lacks the parameter."""
    x = np.full((len(trials), len(parameters)), np.nan)
    for j, p in enumerate(parameters):
        for i, t in enumerate(trials):
            v = t.spec.parameters.get(p.name)
            if v is None:
                continue
            if p.type == "categorical":
                x[i, j] = (p.values or []).index(v) if v in (p.values or []) else np.nan
                continue
            assert p.low is not None and p.high is not None
            low, high, value = p.low, p.high, float(v)
            if p.log:
                low, high, value = math.log(low), math.log(high), math.log(max(value, p.low))
            x[i, j] = (value - low) / (high - low)
    return x, np.array([p.type == "categorical" for p in parameters], dtype=bool)


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho (average ranks for ties); NaN when either side is constant."""
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):  # ties share their mean rank
        tied = v == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks
