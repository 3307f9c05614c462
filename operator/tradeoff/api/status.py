"""Observed state of Studies: conditions, counts, the Pareto front and the recommendation."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from tradeoff.api._base import ApiModel
from tradeoff.api.space import ParamValue

StudyState = Literal["Pending", "Running", "Succeeded", "Failed"]

PARETO_FRONT_CAP = 50
"""At most this many points of the front are kept in a Study's status."""


class Condition(ApiModel):
    """A condition in the Kubernetes API conventions."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


class TrialCounts(ApiModel):
    """Trials of a study by state."""

    created: int = 0
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    pruned: int = 0


class FrontPoint(ApiModel):
    """A trial on the Pareto front and its objective values."""

    trial: str
    values: dict[str, float]


class Recommendation(ApiModel):
    """The trial the selection policy picks from the front."""

    trial: str
    policy: str
    parameters: dict[str, ParamValue]
    values: dict[str, float]


class Totals(ApiModel):
    """What all trials of the study have cost so far."""

    cost_usd: float = Field(default=0.0, alias="costUSD")
    carbon_grams: float = 0.0
    energy_kwh: float = Field(default=0.0, alias="energyKWh")


class StudyStatus(ApiModel):
    """Observed state of a Study."""

    state: StudyState = "Pending"
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None
    start_time: datetime | None = None
    completion_time: datetime | None = None
    trials: TrialCounts = Field(default_factory=TrialCounts)
    progress: str | None = Field(default=None, description="Finished/total, e.g. 12/40.")
    pareto_front: list[FrontPoint] = Field(default_factory=list)
    recommended: Recommendation | None = None
    recommended_summary: str | None = Field(
        default=None, description="The recommended values in one line, for printer columns."
    )
    hypervolume: float | None = None
    totals: Totals = Field(default_factory=Totals)
    message: str | None = None
