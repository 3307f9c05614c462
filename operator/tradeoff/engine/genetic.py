"""A genetic sampler's parent populations, looked up once per generation.

Optuna's genetic samplers (NSGA-II, NSGA-III) keep each generation's parents as trial ids
in the study's attributes and, on every ask, find those trials by a pass over every trial
of the study; the engine asks again when a proposal repeats a tried configuration (a
converged population often does: a third of the proposals at 5,000 trials), and each
re-ask paid the pass again. Within one of the mirror's epochs no finished trial changes
(`history.Mirror.epoch`) and new trials only come after the parents, so the pass finds the
same trials each time: the engine keeps the list it found per generation, for the sampler
it keeps for that epoch.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.samplers import BaseGASampler
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

__all__ = ["remember_parents"]

_MEMO = "_tradeoff_parents"


def remember_parents(sampler: optuna.samplers.BaseSampler, storage: BaseStorage) -> None:
    """Make `sampler` (if genetic, and not done yet) look up each generation's cached
    parents once in `storage`, the study it asks in.

    What it returns is what Optuna's own lookup does (the parents in trial order); a
    generation whose parents are not chosen yet is left to Optuna (which chooses them, in
    its own order, and caches their ids), as are generations whose cached ids change.
    """
    if not isinstance(sampler, BaseGASampler) or _MEMO in vars(sampler):
        return
    lookup: Callable[[optuna.Study, int], list[FrozenTrial]] = sampler.get_parent_population
    prefix = sampler._get_parent_cache_key_prefix()
    found: dict[int, tuple[list[int], list[FrozenTrial]]] = {}

    def get_parent_population(study: optuna.Study, generation: int) -> list[FrozenTrial]:
        attrs = storage.get_study_system_attrs(study._study_id)
        ids = attrs.get(prefix + str(generation)) if generation else None
        if ids is None:
            return lookup(study, generation)
        known = found.get(generation)
        if known is None or known[0] != ids:
            known = (list(ids), lookup(study, generation))
            found[generation] = known
        return list(known[1])

    setattr(sampler, _MEMO, found)
    sampler.get_parent_population = get_parent_population  # type: ignore[method-assign]
