"""The `tradeoff` command: run studies locally, look at results, validate, run the operator."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from tradeoff import __version__

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class Command(Protocol):
    """A sub-command module: adds its arguments and runs."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def main(self, args: argparse.Namespace) -> int: ...


COMMANDS = {
    "run": ("tradeoff.local.command", "run a Study locally, trials as processes"),
    "validate": ("tradeoff.validate", "check Study manifests; one line per problem"),
    "crds": ("tradeoff.api.crd", "write the CRDs generated from the API models"),
    "operator": ("tradeoff.kube.command", "run the Kubernetes operator"),
    "show": (
        "tradeoff.results.show",
        "show a study's outcome: its Pareto front and recommended trial",
    ),
    "export": ("tradeoff.results.export", "export a study's trials as CSV, JSON or Optuna"),
    "best": ("tradeoff.results.best", "print the recommended (or best) parameters"),
    "list": ("tradeoff.results.listing", "list local studies, or the Studies of a namespace"),
    "compare": ("tradeoff.results.compare", "compare two studies' fronts and hypervolume"),
    "report": ("tradeoff.results.report", "write the HTML report of a study"),
    "insights": ("tradeoff.results.insights", "what a study's trials show, with the numbers"),
    "propose": ("tradeoff.results.propose", "print the next Study manifest, from the insights"),
    "ensemble": ("tradeoff.results.ensemble", "a greedy ensemble of a local study's trials"),
    "import": ("tradeoff.migrate.command", "a Katib Experiment or OptimizationJob as a Study"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser(commands: dict[str, Command]) -> argparse.ArgumentParser:
    parser = _Parser(prog="tradeoff", description=__doc__, allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"tradeoff {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, module in commands.items():
        # Abbreviated options are refused: `--out` is not silently `--output`.
        p = sub.add_parser(
            name, help=COMMANDS[name][1], description=COMMANDS[name][1], allow_abbrev=False
        )
        module.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    # Import only the sub-command that runs (the operator pulls in kopf, for instance).
    names = [wanted] if wanted in COMMANDS else list(COMMANDS)
    commands: dict[str, Command] = {n: importlib.import_module(COMMANDS[n][0]) for n in names}
    args = build_parser(commands).parse_args(argv)
    try:
        return commands[args.command].main(args)
    except KeyboardInterrupt:
        print("tradeoff: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
