"""What the engine proposes: a `Suggestion`, the per-ask sampler seed, and the seeded
walks over the search space that find an untried configuration (a grid's order, and the
fallback when the sampler keeps proposing taken ones)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tradeoff.api.space import ParamValue
from tradeoff.engine.space import SearchSpace, config_key, permutation

SAMPLER_TRIES = 3
"""Proposals asked of the sampler before the engine takes an untried configuration."""

Params = dict[str, ParamValue]


@dataclass(frozen=True)
class Suggestion:
    """A new trial to create: its number, parameters and the sampler state to record."""

    number: int
    parameters: Params
    sampler_state: dict[str, Any] = field(default_factory=dict)


def derive_seed(seed: int | None, number: int, attempt: int = 0) -> int | None:
    """The sampler seed for one ask: fixed by the study seed and the trial number."""
    if seed is None:
        return None
    return (seed * 1_000_003 + number * 7_919 + attempt * 104_729) % (2**31 - 1)


def untried_config(
    space: SearchSpace, seed: int | None, number: int, is_taken: Callable[[Params], bool]
) -> Params | None:
    """A seeded configuration nobody tried: a seeded walk over the space's skeleton
    (continuous values drawn), so it costs steps for taken configurations only."""
    rng = random.Random(derive_seed(seed, number, SAMPLER_TRIES))
    size = space.skeleton_size
    offset, stride = permutation(size, rng.randrange(2**31))
    for k in range(size):
        params = space.config_at((offset + k * stride) % size, rng)
        if not is_taken(params):
            return params
    return None


def grid_suggestion(
    space: SearchSpace,
    seed: int | None,
    first: Sequence[Params],
    number: int,
    is_taken: Callable[[Params], bool],
) -> Suggestion | None:
    """The first untried grid point in an order fixed by the study seed (after the
    complete configurations of `first`, warmStart.trials).

    Failed configurations count as untried, so they are run again.
    """
    if number < len(first):
        point = first[number]
        if config_key(point) == config_key(space.known(point)[0]) and not is_taken(point):
            return Suggestion(number, point)
    size = space.skeleton_size
    offset, stride = permutation(size, seed or 0)
    rng = random.Random(0)  # a grid has no continuous values to draw
    for k in range(size):
        params = space.config_at((offset + k * stride) % size, rng)
        if not is_taken(params):
            return Suggestion(number, params)
    return None
