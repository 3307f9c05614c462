"""`trialTemplate.workload`: a trial that is a Job, JobSet, PyTorchJob, TrainJob or any
resource with success and failure conditions, instead of one pod.

The metrics come from the primary pod's primary container; the economics are summed
over every pod the workload ran (the operator labels every pod template so it finds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from tradeoff.api._base import ApiModel
from tradeoff.api.conditions import Condition, ConditionError, parse_condition
from tradeoff.api.errors import SpecProblem
from tradeoff.api.workload_kinds import (
    TRAINER_FIELDS,
    TRAINJOB,
    TRAINJOB_FIELDS,
    PodTemplate,
    builtin_kind,
    pod_templates,
)

__all__ = ["Workload", "container_problems"]

_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


def container_problems(pod: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    """(path, message) for a PodSpec without named containers with list command/args."""
    containers = pod.get("containers")
    if not isinstance(containers, list) or not containers:
        return [(f"{where}.containers", "needs at least one container")]
    problems: list[tuple[str, str]] = []
    for i, c in enumerate(containers):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            problems.append((f"{where}.containers[{i}].name", "every container needs a name"))
            continue
        for field in ("command", "args"):
            value = c.get(field)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                problems.append((f"{where}.containers[{i}].{field}", "must be a list of strings"))
    return problems


class Workload(ApiModel):
    """A resource that runs the trial's pods; its kind must be allowed by the cluster admin."""

    api_version: str = Field(min_length=1, description="e.g. batch/v1, kubeflow.org/v1.")
    kind: str = Field(min_length=1, description="e.g. Job, JobSet, PyTorchJob, TrainJob.")
    spec: dict[str, Any] = Field(
        description="The resource's spec; ${params.NAME} is substituted in its strings.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    primary_replica: str | None = Field(
        default=None,
        description="Replica (JobSet replicated job, PyTorchJob replica type) whose first "
        "pod reports the metrics; default Master for PyTorchJob, else the first.",
    )
    primary_pod_labels: dict[str, str] | None = Field(
        default=None, description="Labels that pick the primary pod among the workload's pods."
    )
    pod_templates: list[str] | None = Field(
        default=None,
        description="Other kinds: dotted paths of its PodTemplateSpecs, e.g. spec.template; "
        "the first is the primary's.",
    )
    success_condition: str | None = Field(
        default=None,
        description="Other kinds: when it succeeded, e.g. status.phase == Succeeded.",
    )
    failure_condition: str | None = Field(
        default=None, description="Other kinds: when it failed, e.g. status.phase == Failed."
    )
    queue_name: str | None = Field(
        default=None,
        pattern=_NAME,
        description="Kueue LocalQueue: sets kueue.x-k8s.io/queue-name; created suspended.",
    )

    @model_validator(mode="after")
    def _check(self) -> Workload:
        problems: list[tuple[str, str]] = []
        known = builtin_kind(self.api_version, self.kind)
        if known is None:
            problems += self._generic_problems()
        elif self.pod_templates is not None:
            problems.append(("podTemplates", f"{self.kind} pod templates are known: remove it"))
        for field in ("success_condition", "failure_condition"):
            text = getattr(self, field)
            if text is not None:
                try:
                    parse_condition(text)
                except ConditionError as error:
                    problems.append((_camel(field), str(error)))
        if self.is_trainjob:
            problems += _trainjob_problems(self.spec)
        else:
            templates = self.templates()
            for t in templates:
                spec = t.template.get("spec")
                problems += container_problems(spec if isinstance(spec, dict) else {}, t.path)
            replicas = [t.replica for t in templates]
            if self.primary_replica is not None and self.primary_replica not in replicas:
                shown = ", ".join(str(r) for r in replicas if r) or "none"
                problem = f"no replica named {self.primary_replica!r} (replicas: {shown})"
                problems.append(("primaryReplica", problem))
            if not templates and not problems:
                problems.append(("spec", f"no pod template found in the {self.kind}"))
        if problems:
            raise SpecProblem(problems)
        return self

    def _generic_problems(self) -> list[tuple[str, str]]:
        problems = []
        missing = [
            _camel(f)
            for f in ("pod_templates", "success_condition", "failure_condition")
            if not getattr(self, f)
        ]
        if missing:
            kind = f"{self.kind} ({self.api_version})"
            problems.append(
                (missing[0], f"required for {kind}, a kind Tradeoff does not know "
                 "(known: Job, JobSet, PyTorchJob, TrainJob)")
            )  # fmt: skip
        body = {"spec": self.spec}
        for path in self.pod_templates or []:
            if not path.startswith("spec.") or not pod_templates("", "", body, [path]):
                problems.append(("podTemplates", f"{path!r} holds no pod template in spec"))
        if self.queue_name is not None:
            problems.append(("queueName", "Kueue needs a kind Tradeoff knows how to suspend"))
        return problems

    @property
    def is_trainjob(self) -> bool:
        return (self.api_version, self.kind) == TRAINJOB

    def templates(self) -> list[PodTemplate]:
        """The workload's pod templates, in their order."""
        return pod_templates(self.api_version, self.kind, {"spec": self.spec}, self.pod_templates)

    def primary_template(self) -> PodTemplate | None:
        """The pod template of the primary pod (None for a TrainJob: its runtime has it)."""
        templates = self.templates()
        if not templates:
            return None
        known = builtin_kind(self.api_version, self.kind)
        wanted = self.primary_replica or (known.default_replica if known else None)
        return next((t for t in templates if t.replica == wanted), templates[0])

    def primary_pod_spec(self) -> dict[str, Any]:
        """The primary pod's PodSpec (a TrainJob's trainer, as a one-container pod)."""
        if self.is_trainjob:
            return {"containers": [trainer_container(self.spec)]}
        template = self.primary_template()
        spec = template.template.get("spec") if template else None
        return spec if isinstance(spec, dict) else {"containers": []}

    def primary_container_missing(self, name: str | None) -> bool:
        names = [c.get("name") for c in self.primary_pod_spec().get("containers") or []]
        return name is not None and name not in names

    def conditions(self) -> tuple[Condition, Condition]:
        """(success, failure): the kind's own unless the template gives its own."""
        known = builtin_kind(self.api_version, self.kind)
        success = self.success_condition or (known.success if known else "")
        failure = self.failure_condition or (known.failure if known else "")
        return parse_condition(success), parse_condition(failure)


def trainer_container(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A TrainJob's `spec.trainer` as the container it becomes (named `node`)."""
    trainer = spec.get("trainer") if isinstance(spec.get("trainer"), Mapping) else {}
    assert isinstance(trainer, Mapping)
    container: dict[str, Any] = {"name": "node"}
    for field in ("image", "command", "args", "env"):
        if field in trainer:
            container[field] = trainer[field]
    if "resourcesPerNode" in trainer:
        container["resources"] = trainer["resourcesPerNode"]
    return container


def _trainjob_problems(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = [
        (f"spec.{key}", "not allowed: a TrainJob's pods get their security from the runtime")
        for key in spec
        if key not in TRAINJOB_FIELDS
    ]
    trainer = spec.get("trainer")
    if not isinstance(trainer, Mapping):
        return [*problems, ("spec.trainer", "required (image, command, args, ...)")]
    problems += [
        (f"spec.trainer.{key}", f"not allowed (allowed: {', '.join(TRAINER_FIELDS)})")
        for key in trainer
        if key not in TRAINER_FIELDS
    ]
    pod = {"containers": [trainer_container(spec)]}
    problems += [(p.replace("pod.containers[0]", "spec.trainer"), m) for p, m in
                 container_problems(pod, "pod")]  # fmt: skip
    return problems


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(r.title() for r in rest)
