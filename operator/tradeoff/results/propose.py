"""`tradeoff propose STUDY`: the next Study manifest, drawn from this study's insights.

Ranges widened where the best trials sit at an edge, parameters without effect fixed,
categorical values never on the front dropped, a warm start from this study and a
budget from its convergence (`tradeoff.engine.proposal` says how); every change is
listed in a comment at the top. The manifest is validated before it is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tradeoff.api.errors import ManifestError
from tradeoff.api.load import dump_yaml
from tradeoff.arguments import output_argument
from tradeoff.engine.proposal import Proposal, propose
from tradeoff.engine.validation import validate_study
from tradeoff.results.common import (
    EXIT_OK,
    add_cluster_arguments,
    add_study_argument,
    bad,
    open_view,
)
from tradeoff.results.source import SourceError, StudyView, is_cluster_ref, workdir_of

__all__ = ["add_arguments", "main", "manifest_text", "next_name"]

EXIT_FAILED = 1
NAME_MAX = 52


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=output_argument,
        metavar="FILE",
        help="write the manifest here (default, or -: stdout)",
    )
    parser.add_argument("--name", help="name of the next Study (default NAME-2, NAME-3, ...)")
    add_cluster_arguments(parser)


def next_name(name: str) -> str:
    """`svm` -> `svm-2`, `svm-2` -> `svm-3` (kept within a Study name's length)."""
    match = re.fullmatch(r"(.*)-(\d+)", name)
    base, n = (match.group(1), int(match.group(2)) + 1) if match else (name, 2)
    suffix = f"-{n}"
    return base[: NAME_MAX - len(suffix)].rstrip("-") + suffix


def manifest_text(document: dict[str, object], proposal: Proposal, origin: str) -> str:
    """The manifest as YAML under a comment listing every change and its reason."""
    lines = [f"# Proposed by `tradeoff propose` from {origin}."]
    lines += ["# Changes, and why:"] if proposal.changes else ["# No changes beyond the name."]
    lines += [f"# - {c.field}: {c.message}" for c in proposal.changes]
    body = dump_yaml(document, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body


def _source(view: StudyView, args: argparse.Namespace) -> dict[str, str]:
    """This study as a warmStart.fromStudies entry the next study resolves the same way."""
    if is_cluster_ref(args.study):
        return {"name": view.name, **({"namespace": args.namespace} if args.namespace else {})}
    workdir = workdir_of(args.study, args.root)
    root = args.root if args.root is not None else Path.cwd() / ".tradeoff"
    if workdir.resolve().parent == root.resolve():
        return {"name": workdir.name}
    return {"name": str(workdir.resolve())}


def main(args: argparse.Namespace) -> int:
    try:
        view = open_view(args, args.study)
        source = _source(view, args)
    except SourceError as exc:
        return bad("propose", exc)
    succeeded = sum(1 for r in view.records if r.state == "Succeeded")
    if succeeded == 0:
        return bad("propose", f"{args.study}: no succeeded trials yet; run the study first")
    proposal = propose(view.spec, view.records, view.insights, source)
    name = args.name or next_name(view.name)
    document: dict[str, object] = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": name},
        "spec": proposal.spec,
    }
    try:
        validate_study(document, f"proposal for {name}")
    except ManifestError as exc:
        return bad("propose", f"the proposal does not validate: {exc.problems[0]}")
    text = manifest_text(document, proposal, f"{succeeded} succeeded trials of {view.where}")
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        return bad("propose", f"{args.output}: cannot write ({exc.strerror or exc})")
    made = sum(not c.kept for c in proposal.changes)
    kept = len(proposal.changes) - made
    also = f", {kept} considered and kept (see the comments)" if kept else ""
    print(f"{args.output}: Study {name}, {made} change{'s' * (made != 1)}{also}")
    return EXIT_OK
