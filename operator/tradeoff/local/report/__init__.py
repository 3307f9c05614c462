"""A self-contained HTML report of a study: one file, no script, no network.

`render_report(study_name, spec, records, summary, outcome, algorithm)` returns the page;
`write_report(path, ...)` writes it atomically. The page shows the study's settings (the
constraints, the resolved algorithm, the seed, the search space, the budget), a chart for
every pair of objectives, parallel coordinates, parameter importance, each objective's
history and every trial, with the trials as CSV and JSON downloads embedded in the page.
"""

from __future__ import annotations

from tradeoff.local.report.page import render_report, write_report

__all__ = ["render_report", "write_report"]
