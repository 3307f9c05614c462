"""`tradeoff validate FILE...`: check Study manifests without running anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tradeoff.api.errors import ManifestError
from tradeoff.api.load import read_manifest
from tradeoff.api.study import Study
from tradeoff.engine.validation import validate_study

__all__ = ["add_arguments", "load_study", "main"]


def load_study(path: str | Path) -> Study:
    """The Study in a YAML file, validated; ManifestError lists every problem."""
    return validate_study(read_manifest(path), str(path))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="Study manifests (YAML)")


def main(args: argparse.Namespace) -> int:
    bad = False
    for file in args.files:
        try:
            study = load_study(file)
        except ManifestError as exc:
            bad = True
            for line in exc.problems:
                print(line, file=sys.stderr)
            continue
        print(f"{file}: Study {study.metadata.name} is valid")
    return 2 if bad else 0
