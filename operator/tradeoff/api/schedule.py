"""When trials start: ``spec.schedule`` of a Study (carbon-aware deferral)."""

from __future__ import annotations

from pydantic import Field

from tradeoff.api._base import ApiModel
from tradeoff.api.duration import Duration, parse_duration

__all__ = ["CarbonAware", "Schedule"]


class CarbonAware(ApiModel):
    """Hold new trials while the grid is dirty, for a bounded time."""

    max_intensity: float = Field(
        ...,
        gt=0,
        description=(
            "gCO2e per kWh: a new trial waits (Pending, reason CarbonDeferred) while the "
            "region's grid intensity is above this."
        ),
    )
    max_delay: Duration = Field(
        ...,
        description="The longest a trial waits for a cleaner grid, e.g. 6h; then it starts.",
    )
    region: str | None = Field(
        None,
        min_length=1,
        description=(
            "Region whose intensity is read (topology.kubernetes.io/region); default: the "
            "operator's economics.intensity.region (local mode: --region)."
        ),
    )

    @property
    def max_delay_seconds(self) -> float:
        return parse_duration(self.max_delay)


class Schedule(ApiModel):
    """When new trials may start."""

    carbon_aware: CarbonAware | None = Field(
        None, description="Defer new trials while the grid's carbon intensity is high."
    )
