"""How a trial attempt ended, as an adapter saw it, and the words a failed one gets.

Local mode and the operator describe an attempt's end as an `AttemptOutcome` (an
`Ending`, an exit code or signal, the runtime's word for it, what it reported and cost).
`failure_of` turns an attempt that ended without a clean exit into the reason and message
its trial shows (quoting at most one clean line of what the trial or the runtime said);
`pruned_message` says where a pruner stopped a trial. What follows from them (a retry,
Failed, Succeeded) is the lifecycle's (`tradeoff.engine.lifecycle`).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Artifact, TrialStatus
from tradeoff.trial_stream import last_line

__all__ = ["AttemptOutcome", "Ending", "failure_of", "pruned_message"]

Ending = Literal[
    "exited",
    "deadline",
    "lost",
    "evicted",
    "start_error",
    "refused",
    "pruned",
    "cancelled",
    "interrupted",
    "failed",
]
"""How an attempt ended: on its own (`exited`), or why it was ended or never ran
(`failed`: a workload of several pods said it failed, e.g. a Job's Failed condition)."""


@dataclass(frozen=True)
class AttemptOutcome:
    """How one attempt ended, as the adapter saw it.

    `exit_code`/`signal` (the number of the signal that killed it): how the process
    ended (`exited`). `cause`: the runtime's word for it, when it has one (`OOMKilled`,
    `InvalidImageName`). `detail`: what went wrong in the trial's or the runtime's words
    (its error output or termination message, the pod's message, the start error), of
    which the last line is quoted. `metrics`: the final values reported (finite only);
    `invalid`: metrics whose final value was NaN or infinite. `economics`: what this
    attempt cost (None if it never ran); `artifacts`: the files it saved. A `refused`
    attempt (the cluster would not create its pod) is never retried; its `cause` is the
    reason and `detail` the message.
    """

    ending: Ending = "exited"
    exit_code: int | None = None
    signal: int | None = None
    cause: str | None = None
    detail: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)
    invalid: Mapping[str, float] = field(default_factory=dict)
    problems: Sequence[str] = ()
    economics: TrialEconomics | None = None
    artifacts: Sequence[Artifact] = ()


def failure_of(spec: StudySpec, o: AttemptOutcome) -> tuple[str, str] | None:
    """(reason, message) of an attempt that ended without a clean exit, else None."""
    if o.ending == "refused":  # the adapter's own words, every line (e.g. each problem)
        return o.cause or "Refused", o.detail
    said = last_line(o.detail)  # untrusted: one clean line, at most 300 characters
    detail = f": {said}" if said else ""
    if o.ending == "deadline":
        return "DeadlineExceeded", f"stopped after its activeDeadline of {_deadline(spec)}"
    if o.ending == "lost":
        return "PodLost", f"lost{detail}"
    if o.ending == "evicted":
        return "Evicted", f"evicted{detail}"
    if o.ending == "start_error":
        return o.cause or "StartError", f"could not start{detail}"
    if o.ending == "failed":
        return o.cause or "WorkloadFailed", f"failed{detail}"
    if o.signal is not None:
        return "Error", f"killed by {_signal_name(o.signal)}{detail}"
    if o.exit_code not in (None, 0):
        cause = f" ({o.cause})" if o.cause and o.cause not in ("Error", "Completed") else ""
        return "Error", f"exited with code {o.exit_code}{cause}{detail}"
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _deadline(spec: StudySpec) -> str:
    return str(spec.trial_template.active_deadline or "none")


def pruned_message(spec: StudySpec, s: TrialStatus) -> str:
    """What a Pruned trial's message says: the pruner, and where it stopped the trial."""
    pruner = spec.early_stopping.algorithm
    if not s.intermediate:
        return f"{pruner} stopped it"
    last = s.intermediate[-1]
    return f"{pruner} stopped it at step {last.step} ({spec.pruning_metric}={last.value:.4g})"
