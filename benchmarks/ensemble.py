"""Greedy ensembles of a study's best trials against its best single trial.

Per dataset and seed, a CASH study (the space of section 1, TPE, accuracy to maximise)
runs `trial_runner.sklearn` in-process, each trial saving its held-out predictions (class
probabilities) as it would in a pod. Then the study's Ensemble trial is made as
`spec.ensemble: {size: 20, from: {top: 10}}` makes it (the engine's rule, selection and
record, `tradeoff.engine.ensembles`): its recorded accuracy (on the held-out rows it was
chosen on, as the study shows it) against the best trial's, its cross-fitted accuracy
(chosen on one half of the rows, scored on the other, both ways) against the best single
trial chosen the same way, its cost (its members' summed cost) against the best trial's,
and whether it stands on the study's front. ``synthetic:N`` is the generated data with N
samples.
"""

from __future__ import annotations

import contextlib
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

from tradeoff.api.ensemble import EnsembleSpec
from tradeoff.engine import ensembles
from tradeoff.engine.ensemble import Criterion
from tradeoff.engine.ensemble_selection import PREDICTIONS, Predictions, parse_predictions, select
from tradeoff.engine.progress import StopDecision, summarize
from trial_runner.sklearn import build_parser, run

NAME = "ensemble"
OBJECTIVES = [("accuracy", "maximize")]
TOP = 10
ROUNDS = 20


def one(dataset: str, seed: int, trials: int, criterion: Criterion) -> dict[str, Any]:
    name, _, samples = dataset.partition(":")
    saved: dict[str, bytes] = {}

    def evaluate(params: dict[str, Any]) -> tuple[dict[str, float], Any]:
        with tempfile.TemporaryDirectory() as folder, _artifacts_in(folder):
            argv = [f"--dataset={name}", "--seed=0", "--predictions=proba"]
            argv += [f"--n_samples={samples}"] if samples else []
            argv += [f"--{k}={v}" for k, v in params.items()]
            started = time.process_time()
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.suppress(ValueError):
                run(build_parser().parse_args(argv))
            cpu = time.process_time() - started
            path = Path(folder) / PREDICTIONS
            if not path.exists():
                return {}, _cash.economics(cpu)
            content = path.read_bytes()
        parsed = parse_predictions("x", content)
        assert not isinstance(parsed, str), parsed
        accuracy = float(np.mean(np.array(parsed.labels) == np.array(parsed.truth)))
        saved[_key(params)] = content
        return {"accuracy": accuracy}, _cash.economics(cpu)

    records = c.search("tpe", _cash.SPACE, OBJECTIVES, evaluate, seed, trials)
    done = [r for r in records if r.status.state == "Succeeded" and r.status.values]
    spec = c.study_spec(_cash.SPACE, OBJECTIVES, "tpe", seed, trials)
    spec = spec.model_copy(
        update={"ensemble": EnsembleSpec.model_validate(
            {"size": ROUNDS, "from": {"top": TOP}, "criterion": criterion})}
    )  # fmt: skip
    # The Ensemble trial as the feature makes it: the engine's rule, selection and record.
    made = ensembles.due(spec, "bench", done, StopDecision("Succeeded", "MaxTrialsReached", ""))
    assert made is not None and made.spec.ensemble is not None
    by_name = {r.metadata.name: r for r in done}
    found: list[Predictions | str] = [
        parse_predictions(n, saved[_key(dict(by_name[n].spec.parameters))])
        for n in made.spec.ensemble.candidates
    ]
    selected = select(made.spec.ensemble, found)
    assert not isinstance(selected, str), selected
    members = [by_name[n] for n in selected.members]
    status = ensembles.finish(spec, made.status, members, selected)
    best = by_name[made.spec.ensemble.candidates[0]]  # the most accurate trial
    ensemble_cf, single_cf = selected.cross_fitted
    assert status.economics is not None and best.status.economics is not None
    return {
        "seed": seed,
        "best_single": best.status.metrics["accuracy"],
        "ensemble_trial": status.metrics["accuracy"],
        "recorded_gain": status.metrics["accuracy"] - best.status.metrics["accuracy"],
        "ensemble": ensemble_cf,
        "best_single_cross_fitted": single_cf,
        "gain": ensemble_cf - single_cf,
        "members": len(selected.members),
        "rows": selected.rows,
        "cost_ratio": status.economics.cost_usd / max(best.status.economics.cost_usd, 1e-12),
        "on_front": "bench-ensemble"
        in {
            p.trial
            for p in summarize(spec, [*done, made.model_copy(update={"status": status})]).front
        },
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
        parser.add_argument(
            "--datasets", default="digits,breast_cancer,wine,synthetic,synthetic:5000"
        )
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
                c.show(c.stats([r["ensemble_trial"] for r in runs])),
                c.show(c.stats([r["best_single_cross_fitted"] for r in runs])),
                c.show(c.stats([r["ensemble"] for r in runs])),
                c.show(c.stats([r["gain"] for r in runs])),
                c.show(c.stats([r["members"] for r in runs]), digits=0),
                c.show(c.stats([r["cost_ratio"] for r in runs]), digits=1),
                f"{sum(bool(r['on_front']) for r in runs)}/{len(runs)}",
            ]
        )
        print(f"{dataset}: {rows[-1][2:]}", flush=True)
    headers = [
        "dataset",
        "trials",
        "best trial (held-out)",
        "Ensemble trial (held-out, as recorded)",
        "best single (cross-fitted)",
        "ensemble (cross-fitted)",
        "gain (cross-fitted)",
        "distinct members",
        "Ensemble cost / best trial's",
        "on the front",
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
