"""A study's insights in its status: recomputed at milestones, announced once each (the
operator's Study status and a local run's `status.json` alike).

Computing insights costs up to about a second (fANOVA), so a pass recomputes them only
when the finished trials reached a new milestone (`engine.insights.milestone`) or the
study ended since the status last recorded them (`insightsFrom`); other passes keep what
the status holds. An insight is new when its key (kind, subject, objective) was not in the
previous status, so a restarted operator, reading the status back, announces nothing twice.

Where they are computed is the caller's `InsightSource`: here by default; the operator
(`kube.insight_jobs`) and a local run (`local.insight_worker`) compute them in a child
process, which reads each record as `record_json` writes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from pydantic_core import to_json

from tradeoff.api.status import INSIGHTS_CAP, Insight, StudyStatus
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.insights import insights, insights_due

InsightSource = Callable[[StudySpec, Sequence[Trial], int], tuple[int, list[Insight]] | None]
"""(spec, records, finished trials) -> (the finished count they were computed from, the
insights), or None while they are being computed elsewhere (a later pass gets them)."""


def compute_here(
    spec: StudySpec, records: Sequence[Trial], finished: int
) -> tuple[int, list[Insight]]:
    return finished, insights(spec, records)


def refresh_insights(
    old: StudyStatus,
    status: StudyStatus,
    spec: StudySpec,
    records: Sequence[Trial],
    ended: bool,
    source: InsightSource | None = None,
) -> list[Insight]:
    """Recompute `status.insights` when due; the insights not in `old` (to announce)."""
    c = status.trials
    finished = c.succeeded + c.failed + c.pruned
    if not insights_due(old.insights_from, finished, ended):
        return []
    got = (source or compute_here)(spec, records, finished)
    if got is None:
        return []
    status.insights_from, found = got
    status.insights = found[:INSIGHTS_CAP]
    if source is not None and insights_due(status.insights_from, finished, ended):
        # Computed elsewhere from fewer trials than there are now (the study ended, or a
        # milestone passed, while they were computed): start the next computation, since
        # nothing else may pass a Study that has ended.
        source(spec, records, finished)
    seen = {i.key for i in old.insights}
    return [i for i in status.insights if i.key not in seen]


def record_json(record: Trial) -> str:
    """`json.dumps(record.wire())`, as the child reads it, written by pydantic's own
    encoder (a third of the CPU: at each milestone every record is written). Pydantic
    writes a float that is not finite as null, so a record with a null anywhere is
    written the slow way."""
    text = to_json(record, by_alias=True, exclude_none=True, inf_nan_mode="constants")
    if b"null" in text:
        return json.dumps(record.wire())
    return text.decode()
