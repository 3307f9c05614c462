"""Which prior trials (warm start) inform the sampler: all of them while they agree with
the study's own results (`transfer.agreement`), or with `warmStart.paceByBranch` those
`prior_pace` allows; the others stay in place as failed trials, which samplers ignore, so
trial numbers never move."""

from __future__ import annotations

from collections.abc import Sequence

from optuna.trial import TrialState

from tradeoff.api.space import Parameter
from tradeoff.api.trial import Trial
from tradeoff.engine import transfer
from tradeoff.engine.ensembles import search_records
from tradeoff.engine.history import frozen_trial
from tradeoff.engine.optuna_records import OptunaRecords
from tradeoff.engine.pareto import completed
from tradeoff.engine.prior_pace import BranchPace
from tradeoff.engine.priors import Priors


class PriorAgreement:
    """Switches the mirrored prior trials on and off as the study's own results come."""

    def __init__(
        self, parameters: Sequence[Parameter], priors: Priors, records: OptunaRecords
    ) -> None:
        self.priors = priors
        self._known = transfer.Priors(parameters, priors.trials)
        self._base = records.base
        self._mirror = records.mirror
        order = priors.paced_order
        self._pace = None if order is None else BranchPace(parameters, priors.trials, order)
        self._on = [True] * len(self._base)

    def check(self, records: Sequence[Trial], *, reset: bool) -> None:
        """Put the priors in the mirror, or failed placeholders, as the records now say."""
        if not self._base:
            return
        if reset:
            self._on = [True] * len(self._base)  # a reset mirror holds them as given
        on, _ = self._wanted(_own(records))
        changed = [i for i, (now, was) in enumerate(zip(on, self._on, strict=True)) if now != was]
        if not changed:
            return
        self._on = on
        storage = self._mirror.storage
        for i in changed:
            storage.put(self._base[i] if on[i] else frozen_trial(i, TrialState.FAIL))
        self._mirror.epoch += 1
        self._mirror.study._thread_local.cached_all_trials = None

    def line(self, records: Sequence[Trial]) -> str:
        """What the priors are, for status and CLI, and whether they inform the sampler now."""
        line = self.priors.describe()
        if self._base:
            on, agree = self._wanted(_own(records))
            if not agree:
                line += "; set aside: they disagree with this study's own results"
            elif self._pace is not None:
                line += f"; paced by branch: {sum(on)} in use"
        return line

    @property
    def in_use(self) -> bool:
        """Whether prior trials informed the latest proposals."""
        return any(self._on)

    def _wanted(self, own: Sequence[Trial]) -> tuple[list[bool], bool]:
        """Per prior, whether it should inform the sampler; and whether the priors agree."""
        score = transfer.agreement(self._known, own)
        if score is not None and score <= 0:
            return [False] * len(self._base), False
        if self._pace is None:
            return [True] * len(self._base), True
        return self._pace.in_use(own), True


def _own(records: Sequence[Trial]) -> list[Trial]:
    """The study's own completed search trials, by number."""
    return sorted(completed(search_records(records), feasible_only=False), key=_number)


def _number(record: Trial) -> int:
    return record.number
