"""The report page: facts about the study, its charts, its trials and their downloads."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Summary, param_importances, pareto_front, resolve_algorithm
from tradeoff.engine.importance import Importance
from tradeoff.engine.insights import insights
from tradeoff.local.files import write_atomically
from tradeoff.local.formatting import format_metric, format_recommended, selection_reason
from tradeoff.local.report.charts import (
    history_chart,
    importance_chart,
    pair_chart,
    parallel_chart,
)
from tradeoff.local.report.svg import UNITS
from tradeoff.local.report.tables import downloads, space_table, trial_table

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#1d232b}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
.facts dt{color:#5b6470}.facts dd{margin:0}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #e3e6ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.front{background:#eef4fc}tr.rec{background:#fff3e0}tr.infeasible td{color:#6b7280}
.Failed{color:#b42318}.Pruned{color:#9a6700}.Succeeded{color:#1a7f37}
svg{background:#fafbfc;border:1px solid #e3e6ea;margin:0 .5rem .5rem 0}
svg text{font-size:11px;fill:#5b6470}
.legend span{margin-right:1.2rem}.pairs svg{max-width:49%;height:auto}a.download{margin-right:1rem}
"""

_LEGEND = (
    '<p class="legend"><span style="color:#1f6fd1">● Pareto front</span>'
    '<span style="color:#d62728">◉ recommended</span>'
    '<span style="color:#8a939e">● other feasible trials</span>'
    '<span style="color:#8a939e">&#215; infeasible (never on the front or in a running best)</span>'
    "<span>◆ outside the axes, drawn at the edge (hover for its value)</span></p>"
)


def _facts(
    spec: StudySpec, summary: Summary, outcome: str, algorithm: AlgorithmChoice, warm_line: str
) -> dict[str, str]:
    t, c, rec = summary.totals, summary.counts, summary.recommended
    budget = spec.budget
    constraints = [
        f"{k.metric}{' ≥ ' + format(k.min, 'g') if k.min is not None else ''}"
        f"{' ≤ ' + format(k.max, 'g') if k.max is not None else ''}"
        f"{' ' + UNITS[k.metric] if k.metric in UNITS else ''}"
        for k in spec.constraints
    ]
    stopping = spec.early_stopping
    facts = {
        "Outcome": outcome,
        "Trials": f"{c.created} created: {c.succeeded} succeeded, {c.failed} failed,"
        f" {c.pruned} pruned, {c.cancelled} cancelled, {c.running + c.pending} unfinished",
        "Objectives": ", ".join(f"{o.direction} {o.name}" for o in spec.objectives),
        "Constraints": "; ".join(constraints) or "none",
        "Algorithm": f"{algorithm.name} ({algorithm.reason})",
        "Seed": str(spec.algorithm.seed)
        if spec.algorithm.seed is not None
        else "none (not reproducible)",
        "Early stopping": stopping.algorithm
        + (f" on {spec.pruning_metric}" if stopping.algorithm != "none" else ""),
        "Budget": f"{budget.max_trials} trials, {budget.parallelism} at once, the study fails"
        f" after {budget.max_failed_trials} failed trials, timeout {budget.timeout or 'none'}"
        + ("; goal " + ", ".join(f"{k} {v:g}" for k, v in spec.goal.items()) if spec.goal else ""),
        "Pareto front": f"{summary.front_size} trials"
        + (f", hypervolume {summary.hypervolume:.3f}" if summary.hypervolume is not None else ""),
        "Recommended": "none yet"
        if rec is None
        else f"{rec.trial} ({rec.policy}: {selection_reason(spec)}): "
        + ", ".join(f"{n} {format_metric(n, v)}" for n, v in rec.values.items())
        + f"; {format_recommended(rec, 400)}",
        "Spent": f"{format_metric('cost', t.cost_usd)}, {format_metric('energy', t.energy_kwh)},"
        f" {format_metric('carbon', t.carbon_grams)}CO2e",
    }
    if warm_line:
        facts["Warm start"] = warm_line
    return facts


NOT_ANALYSED = (
    "Not computed by <code>tradeoff run</code> (SciPy, scikit-learn and fANOVA cost about"
    " two seconds of CPU): <code>tradeoff report STUDY</code> or <code>tradeoff run"
    " --insights</code> adds {what}."
)


def _insights(spec: StudySpec, records: Sequence[Trial], importance: Importance) -> str:
    found = insights(spec, records, importance=importance)
    if not found:
        return '<p class="insights-none">None yet: importance needs 5 succeeded trials.</p>'
    rows = "".join(
        f"<tr><td>{escape(i.kind)}</td><td>{escape(i.subject)}</td><td>{escape(i.message)}</td></tr>"
        for i in found
    )
    return (
        "<p>What the trials show, most important first, each with its numbers"
        " (<code>tradeoff insights</code> prints them too).</p>"
        f'<table class="insights"><tr><th>kind</th><th>subject</th><th>insight</th></tr>'
        f"{rows}</table>"
    )


def _importance(spec: StudySpec, found: Importance) -> str:
    if found.reason is not None:
        return f'<p class="importance-none">Parameter importance: {escape(found.reason)}.</p>'
    charts = "".join(importance_chart(spec, found, n) for n in spec.objective_names)
    return (
        f"<p>The share of each objective's variance a parameter explains (Optuna's fANOVA"
        f" over {found.trials} of {found.succeeded} succeeded trials, spread by number;"
        " parameters set in only some trials are"
        f" left out).</p>{charts}"
    )


def render_report(
    study_name: str,
    spec: StudySpec,
    records: Sequence[Trial],
    summary: Summary,
    outcome: str,
    algorithm: AlgorithmChoice | None = None,
    warm_line: str = "",
    *,
    analyse: bool = True,
) -> str:
    """The report of a study as one self-contained HTML document (inline SVG and CSS, no
    script, no network).

    `records` are all the study's trials, `summary` the engine's (`Engine.summarize`),
    `outcome` a one-line headline, `algorithm` the one the study recorded when it started
    (resolved from the spec when not given); without `analyse` the insights and parameter
    importance are left out, with a line saying how to add them.
    """
    if algorithm is None:
        algorithm = resolve_algorithm(spec)
    front = {r.metadata.name for r in pareto_front(spec, records)}
    pick = summary.recommended.trial if summary.recommended else None
    done = sorted(
        (r for r in records if r.state == "Succeeded" and r.status.values), key=lambda r: r.number
    )
    facts = "".join(
        f"<dt>{k}</dt><dd>{escape(v)}</dd>"
        for k, v in _facts(spec, summary, outcome, algorithm, warm_line).items()
    )
    body = [f'<h1>Study {escape(study_name)}</h1><dl class="facts">{facts}</dl>']
    body.append(f"<h2>Search space</h2>{space_table(spec)}")
    m = len(spec.objectives)
    if m >= 2 and done:
        pairs = "".join(
            pair_chart(spec, done, front, pick, i, j)
            for i, j in itertools.combinations(range(m), 2)
        )
        body.append(
            "<h2>Trade-offs: every pair of objectives</h2>"
            f'{_LEGEND}<div class="pairs">{pairs}</div>'
        )
    if done:
        body.append(
            "<h2>Parallel coordinates</h2><p>One line per succeeded trial across its"
            " parameters and objectives (top: the high end of each axis); blue the front, red"
            " the recommended trial, dashed grey infeasible.</p>"
            + parallel_chart(spec, done, front, pick)
        )
    if analyse:
        importance = param_importances(spec, records)
        body.append(f"<h2>Insights</h2>{_insights(spec, records, importance)}")
        body.append(f"<h2>Parameter importance</h2>{_importance(spec, importance)}")
    else:
        for title, what in (("Insights", "them"), ("Parameter importance", "it")):
            note = NOT_ANALYSED.format(what=what)
            body.append(f'<h2>{title}</h2><p class="not-analysed">{note}</p>')
    body.append(
        "<h2>Optimisation history</h2><p>Each objective per trial; the line is the running"
        " best of feasible trials; crosses are infeasible trials, hollow points pruned trials"
        " at their last reported step.</p>"
        + "".join(history_chart(spec, records, i) for i in range(m))
    )
    body.append(
        f"<h2>All trials</h2><p>Download: {downloads(spec, records, study_name)}</p>"
        "<p>Objective values come from the attempt that counts (the last); the economics"
        " columns add up every attempt of the trial, failed or interrupted ones included.</p>"
        + trial_table(spec, records, front, pick)
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Tradeoff study {escape(study_name)}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + f"<p><small>Generated by tradeoff on {generated}.</small></p></body></html>\n"
    )


def write_report(
    path: Path,
    study_name: str,
    spec: StudySpec,
    records: Sequence[Trial],
    summary: Summary,
    outcome: str,
    algorithm: AlgorithmChoice | None = None,
    warm_line: str = "",
    *,
    analyse: bool = True,
) -> None:
    """Write the report to `path` (atomically); `warm_line` says what the prior trials are."""
    report = render_report(
        study_name, spec, records, summary, outcome, algorithm, warm_line, analyse=analyse
    )
    write_atomically(path, report)
