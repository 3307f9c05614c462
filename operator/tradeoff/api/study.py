"""The Study resource (`tradeoff.dev/v1alpha1`): what to optimise, how, and within what budget."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

from tradeoff.api._base import ApiModel
from tradeoff.api.checks import (
    SpecParts,
    cross_field_problems,
    workload_pod_specs,
    workload_strings,
)
from tradeoff.api.duration import Duration, parse_duration
from tradeoff.api.economics import EconomicsSpec
from tradeoff.api.ensemble import MEASURED_METRICS, EnsembleSpec
from tradeoff.api.errors import SpecProblem, explained, validation_problems
from tradeoff.api.schedule import Schedule
from tradeoff.api.space import Parameter
from tradeoff.api.status import SamplerName, StudyStatus
from tradeoff.api.template import TrialTemplate
from tradeoff.api.warmstart import WarmStart, warm_start_problems

GROUP = "tradeoff.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

BUILTIN_METRICS = ("cost", "carbon", "energy", "duration")
"""Metrics Tradeoff computes itself: USD, gCO2e, kWh and seconds."""


def immutable(field: str) -> dict[str, Any]:
    """The CRD rule that keeps a spec field as it was created (the records of a study are
    only comparable under the space, objectives and sampler they were made with)."""
    message = f"{field} cannot change after the Study is created; create a new Study instead"
    return {"x-kubernetes-validations": [{"rule": "self == oldSelf", "message": message}]}


AlgorithmName = Literal["auto", SamplerName]
EarlyStoppingName = Literal["none", "median", "successive-halving", "hyperband"]
SelectionPolicy = Literal["knee", "weighted-sum", "epsilon-constraint", "lexicographic"]
Direction = Literal["maximize", "minimize"]


class Objective(ApiModel):
    """A metric to optimise."""

    name: str = Field(
        pattern=explained(
            r"^[A-Za-z_][A-Za-z0-9_.-]*$",
            "a metric name: a letter or _, then letters, digits, _, . or -",
        ),
        description="Metric name.",
    )
    direction: Direction = Field(description="maximize or minimize.")


class Constraint(ApiModel):
    """An epsilon-constraint: a trial is feasible only if the metric stays within bounds."""

    metric: str = Field(description="Metric name (reported by the trial or built in).")
    max: float | None = Field(default=None, description="Largest feasible value.")
    min: float | None = Field(default=None, description="Smallest feasible value.")

    @model_validator(mode="after")
    def _check_bounds(self) -> Constraint:
        if self.max is None and self.min is None:
            raise SpecProblem([("", "a constraint needs max, min or both")])
        for name, bound in (("max", self.max), ("min", self.min)):
            if bound is not None and not math.isfinite(bound):
                raise SpecProblem([(name, f"must be a finite number (got {bound})")])
        if self.max is not None and self.min is not None and self.min > self.max:
            raise SpecProblem([("min", f"must not exceed max ({self.min} > {self.max})")])
        return self


class Algorithm(ApiModel):
    """The sampler that proposes parameters."""

    name: AlgorithmName = Field(default="auto", description="Sampler; auto picks one.")
    seed: int | None = Field(default=None, description="Seed for reproducible searches.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Sampler settings (camelCase of Optuna's arguments)."
    )


class EarlyStopping(ApiModel):
    """Pruning of unpromising trials from their intermediate values."""

    algorithm: EarlyStoppingName = Field(default="none", description="Pruner.")
    metric: str | None = Field(
        default=None, description="Objective whose intermediate values decide; default the first."
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="Pruner settings.")


MAX_TRIALS = 100_000
"""The most trials a study may run: the sampler keeps every trial in memory."""


class Budget(ApiModel):
    """How much the study may spend."""

    max_trials: int = Field(
        default=20, ge=1, le=MAX_TRIALS, description="Trials to run in all (at most 100,000)."
    )
    parallelism: int = Field(default=1, ge=1, description="Trials running at once.")
    max_failed_trials: int = Field(
        default=5, ge=1, description="The study fails once this many trials have failed."
    )
    timeout: Duration | None = Field(
        default=None, description="Wall-clock budget, e.g. 30m; running trials are stopped."
    )

    @property
    def timeout_seconds(self) -> float | None:
        return parse_duration(self.timeout) if self.timeout else None


class Selection(ApiModel):
    """How the recommended trial is picked from the Pareto front."""

    policy: SelectionPolicy = Field(default="knee", description="Selection policy.")
    weights: dict[str, float] | None = Field(
        default=None, description="weighted-sum: weight per objective (scaled objectives)."
    )
    objective: str | None = Field(
        default=None, description="epsilon-constraint: the objective to optimise."
    )
    order: list[str] | None = Field(
        default=None, description="lexicographic: objectives in priority order."
    )


class StudySpec(ApiModel):
    """Desired state of a Study."""

    objectives: list[Objective] = Field(
        min_length=1,
        description="Metrics to optimise, in order. Fixed once the Study exists.",
        json_schema_extra=immutable("objectives"),
    )
    constraints: list[Constraint] = Field(default_factory=list, description="Feasibility bounds.")
    parameters: list[Parameter] = Field(
        min_length=1,
        description="The search space. Fixed once the Study exists.",
        json_schema_extra=immutable("parameters"),
    )
    algorithm: Algorithm = Field(
        default_factory=Algorithm,
        description="Sampler. Fixed once the Study exists.",
        json_schema_extra={"default": {}, **immutable("algorithm")},
    )
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping, description="Pruning.")
    budget: Budget = Field(default_factory=Budget, description="Trial and time budget.")
    goal: dict[str, float] | None = Field(
        default=None, description="Stop once a feasible trial reaches every listed objective value."
    )
    selection: Selection = Field(default_factory=Selection, description="Recommended trial.")
    economics: EconomicsSpec | None = Field(default=None, description="Price and carbon overrides.")
    schedule: Schedule | None = Field(
        default=None, description="When new trials may start (carbon-aware deferral)."
    )
    warm_start: WarmStart | None = Field(
        default=None,
        description="Earlier studies and known configurations that inform the search.",
        json_schema_extra=immutable("warmStart"),
    )
    ensemble: EnsembleSpec | None = Field(
        default=None,
        description="A greedy ensemble of the best trials, made when the budget is spent.",
    )
    trial_template: TrialTemplate = Field(description="How each trial runs.")

    @field_validator("goal")
    @classmethod
    def _finite_goal(cls, goal: dict[str, float] | None) -> dict[str, float] | None:
        for name, value in (goal or {}).items():
            if not math.isfinite(value):
                raise SpecProblem([(name, f"must be a finite number (got {value})")])
        return goal

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: ModelWrapValidatorHandler[StudySpec]) -> StudySpec:
        """Problems of single fields and problems between fields, reported together."""
        try:
            spec = handler(data)
        except ValidationError as exc:
            problems = validation_problems(exc, cls)
            if isinstance(data, Mapping):
                problems += cross_field_problems(SpecParts.parse(cls, data))
            raise SpecProblem(list(dict.fromkeys(problems))) from None
        parts = SpecParts(
            objective_names=list(spec.objective_names),
            parameters=list(spec.parameters),
            goal=spec.goal,
            early_stopping=spec.early_stopping,
            selection=spec.selection,
            pod=spec.trial_template.pod,
            workload_pods=_workload_pods(spec.trial_template),
            workload_strings=_workload_strings(spec.trial_template),
        )
        problems = cross_field_problems(parts)
        if spec.ensemble is not None:
            problems += _ensemble_problems(spec)
        if spec.warm_start is not None:
            problems += warm_start_problems(spec.warm_start, spec.parameters, spec.objective_names)
        if problems:
            raise SpecProblem(problems)
        return spec

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def pruning_metric(self) -> str:
        return self.early_stopping.metric or self.objectives[0].name


def _ensemble_problems(spec: StudySpec) -> list[tuple[str, str]]:
    """An ensemble measures accuracy on held-out predictions and sums its members' other
    metrics: a maximised objective it cannot measure would be a sum, which means nothing."""
    return [
        (
            "ensemble",
            f"objective {o.name!r} cannot be measured for an ensemble (it measures"
            f" {', '.join(MEASURED_METRICS)} on the held-out predictions and sums its"
            " members' other metrics): remove spec.ensemble or that objective",
        )
        for o in spec.objectives
        if o.direction == "maximize" and o.name not in MEASURED_METRICS
    ]


def _workload_pods(template: TrialTemplate) -> list[tuple[str, Mapping[str, Any]]]:
    return [] if template.workload is None else workload_pod_specs(template.workload.wire())


def _workload_strings(template: TrialTemplate) -> list[tuple[str, str]]:
    return [] if template.workload is None else workload_strings(template.workload.wire())


class ObjectMeta(ApiModel):
    """The parts of Kubernetes object metadata Tradeoff reads; the rest is kept as is."""

    model_config = {**ApiModel.model_config, "extra": "allow"}

    name: str = Field(
        pattern=explained(
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "a DNS label: lowercase letters, digits and -, "
            "starting and ending with a letter or digit",
        ),
        max_length=52,
        description="Study name (a DNS label; trial names append -NNNN).",
    )
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    generation: int | None = None
    uid: str | None = None


class Study(ApiModel):
    """A Study manifest or object."""

    api_version: Literal["tradeoff.dev/v1alpha1"] = Field(description="tradeoff.dev/v1alpha1")
    kind: Literal["Study"] = Field(description="Study")
    metadata: ObjectMeta
    spec: StudySpec
    status: StudyStatus | None = None
