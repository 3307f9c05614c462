"""Carbon-aware scheduling: whether a new trial waits for a cleaner grid (pure).

A trial's first attempt is held while the region's grid intensity is above
``spec.schedule.carbonAware.maxIntensity``, for at most ``maxDelay`` counted from when the
hold began (the operator: the Trial's creation; local mode: when the trial was proposed).
Then it starts whatever the grid. Without a reading (no service, a failed one) nothing is
held: carbon-aware scheduling never stops a study for want of data. Retries are not held:
a trial that already ran keeps its place. Both adapters supply the reading and show the
state; the rule is only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tradeoff.api.schedule import CarbonAware

__all__ = ["CARBON_DEFERRED", "CarbonHold", "carbon_hold"]

CARBON_DEFERRED = "CarbonDeferred"
"""Reason of a Pending trial held for a cleaner grid."""


@dataclass(frozen=True)
class CarbonHold:
    """``hold``: wait and ask again in ``recheck`` seconds; else start. ``message`` says why."""

    hold: bool
    message: str
    recheck: float = 0.0


def carbon_hold(
    rule: CarbonAware | None,
    intensity: float | None,
    held_since: datetime,
    now: datetime,
    *,
    region: str | None = None,
    unknown: str = "no intensity reading",
    poll: float = 60.0,
) -> CarbonHold:
    """Whether a trial whose hold began at ``held_since`` waits, at ``intensity`` now."""
    if rule is None:
        return CarbonHold(False, "")
    where = f" in {region}" if region else ""
    if intensity is None:
        return CarbonHold(False, f"not deferred: {unknown}")
    bound = rule.max_intensity
    if intensity <= bound:
        return CarbonHold(
            False, f"grid intensity{where} {intensity:g} g/kWh is within maxIntensity {bound:g}"
        )
    deadline = held_since + timedelta(seconds=rule.max_delay_seconds)
    if now >= deadline:
        return CarbonHold(
            False,
            f"started after waiting maxDelay {rule.max_delay}: grid intensity{where} still "
            f"{intensity:g} g/kWh, above maxIntensity {bound:g}",
        )
    left = (deadline - now).total_seconds()
    until = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
    return CarbonHold(
        True,
        f"grid intensity{where} {intensity:g} g/kWh is above maxIntensity {bound:g}; "
        f"waiting for a cleaner grid until {until} at the latest (maxDelay {rule.max_delay})",
        recheck=max(0.0, min(poll, left)),
    )
