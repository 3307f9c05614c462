"""The Trial resource: one evaluation of one configuration, and the record every store keeps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from tradeoff.api._base import ApiModel
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.ensemble import EnsembleRequest, EnsembleResult, TrialKind
from tradeoff.api.space import ParamValue
from tradeoff.api.status import AwareTime, Condition

VALUE_LIMIT = 1e150
"""Objective values lie within ±VALUE_LIMIT: fronts, hypervolumes, knees and importances
take differences and squares of them, which must stay finite (no real objective is near)."""

ObjectiveValue = Annotated[float, Field(ge=-VALUE_LIMIT, le=VALUE_LIMIT)]

TrialState = Literal["Pending", "Running", "Succeeded", "Failed", "Pruned"]
FINISHED_STATES: frozenset[str] = frozenset({"Succeeded", "Failed", "Pruned"})
INTERMEDIATE_CAP = 1000
"""At most this many intermediate values of the pruning metric are kept per trial."""
METRICS_CAP = 1000
"""At most this many metrics (final, or latest intermediate) are kept per trial."""
ARTIFACTS_CAP = 100
"""At most this many artifacts are recorded per trial (records stay small)."""
CONDITIONS_CAP = 16
"""A Trial's conditions, one per type: far fewer types exist."""

STUDY_LABEL = "tradeoff.dev/study"
TRIAL_LABEL = "tradeoff.dev/trial"


def trial_name(study: str, number: int) -> str:
    """Deterministic trial name: `<study>-<number>` with four digits at least."""
    return f"{study}-{number:04d}"


def ensemble_name(study: str) -> str:
    """The one Ensemble trial's name: deterministic, so a restart never makes two."""
    return f"{study}-ensemble"


def study_problem(record: Trial, study: str) -> str | None:
    """Why `record` is not a record of Study `study` (None when it is): it names another
    study, or a name other than the one its number gives. Such a record was copied or made
    by hand; counting it would mix searches, or put two records on one number."""
    if record.spec.study != study:
        return f"a trial of study {record.spec.study!r}, not of {study!r}"
    name = ensemble_name(study) if record.is_ensemble else trial_name(study, record.number)
    if record.metadata.name != name:
        what = "the ensemble trial" if record.is_ensemble else f"trial number {record.number}"
        return f"{what} would be named {name!r}, not {record.metadata.name!r}"
    return None


def values_problem(record: Trial, objectives: int) -> str | None:
    """Why `record`'s objective values are not those of a study with `objectives`
    objectives (None when they are): every consumer pairs them with the objectives one to
    one, so a record edited to hold more or fewer is no record of the study."""
    values = record.status.values
    if values is None or len(values) == objectives:
        return None
    held = f"status.values holds {len(values)} value(s)"
    return f"{held}, but the study has {objectives} objective(s)"


MAX_TRIAL_NUMBER = 999_999
"""Ten times the most trials a study may run: the sampler's history has a place for every
number up to the highest (a record edited to say 10**30 filled memory on resume)."""


MAX_ATTEMPTS = 1_000_000_000
"""More attempts than any trial makes (retries are at most 10): a record edited to say
failures -10**9 was retried that many times, and an attempt number names its pod."""


class TrialSpec(ApiModel):
    """What to evaluate: written once by the operator, never by users."""

    study: str = Field(description="Name of the owning Study.")
    number: int = Field(
        ge=0,
        le=MAX_TRIAL_NUMBER,
        description="Trial number within the study, from 0 (at most 999,999).",
    )
    parameters: dict[str, ParamValue] = Field(description="The active parameters.")
    kind: TrialKind = Field(
        default="Search",
        description="Search (a configuration the sampler proposed) or Ensemble.",
    )
    ensemble: EnsembleRequest | None = Field(
        default=None, description="Ensemble trials: the candidates and selection rounds."
    )
    sampler_state: dict[str, Any] = Field(
        default_factory=dict,
        description="Sampler state recorded when the trial was proposed (restart-safe search).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )


class StepValue(ApiModel):
    """An intermediate value of the pruning metric."""

    step: int = Field(description="Step (epoch, iteration) of the value.")
    value: float = Field(description="The pruning metric at that step.")


class Artifact(ApiModel):
    """A file a trial saved (`trial_runner.save_artifact`), as the executor found it."""

    name: str = Field(description="File name the trial gave it.")
    path: str = Field(
        description="Where it is stored: local mode, relative to the workdir; a claim,"
        " relative to its root; a bucket, the object's s3:// URL."
    )
    size: int = Field(ge=0, description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the content (hex).")


class TrialStatus(ApiModel):
    """Observed state of a Trial."""

    state: TrialState = Field(
        default="Pending", description="Pending, Running, Succeeded, Failed or Pruned."
    )
    conditions: list[Condition] = Field(
        default_factory=list, max_length=CONDITIONS_CAP, description="Latest observations."
    )
    pod_name: str | None = Field(default=None, description="Pod of the current attempt.")
    start_time: AwareTime | None = Field(default=None, description="When the first attempt ran.")
    completion_time: AwareTime | None = Field(default=None, description="When the trial ended.")
    attempts: int = Field(default=0, ge=0, le=MAX_ATTEMPTS, description="Attempts started so far.")
    failures: int = Field(
        default=0,
        ge=0,
        le=MAX_ATTEMPTS,
        description="Attempts that failed; each uses up one of trialTemplate.retries.",
    )
    metrics: dict[str, float] = Field(
        default_factory=dict, max_length=METRICS_CAP, description="Final metric values."
    )
    intermediate: list[StepValue] = Field(
        default_factory=list,
        max_length=INTERMEDIATE_CAP,
        description="Intermediate values of the pruning metric (the last 1000 at most).",
    )
    last_intermediate: dict[str, float] = Field(
        default_factory=dict,
        max_length=METRICS_CAP,
        description="Latest intermediate value of each metric.",
    )
    artifacts: list[Artifact] = Field(
        default_factory=list,
        max_length=ARTIFACTS_CAP,
        description="Files the final attempt saved, by name.",
    )
    economics: TrialEconomics | None = Field(
        default=None, description="Energy, carbon and cost of all attempts."
    )
    ensemble: EnsembleResult | None = Field(
        default=None, description="Ensemble trials: the members chosen and their weights."
    )
    summary: str | None = Field(
        default=None, description="Objective values in one line, for printer columns."
    )
    values: list[ObjectiveValue] | None = Field(
        default=None, description="Objective values, in order."
    )
    feasible: bool | None = Field(default=None, description="Whether constraints hold.")
    violations: dict[str, float] = Field(
        default_factory=dict, description="How far each violated constraint is exceeded."
    )
    reason: str | None = Field(default=None, description="Why it ended as it did.")
    message: str | None = Field(default=None, description="Detail of the reason.")
    pruning_state: dict[str, Any] = Field(
        default_factory=dict,
        description="Pruner state (e.g. successive-halving rungs).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )


class TrialMeta(ApiModel):
    """Trial metadata."""

    model_config = {**ApiModel.model_config, "extra": "allow"}

    name: str
    namespace: str | None = None
    labels: dict[str, str] | None = None


class Trial(ApiModel):
    """A Trial object, and the record shape every store keeps."""

    api_version: Literal["tradeoff.dev/v1alpha1"] = "tradeoff.dev/v1alpha1"
    kind: Literal["Trial"] = "Trial"
    metadata: TrialMeta
    spec: TrialSpec = Field(
        description="What to evaluate: written once by the operator, immutable.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "Trial spec is immutable"}
            ]
        },
    )
    status: TrialStatus = Field(default_factory=TrialStatus)

    @property
    def number(self) -> int:
        return self.spec.number

    @property
    def state(self) -> TrialState:
        return self.status.state

    @property
    def is_ensemble(self) -> bool:
        return self.spec.kind == "Ensemble"

    @property
    def finished(self) -> bool:
        return self.status.state in FINISHED_STATES

    @classmethod
    def new(
        cls,
        study: str,
        number: int,
        parameters: dict[str, ParamValue],
        sampler_state: dict[str, Any] | None = None,
        namespace: str | None = None,
    ) -> Trial:
        name = trial_name(study, number)
        return cls(
            metadata=TrialMeta(
                name=name,
                namespace=namespace,
                labels={STUDY_LABEL: study, TRIAL_LABEL: name},
            ),
            spec=TrialSpec(
                study=study, number=number, parameters=parameters, sampler_state=sampler_state or {}
            ),
        )
