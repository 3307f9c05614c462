"""The HTML report in a real headless browser (Debian's Chromium, over DevTools)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.browser import visit
from tests.report_study import study
from tradeoff.local.report import render_report

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

COUNT_POINTS = """JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(
  svg => [svg.dataset.chart, svg.querySelectorAll('.pt').length,
          Array.from(svg.querySelectorAll('.pt')).filter(p => {
            const b = p.getBoundingClientRect(); return b.width > 0 || b.height > 0;
          }).length]))"""
"""Each chart's name, its points, and how many of them the browser actually lays out."""


def test_the_report_renders_every_chart_with_its_points_and_no_console_error(
    tmp_path: Path,
) -> None:
    """Screenshot: `tmp_path/report.png`, copied to `tests/artifacts/report.png`."""
    spec, records, summary = study()
    page = tmp_path / "report.html"
    page.write_text(render_report("demo", spec, records, summary, "Study demo Succeeded"))
    shot = tmp_path / "report.png"
    seen = visit(page, COUNT_POINTS, shot, tmp_path / "profile")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")

    assert seen.errors == []
    assert seen.requests == [page.as_uri()]  # the page itself, nothing from the network
    charts = {str(c[0]): (int(str(c[1])), int(str(c[2]))) for c in _parsed(seen.result)}
    succeeded = sum(r.state == "Succeeded" for r in records)
    expected = {
        "accuracy vs cost": succeeded,
        "accuracy vs carbon": succeeded,
        "cost vs carbon": succeeded,
        "parallel coordinates": succeeded,
        "history of accuracy": succeeded + 1,  # and the pruned trial's last step
        "history of cost": succeeded,
        "history of carbon": succeeded,
    }
    for name, count in expected.items():
        assert charts[name] == (count, count), name
    for name in ("importance for accuracy", "importance for cost", "importance for carbon"):
        assert charts[name][0] == charts[name][1] > 0, name
    assert shot.stat().st_size > 50_000


def test_the_check_sees_console_errors_and_empty_charts(tmp_path: Path) -> None:
    """The checks above can fail: a page with an error and a chart without points."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><svg class="chart" data-chart="empty"></svg>'
        "<script>console.error('boom'); undefined_call();</script></body></html>"
    )
    seen = visit(page, COUNT_POINTS, tmp_path / "bad.png", tmp_path / "profile")
    assert "boom" in seen.errors and any(
        "ReferenceError" in e or "Uncaught" in e for e in seen.errors
    )
    assert _parsed(seen.result) == [["empty", 0, 0]]


def _parsed(result: object) -> list[list[object]]:
    import json

    assert isinstance(result, str)
    parsed: list[list[object]] = json.loads(result)
    return parsed
