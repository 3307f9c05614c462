"""The report's tables and downloads: the search space, every trial, and the trials as
CSV and JSON files embedded in the page (data: links, no script, no network)."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Sequence
from html import escape

from tradeoff.api.space import ParamValue
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import counted_cost
from tradeoff.local.formatting import (
    format_metric,
    format_trial,
)
from tradeoff.local.report.svg import UNITS

_UNCOUNTED = (
    "not recorded: the cost of the attempt that counts is kept only when cost is an objective"
)


def space_table(spec: StudySpec) -> str:
    """Each parameter: its type, range or choices, scale and step, and when it is active."""
    rows = []
    for p in spec.parameters:
        if p.type == "categorical":
            domain = ", ".join(str(v) for v in p.values or [])
        else:
            domain = f"[{p.low:g}, {p.high:g}]"
        scale = ", ".join(
            x for x in ("log" if p.log else "", f"step {p.step:g}" if p.step else "") if x
        )
        when = "; ".join(
            f"{k} in {', '.join(str(v) for v in vs)}" for k, vs in (p.when or {}).items()
        )
        cells = (p.name, p.type, domain, scale, when or "always")
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return (
        "<table><tr><th>parameter</th><th>type</th><th>range or choices</th>"
        f"<th>scale</th><th>active</th></tr>{''.join(rows)}</table>"
    )


def reason(record: Trial) -> str:
    """Why the trial ended as it did; an infeasible one names each bound it broke."""
    s = record.status
    if s.state == "Succeeded" and s.feasible is False:
        # The engine's message names each broken bound (`infeasible: acc=0.4 is below ...`).
        detail = (s.message or "").removeprefix("infeasible: ")
        return f"Infeasible: {detail or 'a constraint is violated'}"
    return ": ".join(x for x in (s.reason, s.message) if x)


def _columns(spec: StudySpec) -> list[str]:
    objectives = [
        f"{o.name} ({UNITS[o.name]})" if o.name in UNITS else o.name for o in spec.objectives
    ]
    return [
        "trial",
        "state",
        *objectives,
        "attempts",
        "duration of all attempts (s)",
        "CPU of all attempts (s)",
        "cost of the counted attempt (USD)",
        "cost of all attempts (USD)",
        "carbon of all attempts (gCO2e)",
        "energy of all attempts (kWh)",
        "parameters",
        "reason",
    ]


def _row(spec: StudySpec, r: Trial) -> list[float | str | None]:
    """One trial's cells, as numbers where they are numbers (None: not known)."""
    s, e = r.status, r.status.economics
    values: list[float | None] = [*s.values] if s.values else [None] * len(spec.objectives)
    return [
        r.metadata.name,
        s.state,
        *values,
        s.attempts,
        e.duration_seconds if e else None,
        e.cpu_seconds if e else None,
        counted_cost(spec, s.values),
        e.cost_usd if e else None,
        e.carbon_grams if e else None,
        e.energy_kwh if e else None,
        format_trial(r, 10_000),
        reason(r),
    ]


def trial_table(
    spec: StudySpec, records: Sequence[Trial], front: set[str], pick: str | None
) -> str:
    """Every trial, the front shaded and the pick starred; numbers carry units in headers."""
    cols = _columns(spec)
    kinds = ["name", "state", *spec.objective_names, "attempts", "duration", "cpu"]
    kinds += ["counted", "cost", "carbon", "energy", "text", "text"]
    rows = []
    for r in records:
        name = r.metadata.name
        cls = "rec" if name == pick else "front" if name in front else ""
        cls += " infeasible" if r.status.feasible is False else ""
        cells = []
        for kind, cell in zip(kinds, _row(spec, r), strict=True):
            if kind == "name":
                cells.append(f"<td>{escape(str(cell))}{' ★' if name == pick else ''}</td>")
            elif kind == "state":
                cells.append(f'<td><span class="{cell}">{cell}</span></td>')
            elif kind == "counted" and cell is None and r.status.values is not None:
                cells.append(f'<td class="n" title="{_UNCOUNTED}">n/a</td>')
            elif kind == "text":
                cells.append(f"<td>{escape(str(cell))}</td>")
            else:
                cells.append(f'<td class="n">{_number(kind, cell)}</td>')
        rows.append(f'<tr class="{cls.strip()}">{"".join(cells)}</tr>')
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    return f'<table class="trials"><tr>{head}</tr>{"".join(rows)}</table>'


def _number(kind: str, value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value)
    if kind in ("counted", "cost", "carbon", "energy"):
        return f"{value:.4g}"
    if kind in ("duration", "cpu"):
        return f"{value:.1f}"
    if kind == "attempts":
        return str(int(value))
    return escape(format_metric(kind, value))


def downloads(spec: StudySpec, records: Sequence[Trial], study_name: str) -> str:
    """Links that save the trials as CSV (one row a trial, one column a parameter) and as
    JSON (the records as stored, sampler state left out), embedded as data: URIs."""
    out = io.StringIO()
    writer = csv.writer(out)
    names = [p.name for p in spec.parameters]
    cols = _columns(spec)
    writer.writerow([*cols[:-2], *(f"param {n}" for n in names), "reason"])
    for r in records:
        row = _row(spec, r)
        params: dict[str, ParamValue] = r.spec.parameters
        cells = ["" if c is None else c for c in row[:-2]]
        writer.writerow([*cells, *(params.get(n, "") for n in names), row[-1]])
    dumped = [
        r.model_dump(mode="json", by_alias=True, exclude={"spec": {"sampler_state"}})
        for r in records
    ]
    data = json.dumps(dumped).encode()  # compact: the C encoder (indent takes the Python one)
    links = (
        (f"{study_name}-trials.csv", "text/csv", out.getvalue().encode()),
        (f"{study_name}-trials.json", "application/json", data),
    )
    return " ".join(
        f'<a class="download" download="{escape(name)}"'
        f' href="data:{mime};base64,{base64.b64encode(body).decode()}">{escape(name)}</a>'
        for name, mime, body in links
    )
