"""The report's charts: every pair of objectives, each objective's history, parallel
coordinates of parameters and objectives, and parameter importance.

What is on the front and which trial is recommended come from the engine (the caller
passes them in); the charts only draw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from html import escape

from tradeoff.api.space import Parameter
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Importance, running_best
from tradeoff.local.formatting import (
    format_metric,
    format_trial,
)
from tradeoff.local.report.svg import (
    BEST,
    FRONT,
    GREY,
    INFEASIBLE,
    RED,
    Axes,
    bulk_range,
    diamond,
    objective_label,
    svg,
)

PC_WIDTH, PC_HEIGHT, PC_PAD = 1000, 380, 60


def _tip(spec: StudySpec, record: Trial) -> str:
    values = ", ".join(
        f"{n} {format_metric(n, v)}"
        for n, v in zip(spec.objective_names, record.status.values or [], strict=False)
    )
    flag = "" if record.status.feasible is not False else " [infeasible]"
    return f"{record.metadata.name}{flag}: {values}; {format_trial(record, 200)}"


def _kind(record: Trial, front: set[str], pick: str | None) -> str:
    if record.status.feasible is False:
        return "infeasible"
    name = record.metadata.name
    return "pick" if name == pick else "front" if name in front else "other"


def pair_chart(
    spec: StudySpec, done: Sequence[Trial], front: set[str], pick: str | None, i: int, j: int
) -> str:
    """Objective i against objective j: every succeeded trial, the front, the pick ringed."""
    vals = [(r.status.values or [])[:] for r in done]
    kept = [(v[i], v[j]) for r, v in zip(done, vals, strict=True) if r.metadata.name in front]
    axes = Axes(
        [v[i] for v in vals],
        [v[j] for v in vals],
        objective_label(spec, i),
        objective_label(spec, j),
        kept,
    )
    parts = axes.frame()
    order = {"infeasible": 0, "other": 1, "front": 2, "pick": 3}
    for r in sorted(done, key=lambda r: order[_kind(r, front, pick)]):
        v = r.status.values or []
        parts.append(axes.point(v[i], v[j], _kind(r, front, pick), _tip(spec, r)))
    return svg(parts, f"{spec.objectives[i].name} vs {spec.objectives[j].name}")


def history_chart(spec: StudySpec, records: Sequence[Trial], index: int) -> str:
    """One objective per trial number; the running best of feasible trials as a step line."""
    done = sorted(
        (r for r in records if r.state == "Succeeded" and r.status.values), key=lambda r: r.number
    )
    if not done:
        return ""
    values = [(r.number, (r.status.values or [])[index], r) for r in done]
    running = running_best(spec, records, index)
    last = max(r.number for r in records)
    pruned = [
        (r.number, r.status.intermediate[-1])
        for r in records
        if r.state == "Pruned" and r.status.intermediate
        if spec.objectives[index].name == spec.pruning_metric
    ]
    keep: list[tuple[float, float]] = [*running, (last, running[-1][1])] if running else []
    axes = Axes(
        [n for n, _, _ in values] + [n for n, _ in pruned],
        [v for _, v, _ in values] + [s.value for _, s in pruned],
        "trial",
        objective_label(spec, index),
        keep,
    )
    parts = axes.frame()
    if running:
        steps = [(axes.x(n), axes.y(b)) for n, b in [*running, (last, running[-1][1])]]
        path = [f"{steps[0][0]:.1f},{steps[0][1]:.1f}"] + [
            f"{b[0]:.1f},{a[1]:.1f} {b[0]:.1f},{b[1]:.1f}" for a, b in itertools.pairwise(steps)
        ]
        parts.append(
            f'<polyline class="best" points="{" ".join(path)}" fill="none" stroke="{BEST}"'
            ' stroke-width="2"/>'
        )
    for number, at in pruned:
        name = next(r.metadata.name for r in records if r.number == number)
        tip = f"{name}: pruned at step {at.step} ({at.value:.4g})"
        parts.append(axes.point(number, at.value, "pruned", tip, 3.5))
    for number, value, r in values:
        kind = "infeasible" if r.status.feasible is False else "front"
        parts.append(axes.point(number, value, kind, _tip(spec, r), 3.2))
    return svg(parts, f"history of {spec.objectives[index].name}")


def _scale(p: Parameter, value: object) -> float | None:
    """A parameter value as a share of its axis (0 bottom, 1 top); None if not set."""
    if value is None:
        return None
    if p.type == "categorical":
        choices = [repr(c) for c in p.values or []]
        where = choices.index(repr(value)) if repr(value) in choices else 0
        return (where + 0.5) / max(len(choices), 1)
    assert p.low is not None and p.high is not None
    x = float(value)  # type: ignore[arg-type]
    if p.log:
        return (math.log(x) - math.log(p.low)) / (math.log(p.high) - math.log(p.low))
    return (x - p.low) / (p.high - p.low)


def parallel_chart(
    spec: StudySpec, done: Sequence[Trial], front: set[str], pick: str | None
) -> str:
    """Parallel coordinates: one axis per parameter then per objective, a line per trial."""
    names = [p.name for p in spec.parameters] + [
        objective_label(spec, i) for i in range(len(spec.objectives))
    ]
    count = len(names)
    gap = (PC_WIDTH - 2 * PC_PAD) / max(count - 1, 1)
    top, bottom = 24, PC_HEIGHT - 44
    ends = [
        bulk_range(
            [(r.status.values or [])[i] for r in done],
            [(r.status.values or [])[i] for r in done if r.metadata.name in front],
        )
        for i in range(len(spec.objectives))
    ]
    lows, highs = [e[0] for e in ends], [e[1] for e in ends]
    parts = []
    for k, name in enumerate(names):
        x = PC_PAD + k * gap
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="#9aa3ad"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{escape(name)}</text>'
        )
        low, high = _axis_ends(spec, k, lows, highs)
        parts.append(f'<text x="{x + 4:.1f}" y="{top - 6}">{escape(high)}</text>')
        parts.append(f'<text x="{x + 4:.1f}" y="{bottom + 30}">{escape(low)}</text>')
    order = {"infeasible": 0, "other": 1, "front": 2, "pick": 3}
    for r in sorted(done, key=lambda r: order[_kind(r, front, pick)]):
        shares = [_scale(p, r.spec.parameters.get(p.name)) for p in spec.parameters]
        tip, out, clipped = _tip(spec, r), "", []
        for i, v in enumerate(r.status.values or []):
            span = highs[i] - lows[i]
            share = (v - lows[i]) / span if span > 0 else 0.5
            if not 0 <= share <= 1:
                tip += f" ({spec.objectives[i].name} outside the axis, drawn at its end)"
                out = " out"
                k = len(spec.parameters) + i
                clipped.append(diamond(PC_PAD + k * gap, top if share > 1 else bottom, 5))
            shares.append(min(max(share, 0.0), 1.0))
        points = " ".join(
            f"{PC_PAD + k * gap:.1f},{bottom - s * (bottom - top):.1f}"
            for k, s in enumerate(shares)
            if s is not None
        )
        kind = _kind(r, front, pick)
        colour, width, dash = {
            "infeasible": (INFEASIBLE, 1, ' stroke-dasharray="4 3"'),
            "other": (GREY, 1, ""),
            "front": (FRONT, 1.8, ""),
            "pick": (RED, 3, ""),
        }[kind]
        parts.append(
            f'<polyline class="pt {kind}{out}" points="{points}" fill="none" stroke="{colour}"'
            f' stroke-width="{width}" stroke-opacity="0.8"{dash}><title>{escape(tip)}'
            "</title></polyline>" + "".join(clipped)
        )
    return svg(parts, "parallel coordinates", PC_WIDTH, PC_HEIGHT)


def _axis_ends(
    spec: StudySpec, k: int, lows: Sequence[float], highs: Sequence[float]
) -> tuple[str, str]:
    if k >= len(spec.parameters):
        i = k - len(spec.parameters)
        return f"{lows[i]:.4g}", f"{highs[i]:.4g}"  # beyond: lines drawn at the end, marked
    p = spec.parameters[k]
    if p.type == "categorical":
        values = [str(v) for v in p.values or []]
        return values[0], values[-1]
    return f"{p.low:g}", f"{p.high:g}" + (" (log)" if p.log else "")


def importance_chart(spec: StudySpec, importance: Importance, name: str) -> str:
    """Horizontal bars: the share of the objective's variance each parameter explains."""
    shares = importance.by_objective.get(name, {})
    if not shares:
        return ""
    row, left, width = 22, 150, 420
    height = 30 + row * len(shares)
    parts = [f'<text x="{left}" y="16">importance for {escape(name)} (fANOVA)</text>']
    for k, (param, share) in enumerate(sorted(shares.items(), key=lambda kv: -kv[1])):
        y = 24 + k * row
        parts.append(
            f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{escape(param)}</text>'
            f'<rect class="pt" x="{left}" y="{y}" width="{max(share * width, 1):.1f}"'
            f' height="{row - 6}" fill="{FRONT}"><title>{escape(param)}: {share:.3f}</title></rect>'
            f'<text x="{left + share * width + 6:.1f}" y="{y + 13}">{share:.2f}</text>'
        )
    return svg(parts, f"importance for {name}", left + width + 60, height)
