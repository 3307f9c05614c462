"""Whether the prior trials (warm start) inform the sampler: while they agree with the
study's own results (`transfer.agreement`); otherwise they stay in place as failed
trials, which samplers ignore, so trial numbers never move."""

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
        self._on = True

    def check(self, records: Sequence[Trial], *, reset: bool) -> None:
        """Put the priors in the mirror, or failed placeholders, as the records now say."""
        if not self._base:
            return
        if reset:
            self._on = True  # a reset mirror holds them as given
        score = transfer.agreement(self._known, _own(records))
        on = score is None or score > 0
        if on == self._on:
            return
        self._on = on
        storage = self._mirror.storage
        for i, trial in enumerate(self._base):
            storage.put(trial if on else frozen_trial(i, TrialState.FAIL))
        self._mirror.epoch += 1
        self._mirror.study._thread_local.cached_all_trials = None

    def line(self, records: Sequence[Trial]) -> str:
        """What the priors are, for status and CLI, and whether they inform the sampler now."""
        line = self.priors.describe()
        if self._base:
            score = transfer.agreement(self._known, _own(records))
            if score is not None and score <= 0:
                line += "; set aside: they disagree with this study's own results"
        return line

    @property
    def in_use(self) -> bool:
        """Whether the prior trials informed the latest proposals."""
        return bool(self._base) and self._on


def _own(records: Sequence[Trial]) -> list[Trial]:
    """The study's own completed search trials, by number."""
    return sorted(completed(search_records(records), feasible_only=False), key=_number)


def _number(record: Trial) -> int:
    return record.number
