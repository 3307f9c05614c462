"""scikit-learn defaults against Tradeoff-tuned models on the bundled datasets.

Per dataset, model family and seed: the workload's held-out split (``trial_runner.sklearn``,
25% test, stratified, split by the seed) is shared by both sides. Default: the workload's
defaults (standard scaling, the estimator's scikit-learn defaults; logistic regression
gets ``max_iter=500``). Tuned: TPE through the Engine over the family's hyperparameters
and the scaler, scoring 3-fold cross-validated balanced accuracy on the training part
only; the chosen configuration is then refitted on the training part by the workload.
Both are judged by the workload's held-out balanced accuracy (as in Olson et al. 2018,
"Data-driven advice for applying machine learning to bioinformatics problems").
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cash
import _common as c
import numpy as np

NAME = "tuned_vs_default"
DATASETS = ("digits", "breast_cancer", "wine", "iris", "synthetic")
SCALER = {
    "name": "scaler",
    "type": "categorical",
    "values": ["none", "standard", "minmax", "robust"],
}
FAMILIES: dict[str, list[dict[str, Any]]] = {
    "logreg": [{"name": "C", "type": "float", "low": 1e-3, "high": 1e3, "log": True}],
    "svm": [
        {"name": "C", "type": "float", "low": 1e-2, "high": 1e3, "log": True},
        {"name": "gamma", "type": "float", "low": 1e-4, "high": 1.0, "log": True},
    ],
    "knn": [
        {"name": "n_neighbors", "type": "int", "low": 1, "high": 30},
        {"name": "weights", "type": "categorical", "values": ["uniform", "distance"]},
    ],
    "forest": [
        {"name": "n_estimators", "type": "int", "low": 10, "high": 200, "log": True},
        {"name": "max_depth", "type": "int", "low": 2, "high": 20},
        {"name": "min_samples_leaf", "type": "int", "low": 1, "high": 10},
    ],
}


def cv_score(dataset: str, family: str, params: dict[str, Any], seed: int) -> float:
    """3-fold cross-validated balanced accuracy on the workload's training part."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import Pipeline

    from trial_runner.sklearn import _estimator, _preprocessing, _split, build_parser

    argv = [f"--dataset={dataset}", f"--seed={seed}", f"--model={family}"]
    args = build_parser().parse_args(argv + [f"--{k}={v}" for k, v in params.items()])
    x_train, _, y_train, _ = _split(args)
    steps = _preprocessing(args) or [("identity", "passthrough")]
    pipeline = Pipeline([*steps, ("model", _estimator(args))])
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(pipeline, x_train, y_train, cv=folds, scoring="balanced_accuracy")
    return float(np.mean(scores))


def held_out(dataset: str, family: str, params: dict[str, Any], seed: int) -> float:
    """The workload's held-out balanced accuracy for ``params``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics, _ = _cash.workload_metrics({"model": family, **params}, dataset, seed)
    return metrics["balanced_accuracy"]


def tune(dataset: str, family: str, seed: int, trials: int) -> dict[str, Any]:
    """The best configuration TPE finds by cross-validation on the training part."""
    spec = c.study_spec(
        [*FAMILIES[family], SCALER], [("cv_balanced_accuracy", "maximize")], "tpe", seed, trials
    )
    records = c.optimise(
        spec, lambda p: ({"cv_balanced_accuracy": cv_score(dataset, family, p, seed)}, None), trials
    )
    best = max((r for r in records if r.status.values), key=lambda r: (r.status.values or [0.0])[0])
    return dict(best.spec.parameters)


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(results)
    families = list(next(iter(results.values()))["families"])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(families)
    for i, family in enumerate(families):
        gains = [results[d]["families"][family]["gain"] for d in datasets]
        med = [g["median"] for g in gains]
        err = [[g["median"] - g["q1"] for g in gains], [g["q3"] - g["median"] for g in gains]]
        ax.bar(np.arange(len(datasets)) + i * width, med, width, yerr=err, label=family, capsize=2)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(datasets)) + width * (len(families) - 1) / 2, datasets)
    ax.set_ylabel("tuned - default balanced accuracy")
    ax.set_title("Gain from tuning (median, IQR over seeds)")
    ax.legend(fontsize=8)
    c.savefig(fig, out, NAME)


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--datasets", default=",".join(DATASETS))
        p.add_argument("--families", default=",".join(FAMILIES))
        p.add_argument("--trials", type=int, default=None, help="TPE trials per tuning run")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    seeds = args.seeds or (1 if args.quick else 3)
    trials = args.trials or (3 if args.quick else 25)
    datasets = ["iris"] if args.quick else args.datasets.split(",")
    families = ["logreg", "knn"] if args.quick else args.families.split(",")
    results: dict[str, Any] = {}
    rows = []
    for dataset in datasets:
        per_family: dict[str, Any] = {}
        for family in families:
            default, tuned, chosen = [], [], []
            for seed in range(seeds):
                default.append(held_out(dataset, family, {}, seed))
                params = tune(dataset, family, seed, trials)
                chosen.append(params)
                tuned.append(held_out(dataset, family, params, seed))
            gains = [t - d for t, d in zip(tuned, default, strict=True)]
            per_family[family] = {
                "default": c.stats(default),
                "tuned": c.stats(tuned),
                "gain": c.stats(gains),
                "default_runs": default,
                "tuned_runs": tuned,
                "chosen": chosen,
            }
            s = per_family[family]
            rows.append(
                [dataset, family, c.show(s["default"]), c.show(s["tuned"]), c.show(s["gain"], 2)]
            )
            print(
                f"  {dataset} {family}: default {s['default']['median']:.3f}"
                f" tuned {s['tuned']['median']:.3f}",
                flush=True,
            )
        best_default = [
            max(per_family[f]["default_runs"][i] for f in families) for i in range(seeds)
        ]
        best_tuned = [max(per_family[f]["tuned_runs"][i] for f in families) for i in range(seeds)]
        results[dataset] = {
            "families": per_family,
            "median_gain_over_families": float(
                np.median([per_family[f]["gain"]["median"] for f in families])
            ),
            "best_family_gain": c.stats(
                [t - d for t, d in zip(best_tuned, best_default, strict=True)]
            ),
        }
    c.print_table(
        f"Held-out balanced accuracy, default vs tuned (TPE, {trials} trials),"
        " median [IQR] over seeds",
        ["dataset", "family", "default", "tuned", "gain"],
        rows,
    )
    c.print_table(
        "Gain per dataset",
        ["dataset", "median gain over families", "best tuned - best default"],
        [
            [d, f"{r['median_gain_over_families']:+.3f}", c.show(r["best_family_gain"], 2)]
            for d, r in results.items()
        ],
    )
    c.write_results(args.out, NAME, {"seeds": seeds, "trials": trials, "datasets": results})
    plot(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
