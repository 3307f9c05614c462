"""Greedy ensembles of a study's best trials against its best single trial.

Per dataset and seed, a CASH study (the space of section 1, TPE, accuracy to maximise)
runs `trial_runner.sklearn` in-process, each trial saving its held-out predictions (class
probabilities) as it would in a pod. Then Caruana's greedy selection (`tradeoff ensemble`'s
engine, 20 rounds with replacement) over the 10 most accurate trials, scored cross-fitted:
chosen on one half of the held-out rows and scored on the other, and the other way round,
against the best single trial chosen the same way. Cost: the distinct members' training
CPU seconds against the best single trial's (an ensemble also predicts with every member).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cash
import _common as c
import numpy as np

from tradeoff.engine.ensemble import Criterion, cross_fitted, greedy
from trial_runner.sklearn import build_parser, run

NAME = "ensemble"
OBJECTIVES = [("accuracy", "maximize")]
TOP = 10
ROUNDS = 20


def one(dataset: str, seed: int, trials: int, criterion: Criterion) -> dict[str, Any]:
    saved: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}

    def evaluate(params: dict[str, Any]) -> tuple[dict[str, float], Any]:
        with tempfile.TemporaryDirectory() as folder, _artifacts_in(folder):
            argv = [f"--dataset={dataset}", "--seed=0", "--predictions=proba"]
            argv += [f"--{k}={v}" for k, v in params.items()]
            started = time.process_time()
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.suppress(ValueError):
                run(build_parser().parse_args(argv))
            cpu = time.process_time() - started
            path = Path(folder) / "predictions.csv"
            if not path.exists():
                return {}, _cash.economics(cpu)
            rows = list(csv.reader(path.open()))
        header, body = rows[0], rows[1:]
        truth = np.array([int(r[1]) for r in body])
        if len(header) > 3:
            scores = np.array([[float(v) for v in r[3:]] for r in body])
        else:  # an SVM: labels only, as votes
            scores = np.eye(int(truth.max()) + 1)[[int(r[2]) for r in body]]
        accuracy = float(np.mean(scores.argmax(axis=1) == truth))
        saved[_key(params)] = (scores, truth, cpu)
        return {"accuracy": accuracy}, _cash.economics(cpu)

    records = c.search("tpe", _cash.SPACE, OBJECTIVES, evaluate, seed, trials)
    done = [r for r in records if r.status.state == "Succeeded" and r.status.values]
    done.sort(key=lambda r: -(r.status.values or [0.0])[0])
    top = [saved[_key(dict(r.spec.parameters))] for r in done[:TOP]]
    widths = {s.shape[1] for s, _, _ in top}
    width = max(widths)
    scores = [np.pad(s, ((0, 0), (0, width - s.shape[1]))) for s, _, _ in top]
    truth = top[0][1]
    ensemble, single = cross_fitted(scores, truth, ROUNDS, criterion)
    selection = greedy(scores, truth, ROUNDS, criterion)
    member_cpu = sum(top[i][2] for i in selection.members)
    return {
        "seed": seed,
        "ensemble": ensemble,
        "best_single": single,
        "gain": ensemble - single,
        "members": len(selection.members),
        "members_cpu": member_cpu,
        "best_cpu": top[0][2],
    }


@contextlib.contextmanager
def _artifacts_in(folder: str) -> Iterator[None]:
    """`save_artifact` writes to `folder` for the duration (the variable restored after:
    this process goes on, e.g. under the test suite)."""
    before = os.environ.get("TRADEOFF_ARTIFACTS")
    os.environ["TRADEOFF_ARTIFACTS"] = folder
    try:
        yield
    finally:
        if before is None:
            del os.environ["TRADEOFF_ARTIFACTS"]
        else:
            os.environ["TRADEOFF_ARTIFACTS"] = before


def _key(params: dict[str, Any]) -> str:
    return repr(sorted(params.items()))


def main(argv: Sequence[str] | None = None) -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--datasets", default="digits,breast_cancer,wine,synthetic")
        parser.add_argument("--trials", type=int, default=30)
        parser.add_argument("--criterion", choices=("accuracy", "log_loss"), default="accuracy")
        parser.add_argument("--name", default=NAME)

    args = c.parse_args(argv, __doc__.splitlines()[0] if __doc__ else NAME, extra)
    seeds = args.seeds or (1 if args.quick else 3)
    trials = 12 if args.quick else args.trials
    results: dict[str, list[dict[str, Any]]] = {}
    rows = []
    for dataset in args.datasets.split(","):
        runs = [one(dataset, seed, trials, args.criterion) for seed in range(seeds)]
        results[dataset] = runs
        rows.append(
            [
                dataset,
                trials,
                c.show(c.stats([r["best_single"] for r in runs])),
                c.show(c.stats([r["ensemble"] for r in runs])),
                c.show(c.stats([r["gain"] for r in runs])),
                c.show(c.stats([r["members"] for r in runs]), digits=0),
                c.show(
                    c.stats([r["members_cpu"] / max(r["best_cpu"], 1e-9) for r in runs]), digits=1
                ),
            ]
        )
        print(f"{dataset}: {rows[-1][2:]}", flush=True)
    headers = [
        "dataset",
        "trials",
        "best single (cross-fitted)",
        "ensemble (cross-fitted)",
        "gain",
        "distinct members",
        "members' CPU / best trial's",
    ]
    c.print_table("Greedy ensembles against the best single trial (median [q1, q3])", headers, rows)
    c.write_results(
        args.out,
        args.name,
        {"criterion": args.criterion, "headers": headers, "rows": rows, "runs": results},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
