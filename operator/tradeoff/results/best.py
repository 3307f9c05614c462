"""`tradeoff best STUDY`: the recommended parameters, for the next step of a pipeline.

``--objective NAME`` takes the feasible trial with the best NAME instead. Formats:

- ``yaml`` (default), ``json``: the parameters as a mapping.
- ``env``: ``TRADEOFF_PARAM_<NAME>=value`` lines (the name upper-cased, characters other
  than letters, digits and ``_`` as ``_``) and ``TRADEOFF_PARAMS`` with their JSON, the
  variable trials get; shell-quoted, so ``eval "$(tradeoff best S --format env)"`` works.
- ``args``: ``--name=value`` tokens, as the built-in workloads take them (values written
  as ``${params.NAME}`` writes them), shell-quoted on one line.

Which trial it is goes to stderr, so stdout holds only the parameters. Exit code 1 when
the study has no feasible succeeded trial yet, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys

from tradeoff.api.load import dump_yaml
from tradeoff.api.space import ParamValue
from tradeoff.api.template import format_value
from tradeoff.engine import best_for
from tradeoff.local.formatting import format_metric
from tradeoff.results.common import (
    EXIT_OK,
    add_cluster_arguments,
    add_study_argument,
    bad,
    open_view,
)
from tradeoff.results.source import SourceError

__all__ = ["add_arguments", "env_name", "main", "render"]

EXIT_NO_TRIAL = 1
FORMATS = ("yaml", "json", "env", "args")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    parser.add_argument(
        "--format", choices=FORMATS, default="yaml", help="output format (default yaml)"
    )
    parser.add_argument(
        "--objective",
        metavar="NAME",
        help="the best feasible trial for this objective instead of the recommended one",
    )
    add_cluster_arguments(parser)


def env_name(parameter: str) -> str:
    """``learning-rate`` -> ``TRADEOFF_PARAM_LEARNING_RATE``."""
    return "TRADEOFF_PARAM_" + re.sub(r"[^A-Z0-9_]", "_", parameter.upper())


def render(parameters: dict[str, ParamValue], fmt: str) -> str:
    """The parameters in one of FORMATS, ending with a newline."""
    if fmt == "json":
        return json.dumps(parameters, indent=2) + "\n"
    if fmt == "yaml":
        return dump_yaml(parameters, sort_keys=False)
    if fmt == "env":
        lines = [f"{env_name(k)}={shlex.quote(format_value(v))}" for k, v in parameters.items()]
        lines.append(f"TRADEOFF_PARAMS={shlex.quote(json.dumps(parameters))}")
        return "\n".join(lines) + "\n"
    return shlex.join(f"--{k}={format_value(v)}" for k, v in parameters.items()) + "\n"


def main(args: argparse.Namespace) -> int:
    try:
        view = open_view(args, args.study)
    except SourceError as exc:
        return bad("best", exc)
    names = view.spec.objective_names
    if args.objective is not None and args.objective not in names:
        return bad(
            "best",
            f"--objective: {view.name} has no objective {args.objective!r} ({', '.join(names)})",
        )
    if args.objective is None:
        rec = view.summary.recommended
        if rec is None:
            print(
                f"tradeoff best: {view.name} has no feasible succeeded trial yet", file=sys.stderr
            )
            return EXIT_NO_TRIAL
        trial, parameters, values = rec.trial, rec.parameters, rec.values
        why = f"recommended ({rec.policy})"
        if rec.members is not None:  # an ensemble: its members' parameters are theirs
            why += "; an Ensemble of " + ", ".join(f"{t} ({w:.2f})" for t, w in rec.members.items())
    else:
        best = best_for(view.spec, view.records, args.objective)
        if best is None:
            print(
                f"tradeoff best: {view.name} has no feasible succeeded trial yet", file=sys.stderr
            )
            return EXIT_NO_TRIAL
        trial, parameters = best.metadata.name, dict(best.spec.parameters)
        values = dict(zip(names, best.status.values or [], strict=True))
        why = f"best {args.objective}"
    shown = ", ".join(f"{n} {format_metric(n, v)}" for n, v in values.items())
    print(f"# {trial}: {why}; {shown}", file=sys.stderr)
    sys.stdout.write(render(parameters, args.format))
    return EXIT_OK
