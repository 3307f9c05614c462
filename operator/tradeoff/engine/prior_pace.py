"""Priors paced by branch (`warmStart.paceByBranch`): in each branch of the space, at most
as many prior trials inform the sampler as the study has own results there.

A branch is a value of a categorical parameter that other parameters depend on (`when`),
such as each model family of a CASH space. Another study's trials may favour a branch this
study does not; left whole they outnumber this study's own evidence in every branch for
the whole budget. Paced, a branch the study has not tried has no prior in use, and one it
has tried n times has the n best priors of that branch in use (as transfer-learning methods
such as RGPE give a source less weight as the target's own observations accumulate). A prior
in several branches (nested `when`s) must be allowed in each; a prior in none is always in
use. Pure: the same priors and records give the same choice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tradeoff.api.space import Parameter, ParamValue, branching
from tradeoff.api.trial import Trial

Branch = tuple[str, str, ParamValue]
"""(parameter name, type name, value): a bool True and an int 1 are different branches."""


class BranchPace:
    """Which priors inform the sampler, given the study's own results."""

    def __init__(
        self, parameters: Sequence[Parameter], priors: Sequence[Trial], best_first: Sequence[int]
    ) -> None:
        """`best_first`: the indices of `priors`, best first (`branch_leaders.ranked`)."""
        self._names = [p.name for p in branching(parameters)]
        self._size = len(priors)
        self._branches = [self._of(t) for t in priors]
        self._ranked: dict[Branch, list[int]] = {}
        for i in best_first:
            for branch in self._branches[i]:
                self._ranked.setdefault(branch, []).append(i)

    def in_use(self, own: Sequence[Trial]) -> list[bool]:
        """Per prior, whether it informs the sampler; `own`: the study's own results."""
        tried = Counter(branch for t in own for branch in self._of(t))
        allowed: Counter[int] = Counter()
        for branch, ranked in self._ranked.items():
            allowed.update(ranked[: tried[branch]])
        return [allowed[i] == len(self._branches[i]) for i in range(self._size)]

    def _of(self, trial: Trial) -> list[Branch]:
        chosen = trial.spec.parameters
        return [(n, type(chosen[n]).__name__, chosen[n]) for n in self._names if n in chosen]
