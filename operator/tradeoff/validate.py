"""`tradeoff validate FILE...`: check Study manifests without running anything.

With `--policy LEVEL` (and `--service-account NAME`), the trial template is also checked
against the trial policy a cluster's operator enforces, with the very lines the operator
writes into the Study's `Valid` condition.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tradeoff.api.errors import ManifestError
from tradeoff.api.load import read_manifest
from tradeoff.api.policy import LEVELS, TrialPolicy, problem_lines
from tradeoff.api.study import Study
from tradeoff.arguments import path_text
from tradeoff.engine.validation import validate_study

__all__ = ["add_arguments", "load_study", "main"]


def load_study(path: str | Path) -> Study:
    """The Study in a YAML file, validated; ManifestError lists every problem."""
    return validate_study(read_manifest(path), str(path))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILE", type=path_text, help="Study manifests (YAML)"
    )
    parser.add_argument(
        "--policy",
        choices=LEVELS,
        help="also check the trial template against this trial policy (the Pod Security "
        "Standard the cluster's operator enforces; its default is restricted)",
    )
    parser.add_argument(
        "--service-account",
        action="append",
        metavar="NAME",
        help="a ServiceAccount the trial policy allows (repeatable; default: default)",
    )
    parser.add_argument(
        "--workload-kind",
        action="append",
        metavar="API_VERSION/KIND",
        help="a kind the trial policy allows as trialTemplate.workload, e.g. batch/v1/Job "
        "(repeatable; default: none)",
    )


def main(args: argparse.Namespace) -> int:
    if (args.service_account or args.workload_kind) and args.policy is None:
        flag = "--service-account" if args.service_account else "--workload-kind"
        print(f"tradeoff validate: {flag} needs --policy LEVEL", file=sys.stderr)
        return 2
    kinds = []
    for text in args.workload_kind or ():
        api_version, _, kind = text.rpartition("/")
        if not api_version or not kind:
            print(
                f"tradeoff validate: --workload-kind {text!r} is not API_VERSION/KIND "
                "(e.g. batch/v1/Job)",
                file=sys.stderr,
            )
            return 2
        kinds.append((api_version, kind))
    policy = None
    if args.policy is not None:
        accounts = tuple(args.service_account or ("default",))
        policy = TrialPolicy(args.policy, accounts, tuple(kinds))
    bad = False
    for file in args.files:
        try:
            study = load_study(file)
        except ManifestError as exc:
            bad = True
            for line in exc.problems:
                print(line, file=sys.stderr)
            continue
        problems = policy.trial_template_problems(study.spec.trial_template) if policy else []
        if problems:
            bad = True
            for line in problem_lines(problems):
                print(f"{file}: {line}", file=sys.stderr)
            continue
        meets = f" and meets the trial policy ({policy})" if policy is not None else ""
        print(f"{file}: Study {study.metadata.name} is valid{meets}")
    return 2 if bad else 0
