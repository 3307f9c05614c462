"""What the recommended trade-off saves: the knee trial against the most accurate trial.

The CASH study on digits (five model families, their hyperparameters, scaler, data
fraction and the vCPU request) with three objectives: accuracy (max), cost in USD and
carbon in gCO2e (min), priced by ``tradeoff.economics`` with its defaults (OpenCost
prices, Cloud Carbon Footprint power figures, 475 gCO2e/kWh). Per seed: the engine's
recommended trial (knee policy) against the most accurate trial of the same study
(ties to the cheaper): its cost and carbon as a fraction of the most accurate one's, and
the accuracy it gives up.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cash
import _common as c

from tradeoff.api import Trial
from tradeoff.engine.pareto import pareto_front
from tradeoff.engine.selection import recommend

NAME = "tradeoff_value"
OBJECTIVES = [("accuracy", "maximize"), ("cost", "minimize"), ("carbon", "minimize")]


def study(seed: int, trials: int) -> tuple[list[Trial], Trial, Trial, list[Trial]]:
    """Records of one study, its knee trial, its most accurate trial and its front."""
    spec = c.study_spec([*_cash.SPACE, _cash.CPU_PARAMETER], OBJECTIVES, "auto", seed, trials)
    records = c.optimise(spec, _cash.evaluate, trials)
    front = pareto_front(spec, records)
    knee = recommend(spec, front)
    assert knee is not None, "no trial succeeded"
    done = [r for r in records if r.status.values]
    best = max(done, key=lambda r: (r.status.metrics["accuracy"], -(r.status.values or [0, 0])[1]))
    return records, knee, best, front


def values(trial: Trial) -> dict[str, float]:
    return dict(zip([n for n, _ in OBJECTIVES], trial.status.values or [], strict=True))


def plot(example: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric, unit in ((axes[0], "cost", "USD"), (axes[1], "carbon", "gCO2e")):
        ax.scatter(
            [p[metric] for p in example["all"]],
            [p["accuracy"] for p in example["all"]],
            s=12,
            color="lightgrey",
            label="trials",
        )
        ax.scatter(
            [p[metric] for p in example["front"]],
            [p["accuracy"] for p in example["front"]],
            s=18,
            color="tab:blue",
            label="Pareto front (3 objectives)",
        )
        for key, colour in (("most_accurate", "tab:red"), ("knee", "tab:green")):
            ax.scatter(
                [example[key][metric]],
                [example[key]["accuracy"]],
                s=70,
                marker="*",
                color=colour,
                label=key.replace("_", " "),
            )
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(min(p["accuracy"] for p in example["front"]) - 0.03, 1.0)
        ax.set_xlabel(f"{metric} per trial ({unit})")
    axes[0].set_ylabel("held-out accuracy")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"One CASH study (seed {example['seed']}): recommended (knee) vs most accurate")
    c.savefig(fig, out, NAME)


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--trials", type=int, default=None)

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    seeds = args.seeds or (1 if args.quick else 5)
    trials = args.trials or (5 if args.quick else 40)
    _cash.workload_metrics({"model": "logreg"})
    runs: list[dict[str, Any]] = []
    example: dict[str, Any] | None = None
    for seed in range(seeds):
        records, knee, best, front = study(seed, trials)
        k, b = values(knee), values(best)
        run = {
            "seed": seed,
            "knee": {**k, "parameters": knee.spec.parameters},
            "most_accurate": {**b, "parameters": best.spec.parameters},
            "cost_fraction": k["cost"] / b["cost"],
            "carbon_fraction": k["carbon"] / b["carbon"],
            "accuracy_loss": b["accuracy"] - k["accuracy"],
            "front_size": len(front),
        }
        runs.append(run)
        print(
            f"  seed {seed}: knee {knee.spec.parameters.get('model')} acc {k['accuracy']:.3f}, "
            f"most accurate {best.spec.parameters.get('model')} acc {b['accuracy']:.3f}; "
            f"cost x{run['cost_fraction']:.2f}, carbon x{run['carbon_fraction']:.2f}",
            flush=True,
        )
        if example is None:
            example = {
                "seed": seed,
                "knee": k,
                "most_accurate": b,
                "front": [values(t) for t in front],
                "all": [values(r) for r in records if r.status.values],
            }
    summary = {
        key: c.stats([r[key] for r in runs])
        for key in ("cost_fraction", "carbon_fraction", "accuracy_loss", "front_size")
    }
    c.print_table(
        f"Knee trial vs most accurate trial ({trials} trials, {seeds} seeds), median [IQR]",
        ["cost (fraction)", "carbon (fraction)", "accuracy loss", "front size"],
        [
            [
                c.show(summary["cost_fraction"]),
                c.show(summary["carbon_fraction"]),
                c.show(summary["accuracy_loss"]),
                c.show(summary["front_size"]),
            ]
        ],
    )
    assert example is not None
    c.write_results(
        args.out,
        NAME,
        {"seeds": seeds, "trials": trials, "summary": summary, "runs": runs, "example": example},
    )
    plot(example, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
