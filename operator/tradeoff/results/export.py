"""`tradeoff export STUDY`: every trial as CSV or JSON, or as an Optuna study.

``--format csv`` (default) has one column per parameter, objective, metric and economics
field; ``--format json`` is a list of one object per trial. ``--optuna-storage URL``
writes an Optuna study instead (see `tradeoff.results.optuna_export`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from typing import Any

from tradeoff.arguments import output_argument
from tradeoff.local.files import write_atomically
from tradeoff.results.common import (
    EXIT_OK,
    add_cluster_arguments,
    add_study_argument,
    bad,
    open_view,
)
from tradeoff.results.rows import flat_rows, trial_rows
from tradeoff.results.source import SourceError, StudyView

__all__ = ["add_arguments", "main", "render"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    parser.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="output format (default csv)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=output_argument,
        metavar="PATH",
        help="write to PATH instead of stdout (- is stdout)",
    )
    parser.add_argument(
        "--optuna-storage",
        metavar="URL",
        help="write an Optuna study to this storage instead, e.g. sqlite:///study.db",
    )
    parser.add_argument(
        "--optuna-study", metavar="NAME", help="name of the Optuna study (default: the study's)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an Optuna study of the same name in the storage",
    )
    add_cluster_arguments(parser)


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as null: JSON has no such numbers, and the
    ``NaN`` that ``json.dumps`` writes by default is refused by strict readers (jq)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def render(view: StudyView, fmt: str) -> str:
    """The trials of ``view`` as CSV or JSON text."""
    if fmt == "json":
        return json.dumps(_finite(trial_rows(view)), indent=2) + "\n"
    columns, rows = flat_rows(view)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None, JSON for a mapping or list (`economics.sources`)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(_finite(value), sort_keys=True)
    return value


def main(args: argparse.Namespace) -> int:
    if args.optuna_storage is None and (args.optuna_study or args.overwrite):
        return bad("export", "--optuna-study and --overwrite go with --optuna-storage URL")
    try:
        view = open_view(args, args.study)
    except SourceError as exc:
        return bad("export", exc)
    if args.optuna_storage is not None:
        from tradeoff.results.optuna_export import ExportError, write_optuna_study

        try:
            written = write_optuna_study(
                view, args.optuna_storage, args.optuna_study, overwrite=args.overwrite
            )
        except ExportError as exc:
            return bad("export", str(exc))
        print(written, file=sys.stderr)
        return EXIT_OK
    text = render(view, args.format)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomically(args.output, text)
    except OSError as exc:
        return bad("export", f"--output: cannot write {args.output} ({exc.strerror or exc})")
    print(f"{len(view.records)} trials written to {args.output}", file=sys.stderr)
    return EXIT_OK
