"""The HTML report: its charts, settings, trial table and downloads, read from the page."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest

from tests import report_study
from tests.report_study import OUTLIER, RESUMED, study
from tradeoff.api import Trial
from tradeoff.engine import param_importances, pareto_front, running_best
from tradeoff.engine.importance import MIN_TRIALS
from tradeoff.engine.insights import insights
from tradeoff.local.report import render_report


class Charts(HTMLParser):
    """Each chart's points by class (`pt` elements inside each `<svg class="chart">`)."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "svg" and "chart" in classes:
            self.current = a["data-chart"] or ""
            self.charts[self.current] = []
        elif self.current is not None and "pt" in classes:
            self.charts[self.current].append(classes)
        elif tag == "a" and "download" in classes:
            self.links[a["download"] or ""] = a["href"] or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.current = None


@pytest.fixture(scope="module")
def page() -> tuple[str, Charts, list[Trial]]:
    spec, records, summary = study()
    html = render_report("demo", spec, records, summary, "Study demo Succeeded")
    charts = Charts()
    charts.feed(html)
    return html, charts, records


def test_every_pair_of_objectives_has_a_chart_with_the_front_and_the_pick(
    page: tuple[str, Charts, list[Trial]],
) -> None:
    _, charts, records = page
    spec = report_study.spec()
    front = pareto_front(spec, records)
    succeeded = [r for r in records if r.state == "Succeeded"]
    pairs = ["accuracy vs cost", "accuracy vs carbon", "cost vs carbon"]
    assert [c for c in charts.charts if " vs " in c] == pairs
    for name in pairs:
        points = charts.charts[name]
        assert len(points) == len(succeeded)
        assert sum("pick" in p for p in points) == 1
        # Every trial of the (three-objective) front is marked in every pair's chart.
        assert sum("front" in p or "pick" in p for p in points) == len(front)
        assert sum("infeasible" in p for p in points) == 1
        assert not any("out" in p for p in points if "front" in p or "pick" in p)


def test_parallel_coordinates_draw_each_succeeded_trial_across_parameters_and_objectives(
    page: tuple[str, Charts, list[Trial]],
) -> None:
    html, charts, records = page
    lines = charts.charts["parallel coordinates"]
    assert len(lines) == sum(r.state == "Succeeded" for r in records)
    assert sum("pick" in p for p in lines) == 1 and sum("infeasible" in p for p in lines) == 1
    assert not any("out" in p for p in lines if "front" in p or "pick" in p)
    axes = re.search(r'data-chart="parallel coordinates".*?</svg>', html)
    assert axes is not None
    for label in (
        "lr",
        "depth",
        "kind",
        "leaves",
        "accuracy ↑",
        "cost (USD) ↓",
        "carbon (gCO2e) ↓",
    ):
        assert f">{label}</text>" in axes.group(0)


def test_out_of_range_points_are_marked(page: tuple[str, Charts, list[Trial]]) -> None:
    html, charts, _ = page
    # The outlier's cost and carbon lie far beyond the others: drawn at the edge, marked.
    for name in ("accuracy vs cost", "cost vs carbon", "history of carbon"):
        assert any("out" in p for p in charts.charts[name]), name
    assert "outside the axes, drawn at the edge" in html
    assert any("out" in p for p in charts.charts["parallel coordinates"])
    assert f"demo-{OUTLIER:04d}" in html


def test_infeasible_trials_stand_apart_and_never_make_a_running_best() -> None:
    spec, records, _ = study()
    infeasible = next(r for r in records if r.status.feasible is False)
    assert infeasible.status.values is not None
    infeasible.status.values[0] = 0.999  # better than every feasible accuracy
    best = running_best(spec, records, 0)
    assert all(n != infeasible.number for n, _ in best)
    feasible = [
        (r.status.values or [])[0] for r in records if r.state == "Succeeded" and r.status.feasible
    ]
    assert best[-1][1] == max(feasible) < 0.999
    html = render_report("demo", spec, records, report_study.Engine(spec).summarize(records), "x")
    charts = Charts()
    charts.feed(html)
    history = charts.charts["history of accuracy"]
    assert sum("infeasible" in p for p in history) == 1
    assert 'class="best"' in html


def test_settings_are_shown(page: tuple[str, Charts, list[Trial]]) -> None:
    html, _, _ = page
    assert "<dt>Constraints</dt><dd>accuracy ≥ 0.6</dd>" in html
    assert "<dt>Algorithm</dt><dd>random (set in spec.algorithm.name)</dd>" in html
    assert "<dt>Seed</dt><dd>7</dd>" in html
    assert "<dt>Budget</dt><dd>24 trials, 2 at once, the study fails after 5 failed" in html
    assert "timeout 30m" in html
    assert "<td>lr</td><td>float</td><td>[0.0001, 0.1]</td><td>log</td><td>always</td>" in html
    assert "<td>leaves</td><td>int</td><td>[2, 64]</td><td></td><td>kind in tree</td>" in html


def test_importance_is_drawn_per_objective_or_said_to_be_missing(
    page: tuple[str, Charts, list[Trial]],
) -> None:
    _, charts, records = page
    spec = report_study.spec()
    found = param_importances(spec, records)
    assert found.reason is None and set(found.by_objective) == {"accuracy", "cost", "carbon"}
    # depth drives accuracy (0.2 / depth) and duration, hence cost and carbon.
    assert max(found.by_objective["accuracy"], key=found.by_objective["accuracy"].__getitem__) == (
        "depth"
    )
    for name in ("accuracy", "cost", "carbon"):
        bars = charts.charts[f"importance for {name}"]
        assert len(bars) == len(found.by_objective[name]) >= 2
    few = records[: MIN_TRIALS - 1]
    assert param_importances(spec, few).reason == (
        f"not enough trials: {MIN_TRIALS - 1} succeeded, {MIN_TRIALS} needed"
    )
    small = render_report("demo", spec, few, report_study.Engine(spec).summarize(few), "x")
    assert "Parameter importance: not enough trials" in small


def test_trial_table_has_units_and_tells_the_two_costs_apart(
    page: tuple[str, Charts, list[Trial]],
) -> None:
    html, _, records = page
    headers = re.findall(r"<th>([^<]*)</th>", html.split('class="trials"')[1])
    for h in (
        "accuracy",
        "cost (USD)",
        "carbon (gCO2e)",
        "duration of all attempts (s)",
        "CPU of all attempts (s)",
        "cost of the counted attempt (USD)",
        "cost of all attempts (USD)",
    ):
        assert h in headers
    assert "s" not in headers and "CPU s" not in headers and headers.count("cost (USD)") == 1
    resumed = records[RESUMED]
    row = re.search(rf"<tr[^>]*><td>demo-{RESUMED:04d}.*?</tr>", html)
    assert row is not None and resumed.status.economics is not None
    counted, total = (resumed.status.values or [])[1], resumed.status.economics.cost_usd
    assert counted < total
    assert f">{counted:.4g}<" in row.group(0) and f">{total:.4g}<" in row.group(0)
    assert "Infeasible: accuracy=0.42 is below its min 0.6" in html
    assert "Infeasible infeasible" not in html


def test_trials_download_as_csv_and_json(page: tuple[str, Charts, list[Trial]]) -> None:
    _, charts, records = page
    as_csv = _decoded(charts.links["demo-trials.csv"], "text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [r["trial"] for r in rows] == [r.metadata.name for r in records]
    assert rows[OUTLIER]["param depth"] == str(records[OUTLIER].spec.parameters["depth"])
    assert float(rows[0]["accuracy"]) == pytest.approx((records[0].status.values or [])[0])
    dumped: list[dict[str, Any]] = json.loads(
        _decoded(charts.links["demo-trials.json"], "application/json")
    )
    assert [Trial.model_validate(d) for d in dumped][RESUMED].status == records[RESUMED].status


def test_the_page_is_self_contained(page: tuple[str, Charts, list[Trial]]) -> None:
    html, _, _ = page
    assert "<script" not in html and "<link" not in html and "<img" not in html
    without_data = re.sub(r'href="data:[^"]*"', "", html)
    assert "http" not in without_data.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _decoded(href: str, mime: str) -> str:
    prefix = f"data:{mime};base64,"
    assert href.startswith(prefix)
    return base64.b64decode(href[len(prefix) :]).decode()


def test_one_objective_no_trials_and_only_failures_render() -> None:
    from tests.factories import make_spec

    spec = make_spec(objectives=[{"name": "accuracy", "direction": "maximize"}])
    empty = render_report("one", spec, [], report_study.Engine(spec).summarize([]), "none")
    assert "Parameter importance: not enough trials: 0 succeeded" in empty
    assert 'class="chart"' not in empty
    failed = Trial.new("one", 0, {"x": 0.5, "y": 0.5})
    failed.status.state, failed.status.reason, failed.status.message = "Failed", "Error", "boom"
    html = render_report("one", spec, [failed], report_study.Engine(spec).summarize([failed]), "")
    assert "Error: boom" in html and 'class="chart"' not in html
    full, records, _ = study()
    spec = full.model_copy(update={"objectives": full.objectives[:1]})
    one = [r.model_copy(deep=True) for r in records]
    for r in one:
        r.status.values = r.status.values[:1] if r.status.values else None
    page = render_report("one", spec, one, report_study.Engine(spec).summarize(one), "done")
    charts = Charts()
    charts.feed(page)
    assert " vs " not in "".join(charts.charts)  # no pairs with one objective
    assert len(charts.charts["history of accuracy"]) > 0
    assert len(charts.charts["parallel coordinates"]) == sum(r.state == "Succeeded" for r in one)
    # The counted attempt's cost is not recorded when cost is not an objective: said so.
    assert 'title="not recorded: the cost of the attempt that counts' in page


def test_the_insights_are_listed(page: tuple[str, Charts, list[Trial]]) -> None:
    html, _, records = page
    found = insights(report_study.spec(), records)
    assert found and found[0].kind == "importance"
    section = html.split("<h2>Insights</h2>", 1)[1].split("<h2>", 1)[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", section)
    assert [(k, s, unescape(m)) for k, s, m in rows] == [
        (i.kind, i.subject, i.message) for i in found
    ]
    spec = report_study.spec()
    few = records[: MIN_TRIALS - 1]
    small = render_report("demo", spec, few, report_study.Engine(spec).summarize(few), "x")
    assert "None yet: importance needs 5 succeeded trials." in small


def test_without_analysis_the_page_skips_insights_and_importance_and_says_how_to_add_them(
    page: tuple[str, Charts, list[Trial]],
) -> None:
    spec, records, summary = study()
    html = render_report("demo", spec, records, summary, "Study demo Succeeded", analyse=False)
    charts = Charts()
    charts.feed(html)
    assert not [name for name in charts.charts if name.startswith("importance for")]
    assert '<table class="insights">' not in html
    assert html.count('class="not-analysed"') == 2
    assert "<code>tradeoff report STUDY</code>" in html and "--insights</code>" in html
    full = page[0]
    assert 'class="not-analysed"' not in full and '<table class="insights">' in full
    # Everything else is the same page.
    assert charts.charts.keys() <= page[1].charts.keys()
    assert "pair" in html and 'data-chart="parallel coordinates"' in html


def test_the_run_command_imports_neither_scipy_nor_scikit_learn() -> None:
    """`tradeoff run` starts without them (the report's analysis imports them when asked)."""
    import subprocess
    import sys

    code = (
        "import sys, tradeoff.local.command; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
