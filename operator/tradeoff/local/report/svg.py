"""SVG building blocks of the report: axes with ticks, point markers, the chart frame.

Every plotted trial is one element of class `pt` inside an `<svg class="chart">`, so a
reader (or a test) can count a chart's points; a point outside the axes is drawn at the
edge as a diamond of class `out` and says where it really is in its tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from tradeoff.api.study import StudySpec

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 44
GREY, FRONT, BEST, RED, INFEASIBLE = "#b8bec6", "#1f6fd1", "#e07b00", "#d62728", "#8a939e"
UNITS = {"cost": "USD", "carbon": "gCO2e", "energy": "kWh", "duration": "s"}


def objective_label(spec: StudySpec, index: int) -> str:
    """`cost (USD) ↓`: the objective, its unit when built in, and which way is better."""
    o = spec.objectives[index]
    unit = f" ({UNITS[o.name]})" if o.name in UNITS else ""
    return f"{o.name}{unit} {'↑' if o.direction == 'maximize' else '↓'}"


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _bulk(values: Sequence[float], keep: Sequence[float]) -> list[float]:
    """The values between the 5th and 95th percentile with `keep`: outliers would squeeze
    the interesting part of a chart into a corner (they are drawn at the edge, marked)."""
    ordered = sorted(values)
    if len(ordered) >= 20:
        cut = len(ordered) // 20
        ordered = ordered[cut : len(ordered) - cut]
    return [*ordered, *keep]


def bulk_range(values: Sequence[float], keep: Sequence[float] = ()) -> tuple[float, float]:
    """The low and high end of the bulk of `values` (outliers left out), `keep` in view."""
    bulk = _bulk(values, keep)
    return min(bulk), max(bulk)


def _padded(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or abs(low) * 0.1 or 1.0
    return low - pad, high + pad


class Axes:
    """Maps data to pixels and draws the frame, ticks and labels of one chart."""

    def __init__(
        self,
        xs: Sequence[float],
        ys: Sequence[float],
        xlabel: str,
        ylabel: str,
        keep: Sequence[tuple[float, float]] = (),
    ) -> None:
        """Axes over the bulk of the points (outliers sit on the border), `keep` in view."""
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

    def point(self, x: float, y: float, kind: str, title: str, size: float = 4.0) -> str:
        """A trial's marker at (x, y); outside the axes a diamond at the edge."""
        inside = self.inside(x, y)
        if not inside:
            title += f" (outside the axes, drawn at the edge: {x:.4g}, {y:.4g})"
        return marker(self.x(x), self.y(y), kind, title, size, inside)

    def frame(self) -> list[str]:
        w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        out = [
            f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="white" stroke="#d0d5db"/>'
        ]
        for t in ticks(self.x0, self.x1):
            px = self.x(t)
            out.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"'
                ' stroke="#eef0f2"/>'
                f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{t:.3g}</text>'
            )
        for t in ticks(self.y0, self.y1):
            py = self.y(t)
            out.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}"'
                ' stroke="#eef0f2"/>'
                f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{t:.3g}</text>'
            )
        out.append(
            f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 8}"'
            f' text-anchor="middle">{escape(self.xlabel)}</text>'
            f'<text transform="translate(14 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)"'
            f' text-anchor="middle">{escape(self.ylabel)}</text>'
        )
        return out


_STYLE = {
    # kind: (fill, stroke, radius factor)
    "front": (FRONT, "none", 1.25),
    "pick": (FRONT, RED, 1.75),
    "other": (GREY, "none", 1.0),
    "pruned": ("white", GREY, 0.9),
}


def marker(px: float, py: float, kind: str, title: str, size: float, inside: bool = True) -> str:
    """One point of class `pt` (and `kind`, and `out` when clipped to the edge).

    Infeasible trials are crosses (never dots), so they stand apart from every ranking.
    """
    tip = f"<title>{escape(title)}</title>"
    cls = f"pt {kind}" + ("" if inside else " out")
    if kind == "infeasible":
        d = size
        shape = (
            f'<path d="M{px - d:.1f},{py - d:.1f}L{px + d:.1f},{py + d:.1f}'
            f'M{px - d:.1f},{py + d:.1f}L{px + d:.1f},{py - d:.1f}"'
            f' stroke="{INFEASIBLE}" stroke-width="1.6"/>'
        )
        if not inside:
            shape += diamond(px, py, size + 2, "none", "#1d232b")
        return f'<g class="{cls}">{tip}{shape}</g>'
    fill, stroke, factor = _STYLE[kind]
    r = size * factor
    if not inside:
        ring = "#1d232b" if stroke == "none" else stroke
        return f'<g class="{cls}">{tip}{diamond(px, py, r + 1, fill, ring)}</g>'
    return (
        f'<g class="{cls}">{tip}<circle cx="{px:.1f}" cy="{py:.1f}" r="{r:g}" fill="{fill}"'
        f' stroke="{stroke}" stroke-width="2"/></g>'
    )


def diamond(px: float, py: float, r: float, fill: str = "none", stroke: str = "#1d232b") -> str:
    """The mark of a value beyond its axis, drawn at the axis' end."""
    return (
        f'<path d="M{px:.1f},{py - r:.1f}L{px + r:.1f},{py:.1f}L{px:.1f},{py + r:.1f}'
        f'L{px - r:.1f},{py:.1f}Z" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
    )


def svg(parts: Sequence[str], label: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    """A chart: `<svg class="chart">` named `label` for screen readers and tests."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(label)}"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{escape(label)}">' + "".join(parts) + "</svg>"
    )
