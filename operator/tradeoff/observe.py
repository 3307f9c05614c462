"""What adapters tell observers (Prometheus metrics, progress displays) as a study runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tradeoff.api.status import Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.progress import Summary


class StudyObserver(Protocol):
    """Receives a study's events; every adapter (operator, local runner) calls these."""

    def trial_finished(self, namespace: str, study: str, record: Trial) -> None:
        """A trial reached Succeeded, Failed or Pruned."""

    def study_updated(
        self,
        namespace: str,
        study: str,
        spec: StudySpec,
        state: str,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        """The study's state or summary was recomputed. `records` hold at least the
        trials that had not finished when the study was read (the operator gives only
        those: a finished trial says nothing that `summary` does not)."""

    def insights_updated(self, namespace: str, study: str, insights: Sequence[Insight]) -> None:
        """The study's insights, as its status holds them (`kind: importance` gives the
        importance of each parameter per objective)."""

    def study_deleted(self, namespace: str, study: str) -> None:
        """The study is gone: forget its series."""

    def suggest_latency(self, algorithm: str, seconds: float) -> None:
        """One ask of the engine took this long."""

    def reconcile_error(self, kind: str) -> None:
        """A reconcile of a Study or Trial failed (kind: study|trial)."""


class NullObserver:
    """Observes nothing."""

    def trial_finished(self, namespace: str, study: str, record: Trial) -> None:
        pass

    def study_updated(
        self,
        namespace: str,
        study: str,
        spec: StudySpec,
        state: str,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        pass

    def insights_updated(self, namespace: str, study: str, insights: Sequence[Insight]) -> None:
        pass

    def study_deleted(self, namespace: str, study: str) -> None:
        pass

    def suggest_latency(self, algorithm: str, seconds: float) -> None:
        pass

    def reconcile_error(self, kind: str) -> None:
        pass
