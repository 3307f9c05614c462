"""What every result command shares: how a study is named, opened, and errors reported."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from tradeoff.arguments import path_argument, path_text
from tradeoff.results.source import SourceError, StudyView, is_cluster_ref, local_view, workdir_of

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "add_cluster_arguments",
    "add_study_argument",
    "bad",
    "open_view",
    "stdout_console",
]

EXIT_OK, EXIT_BAD_INPUT = 0, 2

STUDY_HELP = (
    "a local study (a workdir, or a name under the workdir root) or study/NAME for a"
    " Study in the cluster"
)


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=path_argument,
        metavar="DIR",
        help="where local studies live (default: .tradeoff under the current directory)",
    )
    parser.add_argument(
        "-n", "--namespace", help="namespace of study/NAME (default: the context's namespace)"
    )
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")


LOCAL_STUDY_HELP = "a local study (a workdir, or a name under the workdir root)"


def add_study_argument(
    parser: argparse.ArgumentParser, name: str = "study", help: str = STUDY_HELP
) -> None:
    parser.add_argument(name, metavar=name.upper(), type=path_text, help=help)


def open_view(args: argparse.Namespace, ref: str) -> StudyView:
    """The study ``ref`` names (raises SourceError with a one-line message)."""
    if is_cluster_ref(ref):
        from tradeoff.results.cluster import cluster_view, connect  # the kubernetes client

        return cluster_view(ref, connect(args.context, args.namespace))
    view = local_view(workdir_of(ref, args.root))
    for line in view.warnings:
        print(f"warning: {line}", file=sys.stderr)
    return view


def bad(command: str, error: SourceError | str) -> int:
    """Print ``tradeoff COMMAND: message`` on stderr; exit code 2."""
    print(f"tradeoff {command}: {error}", file=sys.stderr)
    return EXIT_BAD_INPUT


def stdout_console() -> Console:
    """A console on stdout; pipes and logs get 120 columns unless COLUMNS says otherwise."""
    out = Console()
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(width=120)
    return out
