"""Pipeline search (graphs) against the flat CASH space at an equal budget.

Both spaces run through the same workload, `trial_runner.pipeline`, in-process (its metric
lines captured), so accuracy and complexity are measured the same way:

- **flat**: the CASH space of section 1 (five model families with their hyperparameters,
  scaler, data fraction): one model on the scaled features;
- **graph**: the same, plus the pipeline's shape: feature branches joined side by side
  (raw, PCA, k-best, degree-2 interactions, an RBF kernel map) and a head that is one
  model, a soft vote or a stack of several.

Two objectives, accuracy (maximise) and `inference_ms` (CPU ms to predict 1000 samples,
minimise), TPE, one ask at a time. Per dataset and seed: the best accuracy, the
hypervolume of (1 - accuracy, log10 of inference_ms scaled from [0.1 ms, 1 s] to [0, 1];
reference point 1, 1), and the CPU seconds the trials took.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cash
import _common as c
import numpy as np
from optuna._hypervolume import compute_hypervolume

from trial_runner import pipeline

NAME = "pipeline_dag"
OBJECTIVES = [("accuracy", "maximize"), ("inference_ms", "minimize")]
GRAPH_EXTRA: list[dict[str, Any]] = [
    {
        "name": "features",
        "type": "categorical",
        "values": ["raw", "pca", "kbest", "raw+pca", "raw+kbest", "raw+nystroem", "raw+poly"],
    },
    {
        "name": "pca_components",
        "type": "float",
        "low": 0.5,
        "high": 0.99,
        "when": {"features": ["pca", "raw+pca"]},
    },
    {
        "name": "kbest_k",
        "type": "int",
        "low": 5,
        "high": 60,
        "when": {"features": ["kbest", "raw+kbest"]},
    },
    {
        "name": "nystroem_components",
        "type": "int",
        "low": 50,
        "high": 400,
        "log": True,
        "when": {"features": ["raw+nystroem"]},
    },
    {"name": "head", "type": "categorical", "values": ["single", "vote", "stack"]},
    {
        "name": "members",
        "type": "categorical",
        "values": ["svm+knn", "logreg+knn", "svm+forest", "logreg+svm+knn"],
        "when": {"head": ["vote", "stack"]},
    },
    {
        "name": "final",
        "type": "categorical",
        "values": ["logreg", "forest"],
        "when": {"head": ["stack"]},
    },
]


def graph_space() -> list[dict[str, Any]]:
    """The flat space with the model's parameters active for a single head only."""
    out = []
    for p in _cash.SPACE:
        p = dict(p)
        if p["name"] == "model":
            p["when"] = {"head": ["single"]}
        out.append(p)
    return [*GRAPH_EXTRA[:5], *out, *GRAPH_EXTRA[5:]]


def metrics_of(params: Mapping[str, Any], dataset: str) -> tuple[dict[str, float], float]:
    """What the workload reports for `params` (nothing when it fails), and its CPU seconds."""
    return _cash.workload_metrics(params, dataset, workload=pipeline)


def hypervolume(points: Sequence[tuple[float, float]]) -> float:
    """Of (accuracy, inference_ms) points, as the module docstring says."""
    if not points:
        return 0.0
    scaled = np.array(
        [(1 - a, min(max((math.log10(max(ms, 1e-9)) + 1) / 4, 0.0), 1.0)) for a, ms in points]
    )
    return float(compute_hypervolume(scaled, np.ones(2)))


def one(space_name: str, dataset: str, seed: int, trials: int) -> dict[str, Any]:
    parameters = _cash.SPACE if space_name == "flat" else graph_space()
    spent = [0.0]

    def evaluate(params: dict[str, Any]) -> tuple[dict[str, float], Any]:
        metrics, cpu_seconds = metrics_of(params, dataset)
        spent[0] += cpu_seconds
        return metrics, _cash.economics(cpu_seconds)

    records = c.search("tpe", parameters, OBJECTIVES, evaluate, seed, trials)
    done = [r.status.metrics for r in records if r.status.state == "Succeeded"]
    points = [(m["accuracy"], m["inference_ms"]) for m in done]
    heads = [r.spec.parameters.get("head", "single") for r in records]
    best = max((a for a, _ in points), default=0.0)
    front_heads = sorted(
        {
            str(r.spec.parameters.get("head", "single"))
            for r in records
            if r.status.state == "Succeeded"
            and not any(
                a >= r.status.metrics["accuracy"]
                and ms <= r.status.metrics["inference_ms"]
                and (a, ms) != (r.status.metrics["accuracy"], r.status.metrics["inference_ms"])
                for a, ms in points
            )
        }
    )
    return {
        "seed": seed,
        "best_accuracy": best,
        "hypervolume": hypervolume(points),
        "cpu_seconds": spent[0],
        "failed": sum(r.status.state != "Succeeded" for r in records),
        "heads_tried": {h: heads.count(h) for h in sorted(set(map(str, heads)))},
        "front_heads": front_heads,
    }


def main(argv: Sequence[str] | None = None) -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--datasets", default="digits,breast_cancer")
        parser.add_argument("--trials", type=int, default=30)

    args = c.parse_args(argv, __doc__.splitlines()[0] if __doc__ else NAME, extra)
    seeds = args.seeds or (1 if args.quick else 3)
    trials = 4 if args.quick else args.trials
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    rows = []
    for dataset in args.datasets.split(","):
        results[dataset] = {}
        for space_name in ("flat", "graph"):
            runs = [one(space_name, dataset, seed, trials) for seed in range(seeds)]
            results[dataset][space_name] = runs
            rows.append(
                [
                    dataset,
                    space_name,
                    trials,
                    c.show(c.stats([r["best_accuracy"] for r in runs])),
                    c.show(c.stats([r["hypervolume"] for r in runs])),
                    c.show(c.stats([r["cpu_seconds"] for r in runs]), digits=1),
                    ", ".join(sorted({h for r in runs for h in r["front_heads"]})),
                ]
            )
            print(f"{dataset} {space_name}: {rows[-1][3:]}", flush=True)
    headers = [
        "dataset",
        "space",
        "trials",
        "best accuracy",
        "hypervolume",
        "trial CPU s",
        "heads on a front",
    ]
    c.print_table(
        "Graph pipelines against the flat CASH space (median [q1, q3] over seeds)", headers, rows
    )
    c.write_results(args.out, NAME, {"headers": headers, "rows": rows, "runs": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
