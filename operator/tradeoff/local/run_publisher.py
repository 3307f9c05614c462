"""A local run's summaries for the observer and the progress display, at most every
``PUBLISH_SECONDS``."""

from __future__ import annotations

import time
from collections.abc import Callable

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Summary
from tradeoff.local.display import RunDisplay
from tradeoff.observe import NullObserver, StudyObserver

LOCAL_NAMESPACE = "local"
"""The namespace label local studies report to observers."""

PUBLISH_SECONDS = 0.2
"""The observer and the progress bar get a new summary at most this often."""


class SummaryPublisher:
    """Publishes a study's summary while it runs; a skipped one is due later."""

    def __init__(
        self, name: str, spec: StudySpec, observer: StudyObserver, display: RunDisplay
    ) -> None:
        self.name = name
        self.spec = spec
        self.observer = observer
        self.display = display
        self._next_publish = 0.0  # monotonic; a summary is due then if _unpublished
        self._unpublished = False

    def seconds_to_due(self) -> float | None:
        """Seconds until a skipped summary is due; None if none was skipped."""
        if not self._unpublished:
            return None
        return max(0.0, self._next_publish - time.monotonic())

    def publish(
        self, view: Callable[[], tuple[list[Trial], Summary]], elapsed: Callable[[], float]
    ) -> None:
        """Summarise for the observer and the display, if either looks, at most every
        ``PUBLISH_SECONDS`` (a skipped one is due then: the loop wakes up for it)."""
        if not self.display.live and isinstance(self.observer, NullObserver):
            return
        now = time.monotonic()
        self._unpublished = now < self._next_publish
        if self._unpublished:
            return
        self._next_publish = now + PUBLISH_SECONDS
        records, summary = view()
        state = "Running" if records else "Pending"
        self.observer.study_updated(LOCAL_NAMESPACE, self.name, self.spec, state, records, summary)
        self.display.update(records, summary, elapsed())
