"""What an ended attempt means for its trial: messages, cancellations, economics."""

from __future__ import annotations

import math
import signal
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.economics import EconomicsConfig, price_trial, resources_from_pod_spec
from tradeoff.engine import StopDecision
from tradeoff.local.events import AttemptResult

__all__ = ["cancelled_outcome", "exit_message", "price_attempt"]


def price_attempt(
    pod: dict[str, Any], result: AttemptResult, config: EconomicsConfig, region: str | None
) -> TrialEconomics:
    """Economics of one attempt: the pod's requests, the wall-clock duration, the measured
    CPU time, and the energy (kWh) the trial reported as ``energy``, if it did."""
    energy = result.metrics.get("energy")
    reported = energy if energy is not None and math.isfinite(energy) and energy >= 0 else None
    return price_trial(
        resources_from_pod_spec(pod),
        result.duration_seconds,
        config,
        cpu_seconds=result.cpu_seconds,
        energy_kwh=reported,
        region=region,
    )


def cancelled_outcome(decision: StopDecision) -> tuple[str, str, str]:
    """State, reason and message of a trial a stop rule cancelled: Pruned when the study
    reached its goal (stopped because the study is done), Failed otherwise."""
    state = "Pruned" if decision.reason == "GoalReached" else "Failed"
    return state, decision.reason, f"cancelled: {decision.message}"


def exit_message(result: AttemptResult) -> str:
    """``exited with code 1: <last stderr line>`` or ``killed by SIGSEGV``."""
    code = result.exit_code
    if code is not None and code < 0:
        how = f"killed by {signal.Signals(-code).name}"
    else:
        how = f"exited with code {code}"
    return f"{how}: {result.last_stderr}" if result.last_stderr else how
