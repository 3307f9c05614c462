"""`tradeoff list`: the studies under the workdir root, or (``--cluster``) the Studies of a
namespace, with their state and progress."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from tradeoff.api.status import StudyStatus
from tradeoff.local.formatting import format_metric
from tradeoff.results.common import EXIT_OK, add_cluster_arguments, bad, stdout_console
from tradeoff.results.source import SourceError, StudyView, local_view

__all__ = ["add_arguments", "main"]

COLUMNS = ("study", "state", "progress", "failed", "front", "hypervolume", "recommended", "spent")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="list the Studies of the namespace (kubeconfig) instead of local studies",
    )
    add_cluster_arguments(parser)


def _table(title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in COLUMNS:
        right = name in ("progress", "failed", "front", "hypervolume")
        wraps = name == "recommended"
        table.add_column(
            name, justify="right" if right else "left", overflow="fold", no_wrap=not wraps
        )
    return table


def _values(values: dict[str, float]) -> str:
    return ", ".join(f"{n} {format_metric(n, v)}" for n, v in values.items())


def _local_row(view: StudyView) -> list[str]:
    s = view.summary
    rec = s.recommended
    hv = "" if s.hypervolume is None or len(view.spec.objectives) < 2 else f"{s.hypervolume:.3f}"
    return [
        view.name,
        view.state,
        view.progress,
        str(s.counts.failed),
        str(s.front_size),
        hv,
        "" if rec is None else f"{rec.trial}\n{_values(rec.values)}",
        format_metric("cost", s.totals.cost_usd),
    ]


def _local(args: argparse.Namespace) -> int:
    root: Path = args.root or Path.cwd() / ".tradeoff"
    if not root.is_dir():
        return bad(
            "list",
            f"{root}: no such directory; `tradeoff run STUDY.yaml` makes it, --root names another",
        )
    table = _table(f"Studies in {root}")
    for folder in sorted(p for p in root.iterdir() if (p / "study.json").is_file()):
        try:
            view = local_view(folder)
        except SourceError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            continue
        table.add_row(*(escape(cell) for cell in _local_row(view)))
    stdout_console().print(table)
    return EXIT_OK


def _cluster_row(obj: dict[str, Any]) -> list[str]:
    name = str(obj.get("metadata", {}).get("name", ""))
    try:
        status = StudyStatus.model_validate(obj.get("status") or {})
    except ValidationError:
        return [name, "?", "", "", "", "", "", ""]
    max_trials = (obj.get("spec") or {}).get("budget", {}).get("maxTrials", "?")
    c = status.trials
    rec = status.recommended
    return [
        name,
        status.state,
        status.progress or f"{c.succeeded + c.failed + c.pruned}/{max_trials}",
        str(c.failed),
        str(len(status.pareto_front)),
        "" if status.hypervolume is None else f"{status.hypervolume:.3f}",
        "" if rec is None else f"{rec.trial}\n{_values(rec.values)}",
        format_metric("cost", status.totals.cost_usd),
    ]


def _cluster(args: argparse.Namespace) -> int:
    from tradeoff.results.cluster import connect, list_studies

    try:
        target = connect(args.context, args.namespace)
        studies = list_studies(target)
    except SourceError as exc:
        return bad("list", exc)
    table = _table(f"Studies in namespace {target.namespace} (context {target.context})")
    for obj in studies:
        table.add_row(*(escape(cell) for cell in _cluster_row(obj)))
    stdout_console().print(table)
    return EXIT_OK


def main(args: argparse.Namespace) -> int:
    if args.cluster or args.namespace or args.context:
        if args.root is not None:
            return bad("list", "--root lists local studies; it does not go with --cluster")
        return _cluster(args)
    return _local(args)
