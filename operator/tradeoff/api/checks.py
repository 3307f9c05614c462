"""Problems between the fields of a Study spec, found whichever of its fields parse.

Pydantic runs a model's own validators only once every field has parsed, so one misspelt
field would hide every problem between fields (a `when` naming an unknown parameter, a
goal naming no objective, a misspelt `${params.X}`) until it was fixed. `SpecParts` holds
the spec's fields one by one, parsed where they parse, and `cross_field_problems` checks
whatever they allow, so a manifest's problems are all reported at once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from tradeoff.api.quantity import parse_quantity
from tradeoff.api.references import reference_problems, string_problems
from tradeoff.api.space import Parameter, space_problems
from tradeoff.api.workload import trainer_container
from tradeoff.api.workload_kinds import TRAINJOB, pod_templates
from tradeoff.api.workload_values import free_strings, not_walked, size_problems

__all__ = ["SpecParts", "cross_field_problems", "parse_fields"]


def _raw(model: type[BaseModel], data: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    info = model.model_fields[name]
    for key in (info.alias or name, name):
        if key in data:
            return True, data[key]
    return False, None


def parse_fields(
    model: type[BaseModel], data: Mapping[str, Any], names: Collection[str]
) -> dict[str, Any]:
    """The fields `names` of `model` that parse on their own in `data` (absent: default)."""
    out: dict[str, Any] = {}
    for name in names:
        info = model.model_fields[name]
        present, raw = _raw(model, data, name)
        if not present:
            if not info.is_required():
                out[name] = info.get_default(call_default_factory=True)
            continue
        kind: Any = info.annotation
        if info.metadata:  # constraints such as min_length
            kind = Annotated[(kind, *info.metadata)]
        try:
            out[name] = TypeAdapter(kind).validate_python(raw)
        except ValidationError:
            continue
    return out


class EarlyStoppingLike(Protocol):
    @property
    def metric(self) -> str | None: ...


class SelectionLike(Protocol):
    @property
    def policy(self) -> str: ...
    @property
    def weights(self) -> dict[str, float] | None: ...
    @property
    def objective(self) -> str | None: ...
    @property
    def order(self) -> list[str] | None: ...


@dataclass
class SpecParts:
    """The fields cross-field checks read; None where a field could not be read."""

    objective_names: list[str | None] | None
    parameters: list[Parameter | None] | None
    unparsed_names: set[str] = field(default_factory=set)
    goal: Mapping[str, Any] | None = None
    early_stopping: EarlyStoppingLike | None = None
    selection: SelectionLike | None = None
    pod: Mapping[str, Any] | None = None
    workload_pods: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    """(path, PodSpec) of each pod template of a workload: references are checked there."""
    workload_strings: list[tuple[str, str]] = field(default_factory=list)
    """(path, text) of the strings of a workload's spec outside its pod templates."""

    @classmethod
    def parse(cls, model: type[BaseModel], data: Mapping[str, Any]) -> SpecParts:
        """The parts of a raw spec that parse, each on its own (list items one by one)."""
        fields = parse_fields(model, data, ("early_stopping", "selection"))
        parts = cls(
            objective_names=None,
            parameters=None,
            early_stopping=fields.get("early_stopping"),
            selection=fields.get("selection"),
        )
        _, objectives = _raw(model, data, "objectives")
        if isinstance(objectives, list):
            parts.objective_names = [
                o["name"] if isinstance(o, dict) and isinstance(o.get("name"), str) else None
                for o in objectives
            ]
        _, parameters = _raw(model, data, "parameters")
        if isinstance(parameters, list):
            parts.parameters = []
            for raw in parameters:
                try:
                    parts.parameters.append(Parameter.model_validate(raw))
                except ValidationError:
                    parts.parameters.append(None)
                    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
                        parts.unparsed_names.add(raw["name"])
        _, goal = _raw(model, data, "goal")
        parts.goal = goal if isinstance(goal, dict) else None
        _, template = _raw(model, data, "trial_template")
        pod = template.get("pod") if isinstance(template, dict) else None
        parts.pod = pod if isinstance(pod, dict) else None
        workload = template.get("workload") if isinstance(template, dict) else None
        if isinstance(workload, dict):
            parts.workload_pods = workload_pod_specs(workload)
            parts.workload_strings = workload_strings(workload)
        return parts

    @property
    def parameter_names(self) -> set[str]:
        parsed = {p.name for p in self.parameters or [] if p is not None}
        return parsed | self.unparsed_names


def workload_pod_specs(workload: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(path, PodSpec) of every pod template of a raw `trialTemplate.workload`."""
    api_version, kind = str(workload.get("apiVersion", "")), str(workload.get("kind", ""))
    body = {"spec": workload.get("spec")}
    paths = workload.get("podTemplates")
    if (api_version, kind) == TRAINJOB:
        return [("spec.trainer", {"containers": [trainer_container(workload.get("spec") or {})]})]
    found = pod_templates(api_version, kind, body, paths if isinstance(paths, list) else None)
    specs = [(t.path, t.template.get("spec")) for t in found]
    return [(f"{path}.spec", spec) for path, spec in specs if isinstance(spec, dict)]


def workload_strings(workload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, text) of the strings of a raw `trialTemplate.workload`'s spec where references
    are substituted besides its pod templates (`tradeoff.api.workload_values`)."""
    api_version, kind = str(workload.get("apiVersion", "")), str(workload.get("kind", ""))
    body = {"spec": workload.get("spec")}
    paths = workload.get("podTemplates")
    skip = not_walked(api_version, kind, body, paths if isinstance(paths, list) else None)
    return list(free_strings(body, skip))


def cross_field_problems(parts: SpecParts) -> list[tuple[str, str]]:
    """(path, message) per problem between fields, paths relative to the spec."""
    problems: list[tuple[str, str]] = []
    if parts.parameters is not None:
        found = space_problems(parts.parameters, parts.unparsed_names)
        problems += [(f"parameters{p}", m) for p, m in found]
    if parts.objective_names is not None:
        names = [n for n in parts.objective_names if n is not None]
        problems += _objective_problems(parts, parts.objective_names)
        problems += _selection_problems(parts.selection, set(names))
    if parts.pod is not None and parts.parameters is not None:
        found = reference_problems(parts.pod, parts.parameter_names)
        problems += [(f"trialTemplate.{p}", m) for p, m in found]
    if parts.pod is not None:
        problems += [(f"trialTemplate.{p}", m) for p, m in quantity_problems(parts.pod)]
    for where, pod in parts.workload_pods:
        found = [(_workload_path(where, p), m) for p, m in quantity_problems(pod)]
        problems += [(f"trialTemplate.workload.{p}", m) for p, m in found]
    for where, pod in parts.workload_pods if parts.parameters is not None else []:
        found = reference_problems(pod, parts.parameter_names)
        problems += [(f"trialTemplate.workload.{where}{p[3:]}", m) for p, m in found]
    if parts.parameters is not None:
        found = string_problems(parts.workload_strings, parts.parameter_names)
        parsed = [p for p in parts.parameters if p is not None]
        found += size_problems(parts.workload_strings, parsed)
        problems += [(f"trialTemplate.workload.{p}", m) for p, m in found]
    return problems


def quantity_problems(pod: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, message) for each resource quantity of the pod's containers and init
    containers that is written out (no reference) and is no Kubernetes quantity: every
    trial would fail to start on it."""
    problems: list[tuple[str, str]] = []
    for path, text in _resource_strings(pod):
        if "${" not in text:
            try:
                if parse_quantity(text) < 0:
                    problems.append((path, f"must not be negative (got {text!r})"))
            except ValueError as exc:
                problems.append((path, str(exc)))
    return problems


def _resource_strings(pod: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key in ("containers", "initContainers"):
        containers = pod.get(key)
        for i, c in enumerate(containers if isinstance(containers, list) else []):
            resources = c.get("resources") if isinstance(c, Mapping) else None
            for kind in ("requests", "limits"):
                found = resources.get(kind) if isinstance(resources, Mapping) else None
                for name, q in (found if isinstance(found, Mapping) else {}).items():
                    yield f"pod.{key}[{i}].resources.{kind}.{name}", str(q)


def _workload_path(where: str, path: str) -> str:
    """A pod-relative `path` within the workload's pod template at `where` (a TrainJob's
    trainer is one container whose resources are `resourcesPerNode`)."""
    path = path.removeprefix("pod")
    if where == "spec.trainer":
        path = path.replace(".containers[0].resources", ".resourcesPerNode")
    return f"{where}{path}"


def _list(names: Collection[str]) -> str:
    return ", ".join(sorted(names))


def _objective_problems(parts: SpecParts, names: list[str | None]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            problems.append((f"objectives[{i}].name", f"duplicate objective {name!r}"))
        seen.add(name)
    for name in parts.goal or {}:
        if name not in seen:
            problems.append((f"goal.{name}", f"is not an objective (objectives: {_list(seen)})"))
    metric = parts.early_stopping.metric if parts.early_stopping is not None else None
    if metric is not None and metric not in seen:
        problems.append(
            ("earlyStopping.metric", f"{metric!r} is not an objective (objectives: {_list(seen)})")
        )
    return problems


def _selection_problems(sel: SelectionLike | None, names: set[str]) -> list[tuple[str, str]]:
    if sel is None:
        return []
    problems: list[tuple[str, str]] = []
    for where, given in (("weights", sel.weights), ("order", sel.order)):
        for name in given or []:
            if name not in names:
                problems.append(
                    (
                        f"selection.{where}",
                        f"{name!r} is not an objective (objectives: {_list(names)})",
                    )
                )
    if sel.objective is not None and sel.objective not in names:
        problems.append(("selection.objective", f"{sel.objective!r} is not an objective"))
    if sel.policy == "weighted-sum":
        weights = sel.weights or {}
        if not weights:
            problems.append(("selection.weights", "weighted-sum needs weights per objective"))
        elif not all(math.isfinite(w) and w >= 0 for w in weights.values()) or not any(
            w > 0 for w in weights.values()
        ):
            problems.append(("selection.weights", "weights must be >= 0 and not all zero"))
    return problems
