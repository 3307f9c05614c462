"""`tradeoff insights STUDY`: what a study's records show, each with its evidence.

Parameter importance per objective, best values at the edge of a range, parameters with
no measurable effect, categorical values never on the front, a cheaper resource setting
that loses nothing, what pruning would have saved, and measurement noise where
configurations repeat (`tradeoff.engine.insights` says how each is found). A table by
default, or ``--format json`` (a list of {kind, subject, objective, message, evidence}).
"""

from __future__ import annotations

import argparse
import json

from rich.markup import escape
from rich.table import Table

from tradeoff.api.status import Insight
from tradeoff.results.common import (
    EXIT_OK,
    add_cluster_arguments,
    add_study_argument,
    bad,
    open_view,
    stdout_console,
)
from tradeoff.results.source import SourceError

__all__ = ["add_arguments", "insights_table", "main"]

FORMATS = ("table", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    parser.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default table)"
    )
    add_cluster_arguments(parser)


def insights_table(found: list[Insight], title: str) -> Table:
    """The insights as a table: kind, subject, and the message with its numbers."""
    table = Table(title=title, title_justify="left")
    table.add_column("kind", no_wrap=True)
    table.add_column("subject", no_wrap=True)
    table.add_column("insight", overflow="fold")
    for i in found:
        table.add_row(i.kind, escape(i.subject), escape(i.message))
    return table


def main(args: argparse.Namespace) -> int:
    try:
        view = open_view(args, args.study)
    except SourceError as exc:
        return bad("insights", exc)
    found = view.insights
    if args.format == "json":
        print(json.dumps([i.wire() for i in found], indent=2))
        return EXIT_OK
    out = stdout_console()
    succeeded = sum(1 for r in view.records if r.state == "Succeeded")
    head = f"Study {view.name} ({view.where}): {succeeded} succeeded trial{'s' * (succeeded != 1)}"
    if not found:
        out.print(f"{escape(head)}; no insights yet (importance needs 5 succeeded trials)")
        return EXIT_OK
    out.print(insights_table(found, f"{head}; {len(found)} insight{'s' * (len(found) != 1)}"))
    return EXIT_OK
