"""Single objective: Tradeoff's samplers against Katib's algorithm backends, equal budgets.

Katib: ``random`` and ``tpe`` (hyperopt), ``bayesianoptimization`` (scikit-optimize GP),
driven as Katib drives them (see ``_katib.py``). Tradeoff: ``tpe``, ``gp`` and ``auto``
(or ``tradeoff-VARIANT``, and ``optuna-X`` on a plain Optuna study; see
``_common.VARIANTS``) through the Engine, one ask at a time (``--batch N``: N at a time).
Problems: Branin (2-d), Hartmann6 (6-d), Levy (10-d) and the CASH workload's held-out
accuracy on digits (in-process; Katib gets the flattened space, Tradeoff the conditional
one). Reported: best value after N trials and trials needed to reach a target.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cash
import _common as c
import _katib
import numpy as np

from tradeoff.engine.samplers import resolve_algorithm

NAME = "katib_backends"
OPTIMISERS = (
    "katib-random",
    "katib-tpe",
    "katib-bayesopt",
    "tradeoff-tpe",
    "tradeoff-gp",
    "tradeoff-auto",
)

_HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def branin(x: np.ndarray) -> float:
    a, b, cc, r, s, t = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return float(a * (x[1] - b * x[0] ** 2 + cc * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s)


def hartmann6(x: np.ndarray) -> float:
    inner = np.sum(_HARTMANN_A * (x - _HARTMANN_P) ** 2, axis=1)
    return float(-np.sum(_HARTMANN_ALPHA * np.exp(-inner)))


def levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    middle = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + middle + tail)


@dataclass(frozen=True)
class Problem:
    """A minimisation problem; ``sign`` -1 shows the value as maximised (accuracy)."""

    name: str
    parameters: list[dict[str, Any]]
    flat_parameters: list[dict[str, Any]]
    loss: Callable[[dict[str, Any]], float]
    target: float
    optimum: float | None
    trials: int
    sign: float = 1.0


def _vector(func: Callable[[np.ndarray], float], n: int) -> Callable[[dict[str, Any]], float]:
    return lambda p: func(np.array([p[f"x{i}"] for i in range(n)], dtype=float))


def cash_loss(params: dict[str, Any]) -> float:
    return -_cash.workload_metrics(params)[0].get("accuracy", 0.0)  # a failed fit scores 0


def problems(quick: bool, trials: int | None = None) -> list[Problem]:
    """The problems with their default budgets (``trials`` replaces every budget)."""
    bran = [
        {"name": "x0", "type": "float", "low": -5.0, "high": 10.0},
        {"name": "x1", "type": "float", "low": 0.0, "high": 15.0},
    ]
    flat_cash = [{k: v for k, v in p.items() if k != "when"} for p in _cash.SPACE]

    def n(default: int) -> int:
        return 4 if quick else default if trials is None else trials

    return [
        Problem("branin", bran, bran, _vector(branin, 2), 0.5, 0.397887, n(30)),
        Problem(
            "hartmann6",
            c.float_params(6),
            c.float_params(6),
            _vector(hartmann6, 6),
            -3.0,
            -3.32237,
            n(40),
        ),
        Problem(
            "levy10",
            c.float_params(10, -10, 10),
            c.float_params(10, -10, 10),
            _vector(levy, 10),
            20.0,
            0.0,
            n(40),
        ),
        Problem("cash-digits", _cash.SPACE, flat_cash, cash_loss, -0.98, None, n(25), sign=-1.0),
    ]


def run_one(optimiser: str, problem: Problem, seed: int, batch: int = 1) -> list[float]:
    """Losses in trial order (Tradeoff and Optuna ask ``batch`` configurations at a time)."""
    if optimiser in ("katib-random", "katib-tpe"):
        return _katib.run_hyperopt(
            optimiser.split("-")[1], problem.flat_parameters, problem.loss, problem.trials, seed
        )
    if optimiser == "katib-bayesopt":
        return _katib.run_skopt(problem.flat_parameters, problem.loss, problem.trials, seed)
    records = c.search(
        optimiser.removeprefix("tradeoff-"),
        problem.parameters,
        [("loss", "minimize")],
        lambda p: ({"loss": problem.loss(p)}, None),
        seed,
        problem.trials,
        batch,
    )
    return [float((r.status.values or [math.inf])[0]) for r in records]


def run_problem(
    problem: Problem, optimisers: Sequence[str], seeds: int, batch: int = 1
) -> dict[str, Any]:
    auto = resolve_algorithm(
        c.study_spec(problem.parameters, [("loss", "minimize")], "auto", 0, problem.trials)
    ).name
    out: dict[str, Any] = {
        "target": problem.target * problem.sign,
        "optimum": problem.optimum,
        "trials": problem.trials,
        "auto_resolves_to": auto,
        "optimisers": {},
    }
    for optimiser in optimisers:
        if optimiser == "tradeoff-auto" and f"tradeoff-{auto}" in optimisers:
            out["optimisers"][optimiser] = {"same_as": f"tradeoff-{auto}"}
            continue
        curves, seconds = [], []
        for seed in range(seeds):
            started = time.perf_counter()
            losses = run_one(optimiser, problem, seed, batch)
            seconds.append(time.perf_counter() - started)
            curves.append([v * problem.sign for v in c.best_so_far(losses, maximize=False)])
            print(
                f"  {problem.name} {optimiser} seed {seed}: best {curves[-1][-1]:.4g} "
                f"in {seconds[-1]:.1f} s",
                flush=True,
            )
        maximize = problem.sign < 0
        target = problem.target * problem.sign
        out["optimisers"][optimiser] = {
            "curves": curves,
            "best": c.stats([cv[-1] for cv in curves]),
            "trials_to_target": c.stats([c.first_reaching(cv, target, maximize) for cv in curves]),
            "seconds": c.stats(seconds),
        }
    for name, r in out["optimisers"].items():
        if "same_as" in r:
            out["optimisers"][name] = {**out["optimisers"][r["same_as"]], "same_as": r["same_as"]}
    return out


def add_p_values(result: dict[str, Any], baseline: str) -> None:
    """Mann-Whitney p of each optimiser's best value against ``baseline``'s."""
    base = result["optimisers"].get(baseline)
    for name, s in result["optimisers"].items():
        best = [cv[-1] for cv in s["curves"]]
        other = [cv[-1] for cv in base["curves"]] if base and name != baseline else None
        s["p_best"] = c.mann_whitney(best, other) if other else None


def plot(results: dict[str, Any], out: Path, name: str = NAME) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), squeeze=False)
    for ax, (problem, r) in zip(axes[0], results.items(), strict=True):
        for optimiser, s in r["optimisers"].items():
            if "same_as" in s:
                continue
            curves = np.array(s["curves"])
            x = np.arange(1, curves.shape[1] + 1)
            q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
            (line,) = ax.plot(
                x, med, label=optimiser, linestyle="--" if optimiser.startswith("katib") else "-"
            )
            ax.fill_between(x, q1, q3, alpha=0.15, color=line.get_color())
        if r["optimum"] is not None:
            ax.axhline(r["optimum"], color="grey", linewidth=0.8)
        if problem in ("branin", "levy10"):
            ax.set_yscale("log")
        ax.set_title(problem)
        ax.set_xlabel("trials")
    axes[0][0].set_ylabel("best value so far (median, IQR)")
    axes[0][-1].legend(fontsize=7)
    c.savefig(fig, out, name)


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--problems", default="branin,hartmann6,levy10,cash-digits")
        p.add_argument("--optimisers", default=",".join(OPTIMISERS))
        p.add_argument("--baseline", default=None, help="optimiser to test the others against")
        p.add_argument("--name", default=NAME, help="name of the JSON and PNG files")
        p.add_argument("--batch", type=int, default=1, help="configurations asked at a time")
        p.add_argument("--trials", type=int, default=None, help="budget of every problem")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    seeds = args.seeds or (1 if args.quick else 3)
    wanted = args.problems.split(",")
    _cash.workload_metrics({"model": "logreg"})
    results: dict[str, Any] = {}
    for problem in problems(args.quick, args.trials):
        if problem.name in wanted:
            print(f"{problem.name}:", flush=True)
            optimisers = args.optimisers.split(",")
            results[problem.name] = run_problem(problem, optimisers, seeds, args.batch)
            if args.baseline:
                add_p_values(results[problem.name], args.baseline)
    rows = []
    for name, r in results.items():
        for optimiser, s in r["optimisers"].items():
            label = optimiser + (f" (= {s['same_as']})" if "same_as" in s else "")
            n = len(s["curves"])
            p_column = [c.show_p(s["p_best"])] if args.baseline else []
            rows.append(
                [
                    name,
                    label,
                    r["trials"],
                    c.show(s["best"], 4),
                    *p_column,
                    f"{r['target']:g}: " + c.show(s["trials_to_target"], total=n),
                    c.show(s["seconds"]),
                ]
            )
    p_header = [f"p vs {args.baseline}"] if args.baseline else []
    c.print_table(
        "Best value after the budget and trials to reach the target, median [IQR] over seeds",
        ["problem", "optimiser", "trials", "best", *p_header, "trials to target", "run seconds"],
        rows,
    )
    payload = {"seeds": seeds, "batch": args.batch, "problems": results}
    c.write_results(args.out, args.name, payload)
    plot(results, args.out, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
