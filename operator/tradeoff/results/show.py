"""`tradeoff show STUDY`: the outcome, Pareto front, recommended trial and totals again,
and the study's most important insights where there are any."""

from __future__ import annotations

import argparse

from rich.markup import escape

from tradeoff.api.status import INSIGHTS_CAP
from tradeoff.local.result_tables import show_result
from tradeoff.results.common import (
    EXIT_OK,
    add_cluster_arguments,
    add_study_argument,
    bad,
    open_view,
    stdout_console,
)
from tradeoff.results.insights import insights_table
from tradeoff.results.source import SourceError

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    add_cluster_arguments(parser)


def main(args: argparse.Namespace) -> int:
    try:
        view = open_view(args, args.study)
    except SourceError as exc:
        return bad("show", exc)
    out = stdout_console()
    out.print(f"[bold]Study {escape(view.name)}[/]  ({escape(view.where)})", highlight=False)
    ensemble = next((r for r in view.records if r.is_ensemble), None)
    made = "" if ensemble is None else f"; Ensemble trial {ensemble.status.state}"
    out.print(f"Progress: {view.progress} trials finished{made}", highlight=False)
    show_result(
        out,
        view.spec,
        view.records,
        view.summary,
        escape(view.headline),
        view.algorithm,
        view.engine.priors,
        view.engine.priors_line(view.records),
    )
    found = view.insights
    if found:
        more = len(found) - INSIGHTS_CAP
        title = "Insights" + (
            f" (top {INSIGHTS_CAP}; `tradeoff insights` lists all)" if more > 0 else ""
        )
        out.print(insights_table(found[:INSIGHTS_CAP], title))
    return EXIT_OK
