"""`tradeoff import FILE`: a Katib Experiment or an OptimizationJob as a Study manifest.

The manifest goes to standard output (or `-o FILE`) and is validated as `tradeoff
validate` would; what did not carry over is listed on standard error and in a comment at
the top of the manifest. Bad input is one line on standard error and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tradeoff.api.errors import ManifestError
from tradeoff.api.load import dump_yaml, read_documents
from tradeoff.arguments import output_argument, path_text
from tradeoff.engine.validation import validate_study
from tradeoff.migrate import Conversion, ImportProblem, convert, pick

__all__ = ["add_arguments", "main", "manifest_text"]

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        metavar="FILE",
        type=path_text,
        help="a Katib Experiment (v1beta1) or an OptimizationJob (YAML)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=output_argument,
        metavar="OUT",
        help="write the Study here (default, or -: stdout)",
    )
    parser.add_argument("--name", help="name of the Study (default: the Experiment's name)")


def manifest_text(conversion: Conversion, origin: str) -> str:
    """The Study as YAML under a comment saying where it came from and what changed."""
    lines = [f"# Imported by `tradeoff import` from {origin} ({conversion.source})."]
    if conversion.notes:
        lines.append("# Not carried over as it was:")
        lines += [f"# - {note}" for note in conversion.notes]
    body = dump_yaml(conversion.manifest, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body


def _fail(file: str, message: str) -> int:
    print(f"tradeoff import: {file}: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(args: argparse.Namespace) -> int:
    try:
        document = pick(read_documents(args.file))
    except ManifestError as exc:
        print(f"tradeoff import: {exc.problems[0]}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        conversion = convert(document, args.name)
    except ImportProblem as exc:
        return _fail(args.file, str(exc))
    try:
        study = validate_study(conversion.manifest, "")
    except ManifestError as exc:
        print(f"tradeoff import: {args.file}: the Study it becomes is not valid:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = manifest_text(conversion, Path(args.file).name)
    for note in conversion.notes:
        print(f"tradeoff import: note: {note}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        return _fail(str(args.output), f"cannot write ({exc.strerror or exc})")
    print(f"{args.output}: Study {study.metadata.name} written ({len(conversion.notes)} notes)")
    return EXIT_OK
