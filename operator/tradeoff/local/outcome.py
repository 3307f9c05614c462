"""What an ended local attempt was, for the engine's lifecycle: its outcome and economics.

What the outcome means for the trial (state, reason, message, retry) is decided in the
engine (`tradeoff.engine.lifecycle`), as in the operator; which energy counts too
(`reported_energy_kwh`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tradeoff.api.economics import TrialEconomics
from tradeoff.economics import (
    EconomicsConfig,
    IntensityReading,
    Resources,
    price_trial,
)
from tradeoff.engine import AttemptOutcome, reported_energy_kwh
from tradeoff.engine.attempt_ending import Ending
from tradeoff.local.events import AttemptResult

__all__ = ["IntensityReader", "attempt_outcome", "price_attempt"]

IntensityReader = Callable[[str | None, datetime, datetime, float], IntensityReading]
"""(region, start, end, configured gCO2e/kWh) -> the intensity over the run."""

_ENDINGS: dict[str, Ending] = {
    "deadline": "deadline",
    "prune": "pruned",
    "cancel": "cancelled",
    "interrupt": "interrupted",
}


def price_attempt(
    resources: Resources,
    result: AttemptResult,
    config: EconomicsConfig,
    region: str | None,
    read_intensity: IntensityReader | None = None,
    measured: tuple[float | None, str] = (None, ""),
) -> TrialEconomics:
    """Economics of one attempt: the pod's requests (``resources``, read when it started),
    the wall-clock duration, the measured CPU time, and energy: what the trial reported as
    ``energy`` (kWh), else ``measured`` (CodeCarbon's CSV or RAPL: kWh or None, and what was
    read or why not); with ``read_intensity``, the grid intensity over the run (which just
    ended)."""
    intensity = None
    if read_intensity is not None:
        end = datetime.now(UTC)
        start = end - timedelta(seconds=result.duration_seconds)
        intensity = read_intensity(region, start, end, config.grams_per_kwh)
    energy, note = reported_energy_kwh(result.metrics), "reported by the trial"
    if energy is None:
        energy, note = measured
    return price_trial(
        resources,
        result.duration_seconds,
        config,
        cpu_seconds=result.cpu_seconds,
        energy_kwh=energy,
        region=region,
        intensity=intensity,
        energy_detail=note or None,
    )


def attempt_outcome(result: AttemptResult, spent: TrialEconomics | None) -> AttemptOutcome:
    """The attempt as the lifecycle reads it: how the child ended (a negative exit code is
    the signal that killed it), why the runner stopped it, its last error line, metrics."""
    if result.start_error is not None:
        return AttemptOutcome("start_error", detail=result.start_error)
    code = result.exit_code
    killed = -code if code is not None and code < 0 else None
    return AttemptOutcome(
        _ENDINGS.get(result.stopped_for or "", "exited"),
        exit_code=None if killed else code,
        signal=killed,
        detail=result.last_stderr,
        metrics=result.metrics,
        invalid=result.invalid,
        problems=result.problems,
        economics=spent,
        artifacts=result.artifacts,
    )
