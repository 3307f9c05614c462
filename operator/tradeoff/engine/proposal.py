"""Proposals: the next study's spec, drawn from this study's insights and convergence.

Each rule changes the spec only where an insight (`tradeoff.engine.insights`) supports
it, and says why in a `Change`:

- edge: the best trials sit at one end of a numeric range -> that bound moves out by the
  range's width (a log range by a factor of 10); a range inside [0, 1] is taken as a
  fraction and stays inside it, one at or above 0 stays at or above 0.
- no-effect: the parameter is fixed to the recommended trial's value where the template
  references it, and leaves the space (kept when a `when` names it or it is conditional).
- never-on-front: that categorical value is dropped (never the last one).
- cheaper-resource: a numeric range is narrowed to its cheaper half (the insight's
  median, as it prints it), unless an edge insight moves the same range.
- warmStart.fromStudies gains this study; the budget follows `proposal_budget` (said
  also when it stays).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tradeoff.api.space import Parameter, ParamValue
from tradeoff.api.status import Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.template import format_value
from tradeoff.api.trial import Trial
from tradeoff.engine.insight_data import num
from tradeoff.engine.progress import summarize
from tradeoff.engine.proposal_budget import next_budget

__all__ = ["LOG_FACTOR", "Change", "Proposal", "propose"]

LOG_FACTOR = 10.0
"""A log range's bound at the edge moves out by this factor."""


@dataclass(frozen=True)
class Change:
    """One change of the proposal: the field it touches and why, in one line."""

    field: str
    message: str
    kept: bool = False
    """A change considered and not made (the message says why)."""


@dataclass(frozen=True)
class Proposal:
    spec: dict[str, Any]
    """The next spec, as written in a manifest (camelCase, defaults left out)."""
    changes: list[Change]


def propose(
    spec: StudySpec, records: Sequence[Trial], found: Sequence[Insight], source: dict[str, str]
) -> Proposal:
    """The next spec after a study of `spec` with `records` and insights `found`;
    `source` is this study as a `warmStart.fromStudies` entry ({name[, namespace]})."""
    out = spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    params: dict[str, dict[str, Any]] = {p["name"]: p for p in out["parameters"]}
    changes: list[Change] = []
    by_kind = {k: [i for i in found if i.kind == k] for k in ("edge", "no-effect")}
    recommended = summarize(spec, records).recommended
    best = recommended.parameters if recommended else {}
    for insight in by_kind["no-effect"]:
        changes += _fix(spec, out, params, insight, best)
    for insight in (i for i in found if i.kind == "never-on-front"):
        changes += _drop_value(spec, params, insight)
    sides: dict[str, dict[str, Insight]] = {}
    for insight in by_kind["edge"]:
        sides.setdefault(insight.subject, {}).setdefault(str(insight.evidence["side"]), insight)
    numeric = {n for n, p in params.items() if p["type"] != "categorical"}  # not fixed above
    for name, at in sides.items():
        if name in numeric:
            changes += _widen(spec.parameters[_index(spec, name)], params[name], at)
    for insight in (i for i in found if i.kind == "cheaper-resource"):
        if insight.subject in numeric and insight.subject not in sides:
            changes += _narrow(spec.parameters[_index(spec, insight.subject)], params, insight)
    out["parameters"] = [p for p in out["parameters"] if p["name"] in params]
    changes += _warm_start(out, source, params)
    budget = next_budget(spec, records)
    if budget is not None:
        if budget[0] != spec.budget.max_trials:
            out.setdefault("budget", {})["maxTrials"] = budget[0]
        changes.append(Change("budget.maxTrials", budget[1]))
    return Proposal(out, changes)


def _index(spec: StudySpec, name: str) -> int:
    return next(i for i, p in enumerate(spec.parameters) if p.name == name)


def _fix(
    spec: StudySpec,
    out: dict[str, Any],
    params: dict[str, dict[str, Any]],
    insight: Insight,
    best: dict[str, ParamValue],
) -> list[Change]:
    name = insight.subject
    field = f"parameters.{name}"
    p = spec.parameters[_index(spec, name)]
    users = sorted(q.name for q in spec.parameters if name in (q.when or {}))
    why = insight.message
    if users:
        kept = f"`when` of {', '.join(users)} names it"
        return [Change(field, f"kept (the {kept}); {why}", kept=True)]
    if p.when:
        return [
            Change(
                field,
                f"kept (conditional: a fixed value would reach trials where it is inactive); {why}",
                kept=True,
            )
        ]
    if len(params) == 1 or name not in best:
        reason = "it is the last parameter" if len(params) == 1 else "no recommended trial sets it"
        return [Change(field, f"kept ({reason}); {why}", kept=True)]
    value = best[name]
    pattern = re.compile(r"\$\{params\." + re.escape(name) + r"\}")
    pod, hits = _substitute(out["trialTemplate"]["pod"], pattern, format_value(value))
    if hits == 0:
        params[name].clear()
        params[name].update({"name": name, "type": "categorical", "values": [value]})
        return [
            Change(
                field,
                f"fixed to {value!r} (the recommended trial's value) as a one-value"
                " categorical: the template never references it, trials may read it from"
                f" TRADEOFF_PARAMS; {why}",
            )
        ]
    out["trialTemplate"]["pod"] = pod
    del params[name]
    return [
        Change(
            field,
            f"removed; ${{params.{name}}} fixed to {format_value(value)} (the"
            f" recommended trial's value) in the template; {why}",
        )
    ]


def _substitute(node: Any, pattern: re.Pattern[str], text: str) -> tuple[Any, int]:
    """`node` (JSON-like) with every match of `pattern` in its strings replaced."""
    if isinstance(node, str):
        return pattern.subn(lambda _: text, node)
    if isinstance(node, list):
        done = [_substitute(v, pattern, text) for v in node]
        return [v for v, _ in done], sum(n for _, n in done)
    if isinstance(node, dict):
        pairs = {k: _substitute(v, pattern, text) for k, v in node.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return node, 0


def _drop_value(
    spec: StudySpec, params: dict[str, dict[str, Any]], insight: Insight
) -> list[Change]:
    name, _, shown = insight.subject.partition("=")
    if name not in params or params[name].get("type") != "categorical":
        return []
    field = f"parameters.{name}.values"
    values: list[ParamValue] = params[name]["values"]
    keep = [v for v in values if str(v) != str(insight.evidence.get("value", shown))]
    if len(keep) == len(values):
        return []
    why = insight.message
    if not keep:
        return [Change(field, f"kept {shown} (the only value left); {why}")]
    for q in spec.parameters:
        allowed = (q.when or {}).get(name)
        if allowed is not None and q.name in params and not [v for v in allowed if v in keep]:
            return [Change(field, f"kept {shown} ({q.name} is active only with it); {why}")]
    params[name]["values"] = keep
    for wire in params.values():
        if name in wire.get("when", {}):
            wire["when"][name] = [v for v in wire["when"][name] if v in keep]
    return [Change(field, f"dropped {shown}; {why}")]


def _widen(p: Parameter, wire: dict[str, Any], at: dict[str, Insight]) -> list[Change]:
    assert p.low is not None and p.high is not None
    low, high = p.low, p.high
    width = high - low
    fraction = p.type == "float" and not p.log and low >= 0 and high <= 1
    notes: list[str] = []
    if "low" in at:
        new = low / LOG_FACTOR if p.log else low - width
        if not p.log and low >= 0:
            new = max(new, 0.0)
        low = new
        notes.append(_edge_note("low", at["low"]))
    if "high" in at:
        new = high * LOG_FACTOR if p.log else high + width
        high = min(new, 1.0) if fraction else new
        notes.append(_edge_note("high", at["high"]))
    if p.type == "int":
        low, high = float(int(low)), float(int(high))
    field = f"parameters.{p.name}"
    span = f"[{num(p.low)}, {num(p.high)}]"
    if (low, high) == (p.low, p.high):
        limit = "0..1 (a fraction)" if fraction else ">= 0"
        return [Change(field, f"kept {span}: {'; '.join(notes)}, but it stays within {limit}")]
    for key, value in (("low", low), ("high", high)):
        wire[key] = int(value) if p.type == "int" else value
    how = f"by a factor of {num(LOG_FACTOR)}" if p.log else "by the range's width"
    return [Change(field, f"widened {span} to [{num(low)}, {num(high)}] {how}: {'; '.join(notes)}")]


def _narrow(p: Parameter, params: dict[str, dict[str, Any]], insight: Insight) -> list[Change]:
    """The range cut at the median the cheaper-resource insight split it at."""
    side, _, shown = str(insight.evidence.get("cheaperValues", "")).partition(" ")
    if p.type == "categorical" or side not in ("<=", ">="):
        return []
    assert p.low is not None and p.high is not None
    try:
        middle = float(shown)
    except ValueError:
        return []
    if p.type == "int":
        middle = float(math.floor(middle) if side == "<=" else math.ceil(middle))
    low, high = (p.low, middle) if side == "<=" else (middle, p.high)
    if not low < high or (low, high) == (p.low, p.high):
        return []
    for key, value in (("low", low), ("high", high)):
        params[p.name][key] = int(value) if p.type == "int" else value
    span = f"[{num(p.low)}, {num(p.high)}]"
    return [
        Change(
            f"parameters.{p.name}",
            f"narrowed {span} to [{num(low)}, {num(high)}], its cheaper half; {insight.message}",
        )
    ]


def _edge_note(side: str, insight: Insight) -> str:
    e = insight.evidence
    return (
        f"the {e['topTrials']} best trials for {insight.objective} sit at its {side} edge"
        f" (best {num(float(e['best']))})"
    )


def _warm_start(
    out: dict[str, Any], source: dict[str, str], params: dict[str, dict[str, Any]]
) -> list[Change]:
    warm = out.setdefault("warmStart", {})
    studies: list[dict[str, str]] = warm.setdefault("fromStudies", [])
    changes: list[Change] = []
    for i, point in enumerate(warm.get("trials", [])):
        given: dict[str, Any] = point["parameters"]
        gone = sorted(n for n, v in given.items() if n not in params or not _fits(params[n], v))
        for name in gone:
            del given[name]
        if gone:
            message = f"left out {', '.join(gone)}: fixed, or a dropped value"
            changes.append(Change(f"warmStart.trials[{i}]", message))
    if source not in studies:
        studies.append(source)
        changes.append(
            Change(
                "warmStart.fromStudies", f"added {source['name']}: its trials inform the sampler"
            )
        )
    return changes


def _fits(param: dict[str, Any], value: Any) -> bool:
    return param.get("type") != "categorical" or value in param["values"]
