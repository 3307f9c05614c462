"""What an ended attempt means for its trial: messages and economics.

How a cancelled trial ends and which energy counts are decided in the engine
(`cancelled_outcome`, `reported_energy_kwh`), shared with the operator.
"""

from __future__ import annotations

import signal
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.economics import EconomicsConfig, price_trial, resources_from_pod_spec
from tradeoff.engine import reported_energy_kwh
from tradeoff.local.events import AttemptResult
from tradeoff.trial_stream import excerpt

__all__ = ["exit_message", "price_attempt"]


def price_attempt(
    pod: dict[str, Any], result: AttemptResult, config: EconomicsConfig, region: str | None
) -> TrialEconomics:
    """Economics of one attempt: the pod's requests, the wall-clock duration, the measured
    CPU time, and the energy (kWh) the trial reported as ``energy``, if it did."""
    return price_trial(
        resources_from_pod_spec(pod),
        result.duration_seconds,
        config,
        cpu_seconds=result.cpu_seconds,
        energy_kwh=reported_energy_kwh(result.metrics),
        region=region,
    )


def exit_message(result: AttemptResult) -> str:
    """``exited with code 1: <last stderr line>`` or ``killed by SIGSEGV``; the line is a
    bounded excerpt without control characters (what a trial prints is untrusted)."""
    code = result.exit_code
    if code is not None and code < 0:
        how = f"killed by {signal.Signals(-code).name}"
    else:
        how = f"exited with code {code}"
    said = excerpt(result.last_stderr)
    return f"{how}: {said}" if said else how
