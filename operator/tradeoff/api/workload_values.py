"""`${params.NAME}` (and `${trial.name}`, `${trial.number}`, `${study.name}`) throughout
a workload's spec, outside its pod templates: a PyTorchJob's replica counts, a JobSet's
parallelism, a TrainJob's `trainer.numNodes`, the argument lists of any kind.

Only string leaves change, and only by substitution: nothing is evaluated. A mapping value
that is one reference and nothing else takes the value's own type (`numNodes:
"${params.nodes}"` becomes the int 4), except where Kubernetes wants a string (`name`,
`value`, `image`, and labels, annotations and node selectors); list elements stay strings
(they are argument lists). A value that names an inactive conditional parameter is left
out (in a list, with the option just before it, as in a pod's args).

Pod templates are not walked here: they are rendered as a trial pod is (command, args,
env values, resources, placement), so a parameter never reaches a field the trial policy
checks. The substituted text is bounded (`MAX_SUBSTITUTED`): a few references to a long
categorical value cannot make the operator build an object of any size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tradeoff.api.space import Parameter, ParamValue
from tradeoff.api.template import REFERENCE, Renderer, format_value
from tradeoff.api.workload_kinds import TRAINJOB, pod_templates

__all__ = [
    "MAX_SUBSTITUTED",
    "SubstitutionTooLarge",
    "free_strings",
    "not_walked",
    "size_problems",
    "substitute_workload",
]

MAX_SUBSTITUTED = 1 << 20
"""Characters the substituted strings of one workload may hold in all (the API server
refuses objects above about 1.5 MB anyway)."""
TRAINER_CONTAINER = ("image", "command", "args", "env", "resourcesPerNode")
"""A TrainJob's trainer fields that are its container's (rendered as a pod's are)."""
_STRING_KEYS = {"name", "value", "image"}
_NUMBER_TEXT = 32
"""Characters a number's text may take at most (`format_value` of an int or float)."""
_STRING_MAPS = {"labels", "annotations", "nodeSelector"}


class SubstitutionTooLarge(ValueError):
    """The substituted workload would exceed `MAX_SUBSTITUTED` characters."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.message = f"substituted, the workload's text exceeds {MAX_SUBSTITUTED} characters"
        super().__init__(f"{path}: {self.message}")


def not_walked(
    api_version: str, kind: str, body: Mapping[str, Any], paths: list[str] | None
) -> set[str]:
    """Paths (from the object, e.g. `spec.template`) rendered as pods, not walked here."""
    if (api_version, kind) == TRAINJOB:
        return {f"spec.trainer.{field}" for field in TRAINER_CONTAINER}
    return {t.path for t in pod_templates(api_version, kind, body, paths)}


def _children(path: str, item: Any) -> list[tuple[str, Any]]:
    if isinstance(item, dict):
        return [(f"{path}.{k}", v) for k, v in item.items()]
    if isinstance(item, list):
        return [(f"{path}[{i}]", v) for i, v in enumerate(item)]
    return []


def free_strings(body: Mapping[str, Any], skip: set[str]) -> Iterator[tuple[str, str]]:
    """(path, text) of every string of `body["spec"]` that `substitute_workload` walks."""
    stack = [("spec", body.get("spec"))]
    while stack:  # no recursion: any depth is fine
        path, item = stack.pop()
        if path in skip:
            continue
        if isinstance(item, str):
            yield path, item
        stack += reversed(_children(path, item))


def size_problems(
    strings: list[tuple[str, str]], parameters: list[Parameter]
) -> list[tuple[str, str]]:
    """(path, message) if the strings, substituted with the longest values the parameters
    may take, would exceed `MAX_SUBSTITUTED` (said before any trial runs)."""
    longest = {
        p.name: max((len(format_value(v)) for v in p.values or []), default=0)
        if p.type == "categorical"
        else _NUMBER_TEXT
        for p in parameters
    }
    total = 0
    for path, text in strings:
        if "${" not in text:
            continue
        total += len(text) + sum(
            longest.get(m.group(2), 0) - len(m.group(0))
            for m in REFERENCE.finditer(text)
            if m.group(1) == "params"
        )
        if total > MAX_SUBSTITUTED:
            limit = f"the text exceeds {MAX_SUBSTITUTED} characters"
            return [(path, f"substituted with the longest values, {limit}")]
    return []


class _Substitution:
    def __init__(
        self, params: Mapping[str, ParamValue], study: str, trial: str, number: int
    ) -> None:
        self.params = params
        self.renderer = Renderer(
            params, {"trial.name": trial, "trial.number": str(number), "study.name": study}
        )
        self.typed: dict[str, ParamValue] = {
            "trial.name": trial,
            "trial.number": number,
            "study.name": study,
        }
        self.left = MAX_SUBSTITUTED

    def charge(self, path: str, text: str) -> None:
        """Count what `text` becomes before it is built; too much raises."""
        size = len(text)
        for match in REFERENCE.finditer(text):
            value = self.known(match.group(1), match.group(2))
            size += len(format_value(value)) - len(match.group(0)) if value is not None else 0
        self.left -= size
        if self.left < 0:
            raise SubstitutionTooLarge(path)

    def value(self, path: str, text: str, typed: bool) -> Any:
        """What a mapping's string value becomes; None: leave the key out."""
        if "${" not in text:
            return text
        self.charge(path, text)
        whole = REFERENCE.fullmatch(text)
        if typed and whole is not None:
            scope, name = whole.groups()
            if scope == "params" or f"{scope}.{name}" in self.typed:
                return self.known(scope, name)
        return self.renderer.render(text)

    def known(self, scope: str, name: str) -> ParamValue | None:
        """The value a reference stands for (None: an inactive parameter, or not ours)."""
        if scope == "params":
            return self.params.get(name)
        return self.typed.get(f"{scope}.{name}")

    def strings(self, path: str, items: list[str]) -> list[str]:
        for i, text in enumerate(items):
            if "${" in text:
                self.charge(f"{path}[{i}]", text)
        return self.renderer.render_list(items)


def substitute_workload(
    body: dict[str, Any],
    skip: set[str],
    params: Mapping[str, ParamValue],
    *,
    study: str,
    trial: str,
    number: int,
) -> None:
    """Substitute the references in `body["spec"]` in place, outside the paths `skip`.

    Raises `SubstitutionTooLarge` (naming the path) if the text would grow too large.
    """
    sub = _Substitution(params, study, trial, number)
    stack: list[tuple[str, Any]] = [("spec", body.get("spec"))]
    while stack:
        path, item = stack.pop()
        if isinstance(item, list) and item and all(isinstance(v, str) for v in item):
            item[:] = sub.strings(path, item)
            continue
        if isinstance(item, list):
            kept = []
            for i, value in enumerate(item):
                if f"{path}[{i}]" in skip:
                    kept.append(value)
                    continue
                if isinstance(value, str):
                    value = sub.value(f"{path}[{i}]", value, typed=False)
                    if value is None:
                        continue
                kept.append(value)
                stack.append((f"{path}[{i}]", value))
            item[:] = kept
            continue
        if not isinstance(item, dict):
            continue
        string_map = path.rsplit(".", 1)[-1] in _STRING_MAPS
        for key in list(item):
            where = f"{path}.{key}"
            if where in skip:
                continue
            value = item[key]
            if isinstance(value, str):
                typed = not string_map and key not in _STRING_KEYS
                value = sub.value(where, value, typed)
                if value is None:
                    del item[key]
                    continue
                item[key] = value
            else:
                stack.append((where, value))
