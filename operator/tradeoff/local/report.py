"""A self-contained HTML report of a study: Pareto front, history and every trial.

One file, no scripts, no external resources: charts are inline SVG (hover a point for
its trial), styles are inline CSS, so the page opens anywhere and can be attached as is.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Summary
from tradeoff.local.display import format_metric, format_parameters, selection_reason
from tradeoff.local.store import write_atomically

__all__ = ["render_report", "write_report"]

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 44
GREY, FRONT, BEST, RED = "#b8bec6", "#1f6fd1", "#e07b00", "#d62728"

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d232b}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
.facts dt{color:#5b6470}.facts dd{margin:0}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #e3e6ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.front{background:#eef4fc}tr.rec{background:#fff3e0}
.Failed{color:#b42318}.Pruned{color:#9a6700}.Succeeded{color:#1a7f37}
svg{background:#fafbfc;border:1px solid #e3e6ea}svg text{font-size:11px;fill:#5b6470}
.legend span{margin-right:1.2rem}
"""


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


class _Axes:
    """Maps data to pixels and draws the frame, ticks and labels of one chart."""

    def __init__(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        xlabel: str,
        ylabel: str,
        keep: Sequence[tuple[float, float]] = (),
    ) -> None:
        """Axes over the bulk of the points (outliers sit on the border), ``keep`` in view."""
        self.x0, self.x1 = _padded(_bulk(xs, [k[0] for k in keep]))
        self.y0, self.y1 = _padded(_bulk(ys, [k[1] for k in keep]))
        self.xlabel, self.ylabel = xlabel, ylabel

    def inside(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def x(self, value: float) -> float:
        value = min(max(value, self.x0), self.x1)
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        value = min(max(value, self.y0), self.y1)
        return HEIGHT - BOTTOM - (value - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)

    def frame(self) -> list[str]:
        out = [
            f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}"'
            f' height="{HEIGHT - TOP - BOTTOM}" fill="white" stroke="#d0d5db"/>'
        ]
        for t in _ticks(self.x0, self.x1):
            px = self.x(t)
            out.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"'
                ' stroke="#eef0f2"/>'
            )
            out.append(
                f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{t:.3g}</text>'
            )
        for t in _ticks(self.y0, self.y1):
            py = self.y(t)
            out.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}"'
                ' stroke="#eef0f2"/>'
            )
            out.append(f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{t:.3g}</text>')
        out.append(
            f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}"'
            f' text-anchor="middle">{escape(self.xlabel)}</text>'
        )
        out.append(
            f'<text transform="translate(14 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)"'
            f' text-anchor="middle">{escape(self.ylabel)}</text>'
        )
        return out


def _bulk(values: Sequence[float], keep: Sequence[float]) -> list[float]:
    """The values between the 5th and 95th percentile with ``keep``: outliers would
    squeeze the interesting part of a chart into a corner."""
    ordered = sorted(values)
    if len(ordered) >= 20:
        cut = len(ordered) // 20
        ordered = ordered[cut : len(ordered) - cut]
    return [*ordered, *keep]


def _padded(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or abs(low) * 0.1 or 1.0
    return low - pad, high + pad


def _svg(parts: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}"'
        f' height="{HEIGHT}" role="img" aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )


def _dot(x: float, y: float, r: float, fill: str, title: str, stroke: str = "none") -> str:
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{stroke}"'
        f' stroke-width="2"><title>{escape(title)}</title></circle>'
    )


def _label(spec: StudySpec, index: int) -> str:
    o = spec.objectives[index]
    unit = {"cost": " (USD)", "carbon": " (gCO2e)", "energy": " (kWh)", "duration": " (s)"}
    return f"{o.name}{unit.get(o.name, '')} {'↑' if o.direction == 'maximize' else '↓'}"


def _tip(spec: StudySpec, record: Trial) -> str:
    values = ", ".join(
        f"{n} {format_metric(n, v)}"
        for n, v in zip(spec.objective_names, record.status.values or [], strict=False)
    )
    return f"{record.metadata.name}: {values}; {format_parameters(record.spec.parameters, 200)}"


def front_chart(spec: StudySpec, records: Sequence[Trial], summary: Summary) -> str:
    """Scatter of the first two objectives: all trials grey, the front blue, the pick ringed."""
    done = [r for r in records if r.state == "Succeeded" and r.status.values]
    if len(spec.objectives) < 2 or not done:
        return ""
    on_front = {p.trial for p in summary.front}
    pick = summary.recommended.trial if summary.recommended else None
    points = [(r.status.values[0], r.status.values[1]) for r in done if r.status.values]
    kept = [
        (r.status.values[0], r.status.values[1])
        for r in done
        if r.status.values and r.metadata.name in on_front
    ]
    axes = _Axes(
        [p[0] for p in points], [p[1] for p in points], _label(spec, 0), _label(spec, 1), kept
    )
    parts = axes.frame()
    for r in sorted(done, key=lambda r: r.metadata.name in on_front):
        v = r.status.values or [0.0, 0.0]
        front = r.metadata.name in on_front
        fill = FRONT if front else GREY if r.status.feasible is not False else "white"
        ring = RED if r.metadata.name == pick else GREY if r.status.feasible is False else "none"
        radius = 7 if r.metadata.name == pick else 5 if front else 4
        tip = _tip(spec, r) + ("" if axes.inside(v[0], v[1]) else " (outside the axes)")
        parts.append(_dot(axes.x(v[0]), axes.y(v[1]), radius, fill, tip, ring))
    return _svg(parts, "Pareto front")


def history_chart(spec: StudySpec, records: Sequence[Trial], index: int) -> str:
    """One objective per trial number, with the running best as a step line."""
    done = sorted(
        (r for r in records if r.state == "Succeeded" and r.status.values), key=lambda r: r.number
    )
    if not done:
        return ""
    values = [(r.number, (r.status.values or [])[index], r) for r in done]
    pick = max if spec.objectives[index].direction == "maximize" else min
    running: list[tuple[float, float]] = []
    for number, value, _ in values:
        running.append((number, value if not running else pick(running[-1][1], value)))
    last = max(r.number for r in records)
    pruned = [
        (r.number, r.status.intermediate[-1], r)
        for r in records
        if r.state == "Pruned" and r.status.intermediate
        if spec.objectives[index].name == spec.pruning_metric
    ]
    axes = _Axes(
        [n for n, _, _ in values] + [n for n, _, _ in pruned],
        [v for _, v, _ in values] + [s.value for _, s, _ in pruned],
        "trial",
        _label(spec, index),
        [*running, (last, running[-1][1])],
    )
    parts = axes.frame()
    best = running[-1][1]
    steps = [f"{axes.x(n):.1f},{axes.y(b):.1f}" for n, b in running]
    for number, at, record in pruned:
        tip = f"{record.metadata.name}: pruned at step {at.step} ({at.value:.4g})"
        parts.append(_dot(axes.x(number), axes.y(at.value), 3.5, "white", tip, GREY))
    for number, value, record in values:
        tip = _tip(spec, record) + ("" if axes.inside(number, value) else " (outside the axes)")
        parts.append(_dot(axes.x(number), axes.y(value), 4, FRONT, tip))
    steps.append(f"{axes.x(last):.1f},{axes.y(best):.1f}")
    stepped = [steps[0]] + [
        f"{b.split(',')[0]},{a.split(',')[1]} {b}" for a, b in itertools.pairwise(steps)
    ]
    parts.append(
        f'<polyline points="{" ".join(stepped)}" fill="none" stroke="{BEST}" stroke-width="2"/>'
    )
    return _svg(parts, f"history of {spec.objectives[index].name}")


def _trial_rows(spec: StudySpec, records: Sequence[Trial], summary: Summary) -> str:
    on_front = {p.trial for p in summary.front}
    pick = summary.recommended.trial if summary.recommended else None
    rows = []
    for r in records:
        s, e = r.status, r.status.economics
        cls = "rec" if r.metadata.name == pick else "front" if r.metadata.name in on_front else ""
        values: list[float | None] = [*s.values] if s.values else [None] * len(spec.objectives)
        cells = [
            escape(r.metadata.name) + (" ★" if r.metadata.name == pick else ""),
            f'<span class="{s.state}">{s.state}</span>',
            *(
                f'<td class="n">{format_metric(n, v) if v is not None else ""}</td>'
                for n, v in zip(spec.objective_names, values, strict=True)
            ),
        ]
        measured = [
            f"{e.duration_seconds:.1f}" if e else "",
            f"{e.cpu_seconds:.1f}" if e and e.cpu_seconds is not None else "",
            format_metric("cost", e.cost_usd) if e else "",
            format_metric("carbon", e.carbon_grams) if e else "",
        ]
        why = " ".join(x for x in (s.reason, s.message) if x)
        rows.append(
            f'<tr class="{cls}"><td>{cells[0]}</td><td>{cells[1]}</td>{"".join(cells[2:])}'
            + "".join(f'<td class="n">{m}</td>' for m in measured)
            + f"<td>{escape(format_parameters(r.spec.parameters, 400))}</td>"
            f"<td>{escape(why)}</td></tr>"
        )
    head = "".join(f"<th>{escape(n)}</th>" for n in spec.objective_names)
    return (
        f"<table><tr><th>trial</th><th>state</th>{head}<th>s</th><th>CPU s</th><th>cost</th>"
        f"<th>carbon</th><th>parameters</th><th>reason</th></tr>{''.join(rows)}</table>"
    )


def render_report(
    study_name: str,
    spec: StudySpec,
    records: Sequence[Trial],
    summary: Summary,
    outcome: str,
    algorithm: AlgorithmChoice | None = None,
) -> str:
    """The report as one HTML document."""
    t, c = summary.totals, summary.counts
    rec = summary.recommended
    facts = {
        "Outcome": outcome,
        "Trials": f"{c.created} created: {c.succeeded} succeeded, {c.failed} failed,"
        f" {c.pruned} pruned, {c.cancelled} cancelled, {c.running + c.pending} unfinished",
        "Pareto front": f"{summary.front_size} trials"
        + (f", hypervolume {summary.hypervolume:.3f}" if summary.hypervolume is not None else ""),
        "Recommended": "none yet"
        if rec is None
        else f"{rec.trial} ({rec.policy}: {selection_reason(spec)}): "
        + ", ".join(f"{n} {format_metric(n, v)}" for n, v in rec.values.items())
        + f"; {format_parameters(rec.parameters, 400)}",
        "Spent": f"{format_metric('cost', t.cost_usd)}, {format_metric('energy', t.energy_kwh)},"
        f" {format_metric('carbon', t.carbon_grams)}CO2e",
    }
    if algorithm is not None:
        facts["Algorithm"] = f"{algorithm.name} ({algorithm.reason})"
    facts_html = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    front = front_chart(spec, records, summary)
    legend = (
        '<p class="legend"><span style="color:#1f6fd1">● Pareto front</span>'
        '<span style="color:#8a939e">● other trials (hollow: infeasible)</span>'
        '<span style="color:#d62728">◯ recommended</span></p>'
    )
    histories = "".join(history_chart(spec, records, i) for i in range(len(spec.objectives)))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Tradeoff study {escape(study_name)}</title><style>{_CSS}</style></head><body>"
        f'<h1>Study {escape(study_name)}</h1><dl class="facts">{facts_html}</dl>'
        + (
            f"<h2>Pareto front ({escape(_label(spec, 0))} vs {escape(_label(spec, 1))})</h2>"
            f"{legend}{front}"
            if front
            else ""
        )
        + "<h2>Optimisation history</h2><p>Each objective per trial; the line is the running"
        " best; hollow grey points are pruned trials at their last reported step.</p>"
        + histories
        + f"<h2>All trials</h2>{_trial_rows(spec, records, summary)}"
        f"<p><small>Generated by tradeoff on {generated}.</small></p></body></html>\n"
    )


def write_report(
    path: Path,
    study_name: str,
    spec: StudySpec,
    records: Sequence[Trial],
    summary: Summary,
    outcome: str,
    algorithm: AlgorithmChoice | None = None,
) -> None:
    """Write the report to ``path`` (atomically)."""
    write_atomically(path, render_report(study_name, spec, records, summary, outcome, algorithm))
