"""Ensembles: `spec.ensemble` of a Study, and what an Ensemble trial records.

An Ensemble trial is a trial of its own (`spec.kind: Ensemble`): Caruana's greedy
selection, with replacement, over the held-out predictions the chosen trials saved.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from tradeoff.api._base import ApiModel
from tradeoff.api.errors import SpecProblem

__all__ = [
    "MAX_ENSEMBLE_SIZE",
    "MEASURED_METRICS",
    "Criterion",
    "EnsembleCrossFitted",
    "EnsembleMember",
    "EnsembleRequest",
    "EnsembleResult",
    "EnsembleSpec",
    "EnsembleTop",
    "TrialKind",
]

TrialKind = Literal["Search", "Ensemble"]
Criterion = Literal["accuracy", "log_loss"]

MEASURED_METRICS = ("accuracy", "balanced_accuracy", "log_loss")
"""Metrics an Ensemble trial measures on the held-out predictions (log_loss: with
probabilities only); every other metric of its members is summed over them."""

MAX_ENSEMBLE_SIZE = 1000


class EnsembleTop(ApiModel):
    """The N best trials by the first objective."""

    top: int = Field(ge=1, le=MAX_ENSEMBLE_SIZE, description="How many trials.")


class EnsembleSpec(ApiModel):
    """An Ensemble trial made when the budget is spent (or the goal is reached)."""

    size: int = Field(
        default=20, ge=1, le=MAX_ENSEMBLE_SIZE, description="Selection rounds (with replacement)."
    )
    method: Literal["greedy"] = Field(
        default="greedy", description="greedy: Caruana's ensemble selection."
    )
    from_: Literal["front"] | EnsembleTop = Field(
        default="front",
        alias="from",
        description="Candidates: front (the Pareto front) or {top: N} (by the first objective).",
    )
    criterion: Criterion = Field(
        default="accuracy",
        description="What each round improves: accuracy, or log_loss (needs probabilities).",
    )

    @field_validator("from_", mode="before")
    @classmethod
    def _one_source(cls, value: Any) -> Any:
        """One line for a bad source (a union would report each of its branches)."""
        if value == "front":
            return value
        top = value.get("top") if isinstance(value, dict) and list(value) == ["top"] else None
        if type(top) is int and 1 <= top <= MAX_ENSEMBLE_SIZE:
            return EnsembleTop(top=top)
        why = f"must be front or {{top: N}} with N from 1 to {MAX_ENSEMBLE_SIZE} (got {value!r})"
        raise SpecProblem([("", why)])

    @property
    def source(self) -> str:
        """`front` or `top:N`."""
        return "front" if isinstance(self.from_, str) else f"top:{self.from_.top}"


class EnsembleRequest(ApiModel):
    """What an Ensemble trial selects from (its spec part, fixed when it is created)."""

    candidates: list[str] = Field(
        min_length=1, max_length=MAX_ENSEMBLE_SIZE, description="Candidate trial names."
    )
    size: int = Field(ge=1, le=MAX_ENSEMBLE_SIZE, description="Selection rounds.")
    criterion: Criterion = Field(default="accuracy", description="What each round improves.")


class EnsembleMember(ApiModel):
    """A member of an ensemble and its weight (times chosen / rounds)."""

    trial: str = Field(description="Member trial name.")
    weight: float = Field(ge=0, le=1, description="Share of the selection rounds.")


class EnsembleCrossFitted(ApiModel):
    """Accuracy on rows the selection did not see (chosen on half the rows, scored on the
    other half, both ways), for the ensemble and for the best single candidate."""

    ensemble: float = Field(description="The ensemble's cross-fitted accuracy.")
    best_single: float = Field(description="The most accurate single candidate's, alike.")


class EnsembleResult(ApiModel):
    """What the selection chose (status part of an Ensemble trial)."""

    members: list[EnsembleMember] = Field(
        max_length=MAX_ENSEMBLE_SIZE, description="Members and weights."
    )
    rows: int = Field(ge=0, description="Held-out rows the metrics were measured on.")
    scores: Literal["probabilities", "votes"] = Field(
        description="probabilities when every member saved them, else one vote per member."
    )
    cross_fitted: EnsembleCrossFitted | None = Field(
        default=None, description="The honest comparison with the best single trial."
    )
    skipped: list[str] = Field(
        default_factory=list, max_length=20, description="Candidates left out, and why."
    )
