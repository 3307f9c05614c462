"""Katib's `${trialParameters.NAME}` references, resolved to a Study's `${params.NAME}`.

A trial parameter names a search parameter (it becomes `${params.NAME}`, under the name the
parameter was given) or the trial's metadata: `${trialSpec.Name}` becomes `${trial.name}`;
the namespace, kind, apiVersion, labels and annotations are the same for every trial of an
Experiment, so they become their values.
"""

from __future__ import annotations

import re
from typing import Any

from tradeoff.migrate.common import ImportProblem, Notes, mapping

__all__ = ["substitute", "trial_parameters", "unused"]

_TRIAL_PARAMETER = re.compile(r"\$\{trialParameters\.([^}]*)\}")
_TRIAL_SPEC_META = re.compile(r"\$\{trialSpec\.(Name|Namespace|Kind|APIVersion)\}$")
_TRIAL_SPEC_MAP = re.compile(r"\$\{trialSpec\.(Labels|Annotations)\[([^\]]+)\]\}$")


def trial_parameters(
    template: dict[str, Any], names: dict[str, str], namespace: Any
) -> dict[str, str]:
    """trialParameters name -> the text that replaces `${trialParameters.NAME}`."""
    meta = mapping(
        mapping(template.get("trialSpec"), "spec.trialTemplate.trialSpec").get("metadata"),
        "spec.trialTemplate.trialSpec.metadata",
    )
    out: dict[str, str] = {}
    for i, item in enumerate(template.get("trialParameters") or []):
        where = f"spec.trialTemplate.trialParameters[{i}]"
        entry = mapping(item, where)
        name, ref = entry.get("name"), entry.get("reference")
        if not isinstance(name, str) or not isinstance(ref, str):
            raise ImportProblem(where, "every trial parameter needs a name and a reference")
        if ref in names:
            out[name] = f"${{params.{names[ref]}}}"
        elif m := _TRIAL_SPEC_META.match(ref):
            out[name] = _metadata_value(m.group(1), template, namespace, f"{where}.reference")
        elif m := _TRIAL_SPEC_MAP.match(ref):
            value = (meta.get(m.group(1).lower()) or {}).get(m.group(2))
            if not isinstance(value, str):
                raise ImportProblem(
                    f"{where}.reference",
                    f"{ref}: the trialSpec sets no such {m.group(1)[:-1].lower()}; a Tradeoff"
                    " trial's pod has no metadata to read it from",
                )
            out[name] = value
        else:
            known = ", ".join(sorted(names))
            raise ImportProblem(
                f"{where}.reference", f"{ref!r} names no parameter (parameters: {known})"
            )
    return out


def _metadata_value(field: str, template: dict[str, Any], namespace: Any, where: str) -> str:
    trial_spec = template["trialSpec"]
    if field == "Name":
        return "${trial.name}"
    if field == "Namespace":
        if not isinstance(namespace, str) or not namespace:
            raise ImportProblem(
                where,
                "${trialSpec.Namespace}: the Experiment names no namespace; set"
                " metadata.namespace and import again",
            )
        return namespace
    return str(trial_spec.get("kind" if field == "Kind" else "apiVersion"))


def substitute(value: Any, values: dict[str, str], where: str) -> Any:
    """`value` with every `${trialParameters.NAME}` replaced (strings at any depth)."""
    if isinstance(value, dict):
        return {k: substitute(v, values, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values, where) for v in value]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            known = ", ".join(sorted(values)) or "none"
            raise ImportProblem(
                where,
                f"{match.group(0)} names no entry of trialTemplate.trialParameters ({known})",
            )
        return values[match.group(1)]

    return _TRIAL_PARAMETER.sub(sub, value)


def unused(names: dict[str, str], pod: dict[str, Any], notes: Notes) -> None:
    text = repr(pod)
    unused = [ours for ours in names.values() if f"${{params.{ours}}}" not in text]
    if unused:
        notes.add(
            "spec.parameters",
            f"{', '.join(unused)}: not referenced by the trial template; the trial gets"
            " them in TRADEOFF_PARAMS (JSON) only",
        )
