"""Early stopping: training epochs needed to reach a target accuracy, by pruner.

An MLP on digits (the workload's data split, preprocessing and model, trained one epoch
at a time in-process, held-out accuracy after each epoch), tuned by TPE through the
Engine. After every epoch the record gets the intermediate value and the Engine's
``should_prune`` decides, exactly as an adapter asks it. Compared: no pruning,
successive halving and hyperband, with the same sampler seeds. Work is counted in epochs.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import numpy as np

from tradeoff.api import Trial
from tradeoff.api.trial import StepValue
from tradeoff.engine.core import Engine

NAME = "pruning"
EPOCHS = 30
PRUNERS = ("none", "successive-halving", "hyperband")


def early_stopping(pruner: str) -> dict[str, Any]:
    """The study's earlyStopping section: the pruner with Optuna's default settings
    (successive halving: minimum resource estimated from the first trial, reduction
    factor 4; hyperband: minimum resource 1, maximum estimated, reduction factor 3)."""
    return {"algorithm": pruner}


SPACE: list[dict[str, Any]] = [
    {"name": "hidden_units", "type": "int", "low": 16, "high": 256, "log": True},
    {"name": "layers", "type": "int", "low": 1, "high": 2},
    {"name": "alpha", "type": "float", "low": 1e-6, "high": 1e-1, "log": True},
    {"name": "learning_rate", "type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    {"name": "batch_size", "type": "int", "low": 16, "high": 256, "log": True},
    {"name": "scaler", "type": "categorical", "values": ["none", "standard", "minmax"]},
]


class Digits:
    """The workload's split and preprocessing of digits, prepared once per scaler."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._cache: dict[str, tuple[Any, Any, Any, Any]] = {}

    def arrays(self, scaler: str) -> tuple[Any, Any, Any, Any]:
        from sklearn.pipeline import Pipeline

        from trial_runner.sklearn import _preprocessing, _split, build_parser

        if scaler not in self._cache:
            args = build_parser().parse_args(
                ["--dataset=digits", f"--seed={self.seed}", f"--scaler={scaler}"]
            )
            x_train, x_test, y_train, y_test = _split(args)
            pre = Pipeline(_preprocessing(args) or [("identity", "passthrough")])
            self._cache[scaler] = (
                pre.fit_transform(x_train),
                pre.transform(x_test),
                y_train,
                y_test,
            )
        return self._cache[scaler]


def train(engine: Engine, records: list[Trial], record: Trial, data: Digits, epochs: int) -> int:
    """Train one trial epoch by epoch, asking the engine after each; returns epochs run."""
    from trial_runner.sklearn import _estimator, build_parser

    params = record.spec.parameters
    argv = ["--model=mlp", f"--epochs={epochs}", *(f"--{k}={v}" for k, v in params.items())]
    model = _estimator(build_parser().parse_args(argv))
    x, x_test, y, y_test = data.arrays(str(params["scaler"]))
    classes = np.unique(y)
    accuracy = 0.0
    for epoch in range(1, epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(x, y, classes=classes)
        accuracy = float(np.mean(model.predict(x_test) == y_test))
        record.status.intermediate.append(StepValue(step=epoch, value=accuracy))
        record.status.last_intermediate = {"accuracy": accuracy}
        decision = engine.should_prune(records, record.number)
        record.status.pruning_state.update(decision.pruning_state)
        if decision.prune and epoch < epochs:
            record.status.state = "Pruned"
            return epoch
    c.record_result(engine, record, {"accuracy": accuracy})
    return epochs


def run(pruner: str, seed: int, trials: int, data: Digits, epochs: int) -> list[dict[str, Any]]:
    """One study: per trial, the epochs it ran, its state and its final accuracy."""
    stopping = early_stopping(pruner)
    spec = c.study_spec(
        SPACE, [("accuracy", "maximize")], "tpe", seed, trials, earlyStopping=stopping
    )
    engine = Engine(spec)
    records: list[Trial] = []
    log = []
    for _ in range(trials):
        s = engine.ask(records, 1)[0]
        record = Trial.new(c.STUDY, s.number, s.parameters, s.sampler_state)
        record.status.state = "Running"
        records.append(record)
        spent = train(engine, records, record, data, epochs)
        final = record.status.metrics.get("accuracy") if record.state == "Succeeded" else None
        log.append({"epochs": spent, "state": record.state, "accuracy": final})
    return log


def work_to_target(log: Sequence[dict[str, Any]], target: float) -> int | None:
    """Epochs spent until a trial first finished at or above ``target``."""
    spent = 0
    for trial in log:
        spent += int(trial["epochs"])
        if trial["accuracy"] is not None and trial["accuracy"] >= target:
            return spent
    return None


def best_curve(log: Sequence[dict[str, Any]], grid: np.ndarray) -> list[float]:
    """Best finished accuracy against epochs spent, sampled on ``grid``."""
    spent = np.cumsum([t["epochs"] for t in log])
    best = np.maximum.accumulate([t["accuracy"] or 0.0 for t in log])
    idx = np.searchsorted(spent, grid, side="right") - 1
    return [float(best[i]) if i >= 0 else 0.0 for i in idx]


def plot(results: dict[str, Any], grid: np.ndarray, target: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for pruner, r in results.items():
        curves = np.array(r["curves"])
        q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
        ax.plot(grid, med, label=pruner)
        ax.fill_between(grid, q1, q3, alpha=0.2)
    ax.axhline(target, color="grey", linewidth=0.8, linestyle="--")
    ax.set_ylim(0.9, 1.0)
    ax.set_xlabel("epochs trained (all trials)")
    ax.set_ylabel("best finished accuracy")
    ax.set_title("MLP on digits, TPE: best accuracy against work")
    ax.legend()
    c.savefig(fig, out, NAME)


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--trials", type=int, default=None)
        p.add_argument("--target", type=float, default=0.98)

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    seeds = args.seeds or (1 if args.quick else 3)
    trials = args.trials or (3 if args.quick else 40)
    epochs = 5 if args.quick else EPOCHS
    data = Digits()
    grid = np.linspace(0, trials * epochs, 200)
    results: dict[str, Any] = {}
    for pruner in PRUNERS:
        logs = []
        for seed in range(seeds):
            logs.append(run(pruner, seed, trials, data, epochs))
            done = sum(t["epochs"] for t in logs[-1])
            print(
                f"  {pruner} seed {seed}: {done} epochs, best "
                f"{max(t['accuracy'] or 0 for t in logs[-1]):.4f}",
                flush=True,
            )
        results[pruner] = {
            "work_to_target": c.stats([work_to_target(log, args.target) for log in logs]),
            "total_epochs": c.stats([sum(t["epochs"] for t in log) for log in logs]),
            "pruned": c.stats([sum(t["state"] == "Pruned" for t in log) for log in logs]),
            "best_accuracy": c.stats([max(t["accuracy"] or 0.0 for t in log) for log in logs]),
            "curves": [best_curve(log, grid) for log in logs],
            "trials": logs,
        }
    base = results["none"]["work_to_target"]["median"]
    rows = []
    for pruner, r in results.items():
        w = r["work_to_target"]["median"]
        ratio = f"{w / base:.2f}" if w and base else "-"
        rows.append(
            [
                pruner,
                c.show(r["work_to_target"], total=seeds),
                ratio,
                c.show(r["total_epochs"]),
                c.show(r["pruned"]),
                c.show(r["best_accuracy"], 4),
            ]
        )
    c.print_table(
        f"Epochs to a finished trial with accuracy >= {args.target}"
        f" ({trials} trials, {seeds} seeds), "
        "median [IQR]",
        [
            "pruner",
            "epochs to target",
            "vs none",
            "epochs in all",
            "trials pruned",
            "best accuracy",
        ],
        rows,
    )
    c.write_results(
        args.out,
        NAME,
        {
            "seeds": seeds,
            "trials": trials,
            "epochs_per_trial": epochs,
            "early_stopping": {p: early_stopping(p) for p in PRUNERS},
            "target": args.target,
            "grid": grid,
            "pruners": results,
        },
    )
    plot(results, grid, args.target, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
