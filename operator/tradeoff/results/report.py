"""`tradeoff report STUDY`: the HTML report of a local or cluster study, written again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tradeoff.arguments import path_argument
from tradeoff.local.report import write_report
from tradeoff.results.common import (
    EXIT_OK,
    add_cluster_arguments,
    add_study_argument,
    bad,
    open_view,
)
from tradeoff.results.source import SourceError

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=path_argument,
        metavar="PATH",
        help="where to write the report (default: NAME-report.html in the current directory)",
    )
    add_cluster_arguments(parser)


def main(args: argparse.Namespace) -> int:
    try:
        view = open_view(args, args.study)
    except SourceError as exc:
        return bad("report", exc)
    path: Path = args.output or Path(f"{view.name}-report.html")
    if path.is_dir():
        return bad("report", f"--output: {path} is a directory; give a file name")
    try:
        write_report(
            path,
            view.name,
            view.spec,
            view.records,
            view.summary,
            view.headline,
            view.algorithm,
            view.engine.priors_line(view.records),
        )
    except OSError as exc:
        return bad("report", f"--output: cannot write {path} ({exc.strerror or exc})")
    print(f"Report of {view.name} ({view.where}): {path}", file=sys.stderr)
    return EXIT_OK
