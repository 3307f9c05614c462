"""Carbon-aware scheduling in local mode: new trials wait while the grid is dirty.

The rule is the engine's (`tradeoff.engine.schedule`); this only reads the intensity and
says when the hold begins and ends. The hold begins when the run first wants to start a
trial and the grid is above the bound, and is counted in this run (a resumed run counts
afresh). Retries are not held.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tradeoff.api.schedule import CarbonAware
from tradeoff.economics import IntensitySettings, IntensitySource, current_intensity
from tradeoff.engine.schedule import carbon_hold

__all__ = ["CarbonGate"]


class CarbonGate:
    """``wait(now)``: None when new trials may start, else seconds until the next look."""

    def __init__(
        self,
        rule: CarbonAware,
        source: IntensitySource | None,
        settings: IntensitySettings | None,
        region: str | None,
        say: Callable[[str], None],
        poll: float = 60.0,
    ) -> None:
        self.rule, self.source, self.settings = rule, source, settings
        self.region = rule.region or region or (settings.region if settings else None)
        self.say, self.poll = say, poll
        self.since: datetime | None = None
        self._said = ""

    def wait(self, now: datetime) -> float | None:
        value, why = current_intensity(self.source, self.settings, self.region)
        decision = carbon_hold(
            self.rule,
            value,
            self.since or now,
            now,
            region=self.region,
            unknown=why,
            poll=self.poll,
        )
        if decision.hold:
            self.since = self.since or now
            if decision.message != self._said:
                self.say(f"CarbonDeferred: {decision.message}")
                self._said = decision.message
            return max(decision.recheck, 0.05)
        if self.since is not None:
            self.say(f"CarbonReleased: {decision.message}")
        elif decision.message != self._said and value is None:
            self.say(f"carbon-aware: {decision.message}")
        self._said = decision.message
        self.since = None
        return None
