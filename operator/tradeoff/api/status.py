"""Observed state of Studies: conditions, counts, the Pareto front and the recommendation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from tradeoff.api._base import ApiModel
from tradeoff.api.space import ParamValue

StudyState = Literal["Pending", "Running", "Succeeded", "Failed"]
SamplerName = Literal["tpe", "gp", "nsga2", "nsga3", "cmaes", "qmc", "random", "grid"]
"""The algorithms a study can run (`auto` resolves to one of them)."""

PARETO_FRONT_CAP = 50
"""At most this many points of the front are kept in a Study's status."""
INSIGHTS_CAP = 10
"""At most this many insights, the most important first, are kept in a Study's status."""
InsightKind = Literal[
    "importance",
    "edge",
    "never-on-front",
    "cheaper-resource",
    "pruning-savings",
    "no-effect",
    "noise",
]
"""What an insight is about (`tradeoff.engine.insights` says how each is found)."""


def _aware(moment: datetime) -> datetime:
    """A time without a zone is UTC (as `study.json`'s startedAt): a record edited by hand
    may omit it, and a naive time cannot be compared with the aware ones beside it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


AwareTime = Annotated[datetime, AfterValidator(_aware)]
"""A time on a record: always with its zone."""


class Condition(ApiModel):
    """A condition in the Kubernetes API conventions."""

    type: str = Field(description="Condition type, e.g. Valid, Running, Succeeded, Failed.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(default="", description="One CamelCase word saying why.")
    message: str = Field(default="", description="Human-readable detail.")
    last_transition_time: AwareTime | None = Field(
        default=None, description="When the status last changed."
    )
    observed_generation: int | None = Field(
        default=None, description="The spec generation this condition was computed from."
    )


class TrialCounts(ApiModel):
    """Trials of a study by state."""

    created: int = Field(default=0, description="Trials created so far.")
    pending: int = Field(default=0, description="Trials waiting to run (not cancelled).")
    running: int = Field(default=0, description="Trials whose pod runs.")
    succeeded: int = Field(default=0, description="Trials that reported their objectives.")
    failed: int = Field(default=0, description="Trials that failed (after their retries).")
    pruned: int = Field(default=0, description="Trials stopped early by the pruner.")
    cancelled: int = Field(
        default=0,
        description="Trials a stop rule cancelled; they run again if the study resumes.",
    )


class FrontPoint(ApiModel):
    """A trial on the Pareto front and its objective values."""

    trial: str = Field(description="Trial name.")
    kind: Literal["Ensemble"] | None = Field(
        default=None, description="Ensemble for the study's Ensemble trial; unset otherwise."
    )
    values: dict[str, float] = Field(description="Objective values.")


class Recommendation(ApiModel):
    """The trial the selection policy picks from the front."""

    trial: str = Field(description="Trial name.")
    kind: Literal["Ensemble"] | None = Field(
        default=None, description="Ensemble for the study's Ensemble trial; unset otherwise."
    )
    policy: str = Field(description="The selection policy that picked it.")
    parameters: dict[str, ParamValue] = Field(description="Its parameters.")
    members: dict[str, float] | None = Field(
        default=None, description="An Ensemble trial's members and their weights."
    )
    values: dict[str, float] = Field(description="Its objective values.")


class EnsembleState(ApiModel):
    """The study's Ensemble trial (`spec.ensemble`), apart from the search's counts."""

    trial: str = Field(description="Its name, <study>-ensemble.")
    state: str = Field(description="Pending, Running, Succeeded or Failed.")
    reason: str | None = Field(default=None, description="Why it ended as it did.")


class Totals(ApiModel):
    """What all trials of the study have cost so far."""

    cost_usd: float = Field(default=0.0, alias="costUSD", description="USD spent.")
    carbon_grams: float = Field(default=0.0, description="Grams of CO2e emitted.")
    energy_kwh: float = Field(default=0.0, alias="energyKWh", description="kWh used.")


class AlgorithmChoice(ApiModel):
    """The algorithm a study runs, chosen once when it starts and kept for its life."""

    name: SamplerName = Field(description="The sampler in use (what auto resolved to).")
    reason: str = Field(
        description=(
            "Why: set in the spec, the auto rule that picked it, or the ended studies of"
            " the same space it learnt from (which, and their figures)."
        )
    )
    resolved_at: datetime | None = Field(default=None, description="When it was chosen.")


class Insight(ApiModel):
    """Something the records show about the search, with its evidence in numbers."""

    kind: InsightKind = Field(description="What kind of insight (importance, edge, ...).")
    subject: str = Field(description="The parameter or objective it is about.")
    objective: str | None = Field(
        default=None, description="The objective it concerns, when it concerns one."
    )
    message: str = Field(description="The insight in one line, with its numbers.")
    evidence: dict[str, float | int | str] = Field(
        default_factory=dict, description="The numbers behind it, by name."
    )

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes an insight the same one again (an Event is posted once per key)."""
        return (self.kind, self.subject, self.objective or "")


class StudyStatus(ApiModel):
    """Observed state of a Study."""

    state: StudyState = Field(default="Pending", description="Pending, Running, Succeeded, Failed.")
    conditions: list[Condition] = Field(default_factory=list, description="Latest observations.")
    observed_generation: int | None = Field(
        default=None, description="The spec generation last acted on."
    )
    start_time: datetime | None = Field(default=None, description="When the study started.")
    algorithm: AlgorithmChoice | None = Field(
        default=None, description="The algorithm chosen when the study started, and why."
    )
    completion_time: datetime | None = Field(default=None, description="When it ended.")
    warm_start: str | None = Field(
        default=None,
        description="Prior trials informing the sampler (warm start), and what was dropped.",
    )
    trials: TrialCounts = Field(default_factory=TrialCounts, description="Trials by state.")
    progress: str | None = Field(default=None, description="Finished/total, e.g. 12/40.")
    ensemble: EnsembleState | None = Field(
        default=None, description="The Ensemble trial, once spec.ensemble made one."
    )
    pareto_front: list[FrontPoint] = Field(
        default_factory=list, description="Feasible non-dominated trials (at most 50)."
    )
    recommended: Recommendation | None = Field(
        default=None, description="The trade-off the selection policy picks from the front."
    )
    recommended_summary: str | None = Field(
        default=None, description="The recommended values in one line, for printer columns."
    )
    hypervolume: float | None = Field(
        default=None, description="Normalised hypervolume of the front, in [0, 1]."
    )
    totals: Totals = Field(default_factory=Totals, description="Cost, carbon and energy so far.")
    spent: str | None = Field(
        default=None, description="Cost and carbon so far in one line, for printer columns."
    )
    message: str | None = Field(default=None, description="Why the study is in its state.")
    insights: list[Insight] = Field(
        default_factory=list,
        max_length=INSIGHTS_CAP,
        description="What the trials show (at most 10, the most important first).",
    )
    insights_from: int | None = Field(
        default=None, description="Finished trials the insights were computed from."
    )
