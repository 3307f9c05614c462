"""The trial template and `${params.NAME}` substitution (pure data in, data out).

References are substituted in container `command`, `args`, `env[].value` and resource
quantities, and in the pod's placement: `nodeSelector` values and the `values` of node
affinity match expressions (so a parameter may choose a node pool or region). An element
that names an inactive conditional parameter is dropped (with the option just before it
when written as two elements, `--C`, `${params.C}`). Values are substituted into list
elements, never through a shell.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from tradeoff.api._base import ApiModel
from tradeoff.api.duration import Duration, parse_duration
from tradeoff.api.errors import SpecProblem
from tradeoff.api.space import ParamValue
from tradeoff.api.workload import Workload, container_problems

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
CONTEXT_REFERENCES = {("trial", "name"), ("trial", "number"), ("study", "name")}
TERMINATION_LOG = "/dev/termination-log"

ENV_PARAMS = "TRADEOFF_PARAMS"
ENV_STUDY = "TRADEOFF_STUDY"
ENV_TRIAL = "TRADEOFF_TRIAL"
ENV_TERMINATION_LOG = "TRADEOFF_TERMINATION_LOG"
ENV_ARTIFACTS = "TRADEOFF_ARTIFACTS"
"""The folder a trial saves its artifacts in (local mode; a cluster's claim)."""
ENV_ARTIFACTS_S3_URL = "TRADEOFF_ARTIFACTS_S3_URL"
"""The bucket folder a trial uploads its artifacts to (a cluster with ``artifacts.s3``)."""


class MetricsCollection(ApiModel):
    """How metrics are read from the trial's standard output."""

    format: Literal["auto", "json", "katib"] = Field(
        default="auto", description="auto reads both TRADEOFF_METRICS JSON and name=value lines."
    )


class TrialTemplate(ApiModel):
    """How every trial runs: a Kubernetes PodSpec with ${params.NAME} references."""

    retries: int = Field(default=0, ge=0, le=10, description="Extra attempts for a failed trial.")
    active_deadline: Duration | None = Field(
        default=None, description="Longest a trial attempt may run, e.g. 10m."
    )
    metrics: MetricsCollection = Field(default_factory=MetricsCollection)
    primary_container: str | None = Field(
        default=None, description="Container whose output holds the metrics; default the first."
    )
    pod: dict[str, Any] | None = Field(
        default=None,
        description="A Kubernetes PodSpec (or give workload).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    workload: Workload | None = Field(
        default=None,
        description="A resource that runs pods (Job, JobSet, PyTorchJob, TrainJob, ...).",
    )

    @model_validator(mode="after")
    def _check_pod(self) -> TrialTemplate:
        if (self.pod is None) == (self.workload is None):
            raise SpecProblem([("pod", "give exactly one of pod or workload")])
        if self.workload is not None:
            if self.workload.primary_container_missing(self.primary_container):
                problem = f"no container named {self.primary_container!r} in the primary pod"
                raise SpecProblem([("primaryContainer", problem)])
            return self
        assert self.pod is not None
        problems = container_problems(self.pod, "pod")
        if problems:
            raise SpecProblem(problems)
        names = [c.get("name") for c in self.pod["containers"]]
        if self.primary_container is not None and self.primary_container not in names:
            problems.append(("primaryContainer", f"no container named {self.primary_container!r}"))
        if problems:
            raise SpecProblem(problems)
        return self

    @property
    def primary_pod(self) -> dict[str, Any]:
        """The PodSpec whose container reports the metrics (the pod, or the workload's
        primary pod template)."""
        if self.workload is not None:
            return self.workload.primary_pod_spec()
        assert self.pod is not None
        return self.pod

    @property
    def active_deadline_seconds(self) -> float | None:
        return parse_duration(self.active_deadline) if self.active_deadline else None

    def primary_index(self) -> int:
        if self.primary_container is None:
            return 0
        names = [c.get("name") for c in self.primary_pod["containers"]]
        return names.index(self.primary_container)


def format_value(value: ParamValue) -> str:
    """How a parameter value is written into a command line or env var."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return str(value)


class Renderer:
    def __init__(self, params: Mapping[str, ParamValue], context: Mapping[str, str]) -> None:
        self.params = params
        self.context = context

    def render(self, text: str) -> str | None:
        """`text` with references substituted, or None if it names an inactive parameter."""
        missing = False

        def sub(match: re.Match[str]) -> str:
            nonlocal missing
            scope, name = match.group(1), match.group(2)
            if scope == "params":
                if name not in self.params:
                    missing = True
                    return ""
                return format_value(self.params[name])
            return self.context.get(f"{scope}.{name}", match.group(0))

        out = REFERENCE.sub(sub, text)
        return None if missing else out

    def render_list(self, items: list[str]) -> list[str]:
        out: list[str] = []
        for item in items:
            rendered = self.render(item)
            if rendered is not None:
                out.append(rendered)
                continue
            # `--C ${params.C}` written as two elements: drop the dangling option too.
            is_lone_ref = REFERENCE.fullmatch(item) is not None
            if is_lone_ref and out and out[-1].startswith("-") and "=" not in out[-1]:
                out.pop()
        return out


def render_pod_spec(
    template: TrialTemplate,
    params: Mapping[str, ParamValue],
    *,
    study: str,
    trial: str,
    number: int,
) -> dict[str, Any]:
    """The template's PodSpec for one trial (a workload's primary pod template's, in local
    mode): references substituted, trial env added."""
    return render_spec(
        template.primary_pod,
        template.primary_index(),
        params,
        study=study,
        trial=trial,
        number=number,
    )


def render_spec(
    pod_spec: Mapping[str, Any],
    primary_index: int | None,
    params: Mapping[str, ParamValue],
    *,
    study: str,
    trial: str,
    number: int,
) -> dict[str, Any]:
    """A PodSpec with references substituted; the trial env added to the container at
    `primary_index` (none when None: a workload's other pod templates)."""
    pod = copy.deepcopy(dict(pod_spec))
    r = Renderer(params, {"trial.name": trial, "trial.number": str(number), "study.name": study})
    for c in pod["containers"]:
        for field in ("command", "args"):
            if field in c:
                c[field] = r.render_list([str(v) for v in c[field]])
        if "env" in c:
            c["env"] = [e for e in (_render_env(r, e) for e in c["env"]) if e is not None]
        resources = c.get("resources") or {}
        for kind in ("requests", "limits"):
            if kind in resources:
                rendered = {k: r.render(str(q)) for k, q in resources[kind].items()}
                resources[kind] = {k: v for k, v in rendered.items() if v is not None}
    _render_placement(r, pod)
    if primary_index is None:
        return pod
    primary = pod["containers"][primary_index]
    primary["env"] = [
        *(e for e in primary.get("env") or [] if e.get("name") not in _TRIAL_ENV),
        {"name": ENV_PARAMS, "value": json.dumps(dict(params), sort_keys=True)},
        {"name": ENV_STUDY, "value": study},
        {"name": ENV_TRIAL, "value": trial},
        {
            "name": ENV_TERMINATION_LOG,
            "value": primary.get("terminationMessagePath", TERMINATION_LOG),
        },
    ]
    return pod


_TRIAL_ENV = {ENV_PARAMS, ENV_STUDY, ENV_TRIAL, ENV_TERMINATION_LOG}


def affinity_expressions(pod: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, expression) of every node affinity match expression of a pod spec."""
    node = ((pod.get("affinity") or {}) if isinstance(pod.get("affinity"), dict) else {}).get(
        "nodeAffinity"
    )
    if not isinstance(node, dict):
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    base = "pod.affinity.nodeAffinity"
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    terms = required.get("nodeSelectorTerms") if isinstance(required, dict) else None
    for i, term in enumerate(terms if isinstance(terms, list) else []):
        where = f"{base}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{i}]"
        found += _expressions(term, where)
    preferred = node.get("preferredDuringSchedulingIgnoredDuringExecution")
    for i, item in enumerate(preferred if isinstance(preferred, list) else []):
        term = item.get("preference") if isinstance(item, dict) else None
        where = f"{base}.preferredDuringSchedulingIgnoredDuringExecution[{i}].preference"
        found += _expressions(term, where)
    return found


def _expressions(term: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    items = term.get("matchExpressions") if isinstance(term, dict) else None
    return [
        (f"{where}.matchExpressions[{j}]", e)
        for j, e in enumerate(items if isinstance(items, list) else [])
        if isinstance(e, dict)
    ]


def _render_placement(r: Renderer, pod: dict[str, Any]) -> None:
    selector = pod.get("nodeSelector")
    if isinstance(selector, dict):
        rendered = {k: r.render(str(v)) for k, v in selector.items()}
        pod["nodeSelector"] = {k: v for k, v in rendered.items() if v is not None}
    for _, expression in affinity_expressions(pod):
        if isinstance(expression.get("values"), list):
            expression["values"] = r.render_list([str(v) for v in expression["values"]])


def _render_env(r: Renderer, env: Any) -> Any:
    if not isinstance(env, dict) or not isinstance(env.get("value"), str):
        return env
    value = r.render(env["value"])
    return None if value is None else {**env, "value": value}
