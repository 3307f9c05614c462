"""How values, parameters and choices read, in the terminal and in the report alike.

A metric with its unit (`format_metric`), a trial's parameters or an Ensemble trial's
members cut to a width (`format_trial`, `format_recommended`), the algorithm a study
runs and why (escaped for rich's markup), and why the selection policy recommends the
trial it does. `tradeoff run`'s display, `tradeoff results` and the HTML report all use
these words.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.markup import escape

from tradeoff.api.space import ParamValue
from tradeoff.api.status import AlgorithmChoice, Recommendation
from tradeoff.api.study import StudySpec
from tradeoff.api.template import format_value
from tradeoff.api.trial import Trial

__all__ = [
    "algorithm_line",
    "format_members",
    "format_metric",
    "format_parameters",
    "format_recommended",
    "format_trial",
    "selection_reason",
]


def format_metric(name: str, value: float) -> str:
    """A metric value with its unit for the built-in ones."""
    if name == "cost":
        return f"${value:.3g}"
    if name == "carbon":
        return f"{value:.3g} g"
    if name == "energy":
        return f"{value:.3g} kWh"
    if name == "duration":
        return f"{value:.1f} s"
    return f"{value:.4g}"


def format_parameters(parameters: Mapping[str, ParamValue], limit: int | None = 60) -> str:
    """``name=value`` pairs (floats to 3 significant digits), cut at ``limit`` characters
    (``None``: whole; tables wrap them instead)."""
    parts = [
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={format_value(v)}"
        for k, v in parameters.items()
    ]
    text = " ".join(parts)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def format_members(members: Mapping[str, float], limit: int | None = 60) -> str:
    """An Ensemble trial's members and weights: ``Ensemble of a:0.50 b:0.25 ...``."""
    text = "Ensemble of " + " ".join(f"{t}:{w:.2f}" for t, w in members.items())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def format_trial(record: Trial, limit: int | None = 60) -> str:
    """A trial's parameters, or an Ensemble trial's members."""
    if record.is_ensemble:
        ensemble = record.status.ensemble
        members = {m.trial: m.weight for m in ensemble.members} if ensemble else {}
        return format_members(members, limit)
    return format_parameters(record.spec.parameters, limit)


def format_recommended(rec: Recommendation, limit: int | None = 60) -> str:
    """The recommended trial's parameters, or its members when it is an ensemble."""
    if rec.members is not None:
        return format_members(rec.members, limit)
    return format_parameters(rec.parameters, limit)


def algorithm_line(algorithm: AlgorithmChoice) -> str:
    """`Algorithm: tpe (auto: categorical or conditional parameters)`."""
    return f"Algorithm: {algorithm.name} ({escape(algorithm.reason)})"


def selection_reason(spec: StudySpec) -> str:
    """Why the selection policy picks the trial it picks, in words."""
    sel = spec.selection
    names = spec.objective_names
    if len(names) == 1:
        return f"the best {names[0]} (one objective: the front is the best trial)"
    if sel.policy == "knee":
        return "the front point nearest the ideal point, each objective scaled to [0, 1]"
    if sel.policy == "weighted-sum":
        weights = ", ".join(f"{k} {v:g}" for k, v in (sel.weights or {}).items())
        return f"the smallest weighted sum of the scaled objectives ({weights})"
    if sel.policy == "epsilon-constraint":
        limits = ", ".join(
            f"{c.metric}{' <= ' + format(c.max, 'g') if c.max is not None else ''}"
            f"{' >= ' + format(c.min, 'g') if c.min is not None else ''}"
            for c in spec.constraints
        )
        best = sel.objective or names[0]
        return f"the best {best} on the feasible front" + (f" ({limits})" if limits else "")
    return "best by " + " then ".join(sel.order or names)
