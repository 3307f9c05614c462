"""Multi-objective efficiency: normalised hypervolume against trials, per sampler.

Problems: ZDT1, ZDT2, ZDT3 (10 variables, 2 objectives) and DTLZ2 (12 variables,
3 objectives) from pymoo, and the CASH workload (accuracy against cost on digits,
evaluated in-process). Every sampler runs through the Engine, one ask at a time
(``--batch N``: N at a time); a sampler may be a named variant (``tpe-uni``, ...) or
``optuna-X``, the same sampler on a plain Optuna study (see ``_common.VARIANTS``).

Hypervolume: objectives scaled to [0, 1] between the known ideal and nadir (the true
front's for the analytic problems; for CASH the best and worst of every point any run
found), reference point 2.0 (analytic) or 1.1 (CASH) in each objective, divided by the
hypervolume of the true front (CASH: of the union of all runs' points), so 1.0 means the
whole known front.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _cash
import _common as c
import numpy as np
from optuna._hypervolume import compute_hypervolume

from tradeoff.api import Trial
from tradeoff.engine.pareto import nondominated_mask
from tradeoff.engine.samplers import resolve_algorithm

NAME = "mo_efficiency"
SAMPLERS = ("auto", "tpe", "nsga2", "gp", "random")
COLOURS = {
    "tpe": "tab:blue",
    "nsga2": "tab:orange",
    "gp": "tab:green",
    "random": "tab:red",
    "tpe-multi": "tab:blue",
    "tpe-uni": "tab:purple",
    "tpe-multi-nogroup": "tab:cyan",
    "tpe-uni-noliar": "tab:pink",
    "optuna-tpe": "tab:olive",
    "optuna-tpe-multi": "tab:brown",
}
REFERENCE = {"analytic": 2.0, "cash": 1.1}
"""Reference point in scaled units: the true front's nadir plus 100% of its range for the
analytic problems (with the usual 10%, almost no run reaches the box within a few hundred
trials and every curve is 0), and the worst observed point plus 10% for CASH."""
ZDT_VARIABLES = 10
"""Fewer than the usual 30: at these budgets no sampler gets near the front with 30."""


def analytic_problem(name: str) -> tuple[Any, np.ndarray]:
    """The pymoo problem and its true Pareto front."""
    from pymoo.problems import get_problem  # type: ignore[import-untyped]
    from pymoo.util.ref_dirs import get_reference_directions  # type: ignore[import-untyped]

    if name == "dtlz2":
        problem = get_problem("dtlz2", n_var=12, n_obj=3)
        front = problem.pareto_front(get_reference_directions("das-dennis", 3, n_partitions=40))
    else:
        problem = get_problem(name, n_var=ZDT_VARIABLES)
        front = problem.pareto_front()
    return problem, np.asarray(front, dtype=float)


def hv_curve(
    points: np.ndarray, ideal: np.ndarray, nadir: np.ndarray, best: float, reference: float
) -> list[float]:
    """Normalised hypervolume after each trial (points are losses, in trial order)."""
    scaled = (points - ideal) / (nadir - ideal)
    ref = np.full(points.shape[1], reference)
    curve, front, value = [], np.empty((0, points.shape[1])), 0.0
    for p in scaled:
        if np.all(p < ref) and not np.any(np.all(front <= p, axis=1)):
            front = np.vstack([front[~np.all(p <= front, axis=1)], p])
            value = float(compute_hypervolume(front, ref, assume_pareto=True)) / best
        curve.append(value)
    return curve


def true_hv(front: np.ndarray, ideal: np.ndarray, nadir: np.ndarray, reference: float) -> float:
    scaled = (front - ideal) / (nadir - ideal)
    scaled = scaled[nondominated_mask(scaled)]
    ref = np.full(front.shape[1], reference)
    return float(compute_hypervolume(scaled, ref, assume_pareto=True))


def run_sampler(
    algorithm: str,
    seed: int,
    trials: int,
    parameters: list[dict[str, Any]],
    objectives: list[tuple[str, str]],
    evaluate: c.Evaluator,
    batch: int = 1,
) -> tuple[np.ndarray, float]:
    """Losses of every succeeded trial in order, and the seconds the run took."""
    started = time.perf_counter()
    records = c.search(algorithm, parameters, objectives, evaluate, seed, trials, batch)
    seconds = time.perf_counter() - started
    return losses_of(records, objectives), seconds


def losses_of(records: Sequence[Trial], objectives: list[tuple[str, str]]) -> np.ndarray:
    """Losses per trial in trial order; a failed trial is a row of NaN (it adds nothing)."""
    sign = np.array([-1.0 if d == "maximize" else 1.0 for _, d in objectives])
    nan = [float("nan")] * len(objectives)
    rows = [r.status.values if r.state == "Succeeded" and r.status.values else nan for r in records]
    points: np.ndarray = np.array(rows, dtype=float).reshape(-1, len(objectives)) * sign
    return points


def budgets(quick: bool) -> dict[str, dict[str, int]]:
    """Trials and seeds per sampler family (GP is about a second per ask, so it gets less)."""
    if quick:
        return {
            "default": {"trials": 12, "seeds": 1},
            "gp": {"trials": 6, "seeds": 1},
            "cash": {"trials": 3, "seeds": 1},
            "cash_gp": {"trials": 3, "seeds": 1},
        }
    return {
        "default": {"trials": 150, "seeds": 3},
        "gp": {"trials": 40, "seeds": 3},
        "cash": {"trials": 40, "seeds": 3},
        "cash_gp": {"trials": 40, "seeds": 3},
    }


def problem_runs(
    name: str,
    budget: dict[str, dict[str, int]],
    samplers: Sequence[str],
    gp_problems: Sequence[str],
    batch: int = 1,
) -> dict[str, Any]:
    """Every sampler on one problem: losses per seed and how long each run took."""
    is_cash = name == "cash"
    if is_cash:
        parameters = _cash.SPACE
        objectives = [("accuracy", "maximize"), ("cost", "minimize")]

        def evaluate(params: dict[str, Any]) -> tuple[dict[str, float], Any]:
            return _cash.evaluate(params)
    else:
        problem, _ = analytic_problem(name)
        parameters = c.float_params(problem.n_var)
        objectives = [(f"f{i + 1}", "minimize") for i in range(problem.n_obj)]

        def evaluate(params: dict[str, Any]) -> tuple[dict[str, float], Any]:
            x = np.array([[params[f"x{i}"] for i in range(problem.n_var)]])
            f = problem.evaluate(x)[0]
            return {f"f{i + 1}": float(v) for i, v in enumerate(f)}, None

    runs: dict[str, Any] = {}
    for algorithm in samplers:
        if algorithm == "gp" and name not in gp_problems:
            continue
        key = (
            ("cash_gp" if algorithm == "gp" else "cash")
            if is_cash
            else ("gp" if algorithm == "gp" else "default")
        )
        trials, seeds = budget[key]["trials"], budget[key]["seeds"]
        resolved = algorithm
        if algorithm == "auto":
            spec = c.study_spec(parameters, objectives, "auto", 0, trials)
            resolved = resolve_algorithm(spec).name
            if resolved == "gp" and name not in gp_problems:
                # auto would be GP, which this run leaves out here as too slow.
                continue
            if resolved in samplers:
                # Shares that sampler's runs (GP's at GP's smaller budget, as the table says).
                runs["auto"] = {"resolved": resolved}
                continue
        losses, seconds = [], []
        for seed in range(seeds):
            points, took = run_sampler(
                algorithm, seed, trials, parameters, objectives, evaluate, batch
            )
            losses.append(points)
            seconds.append(took)
            print(
                f"  {name} {algorithm} seed {seed}: {len(points)} trials in {took:.1f} s",
                flush=True,
            )
        runs[algorithm] = {
            "resolved": resolved,
            "trials": trials,
            "losses": losses,
            "seconds": seconds,
        }
    return runs


def summarise(name: str, runs: dict[str, Any]) -> dict[str, Any]:
    """Hypervolume curves, finals and trials to reach random search's final hypervolume."""
    if name == "cash":
        every = np.vstack([p for r in runs.values() if "losses" in r for p in r["losses"]])
        every = every[~np.isnan(every).any(axis=1)]
        ideal, nadir, front = every.min(axis=0), every.max(axis=0), every
    else:
        _, front = analytic_problem(name)
        ideal, nadir = front.min(axis=0), front.max(axis=0)
    reference = REFERENCE["cash" if name == "cash" else "analytic"]
    best = true_hv(front, ideal, nadir, reference)
    out: dict[str, Any] = {"ideal": ideal, "nadir": nadir, "reference": reference, "samplers": {}}
    for algorithm, r in runs.items():
        if "losses" in r:
            curves = [hv_curve(p, ideal, nadir, best, reference) for p in r["losses"]]
            out["samplers"][algorithm] = {
                "resolved": r["resolved"],
                "trials": r["trials"],
                "curves": curves,
                "final_hv": c.stats([cv[-1] for cv in curves]),
                "seconds": c.stats(r["seconds"]),
            }
    for algorithm, r in runs.items():
        if "losses" not in r:
            out["samplers"][algorithm] = {
                **out["samplers"][r["resolved"]],
                "resolved": r["resolved"],
            }
    target = (
        out["samplers"]["random"]["final_hv"]["median"] if "random" in out["samplers"] else None
    )
    out["random_final_hv"] = target
    for s in out["samplers"].values():
        # Undefined (None) when random search never entered the reference box.
        reach = [c.first_reaching(cv, target, True) for cv in s["curves"]] if target else None
        s["trials_to_random_final"] = c.stats(reach) if reach is not None else None
    add_equal_budget(out)
    return out


def add_p_values(summary: dict[str, Any], baseline: str) -> None:
    """Mann-Whitney p of each sampler's final hypervolume against ``baseline``'s."""
    base = summary["samplers"].get(baseline)
    for name, s in summary["samplers"].items():
        finals = [cv[-1] for cv in s["curves"]]
        s["p_final_hv"] = (
            c.mann_whitney(finals, [cv[-1] for cv in base["curves"]])
            if base and name != baseline
            else None
        )


def add_checkpoints(summary: dict[str, Any], checkpoints: Sequence[int]) -> None:
    """Every sampler's hypervolume after each of ``checkpoints`` trials (within its budget)."""
    for s in summary["samplers"].values():
        s["hv_at"] = {
            n: c.stats([cv[n - 1] for cv in s["curves"]]) for n in checkpoints if n <= s["trials"]
        }


def add_equal_budget(summary: dict[str, Any]) -> None:
    """Every sampler's hypervolume after as many trials as the smallest budget (GP's)."""
    equal = min(s["trials"] for s in summary["samplers"].values())
    summary["equal_budget"] = equal
    for s in summary["samplers"].values():
        s["hv_at_equal_budget"] = c.stats([cv[equal - 1] for cv in s["curves"]])


def plot(results: dict[str, Any], out: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, problem in zip(axes[0], names, strict=True):
        for algorithm, s in results[problem]["samplers"].items():
            if algorithm == "auto" and s["resolved"] != "auto":
                continue
            curves = np.array(s["curves"])
            x = np.arange(1, curves.shape[1] + 1)
            q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
            (line,) = ax.plot(x, med, label=algorithm, color=COLOURS.get(algorithm))
            ax.fill_between(x, q1, q3, alpha=0.2, color=line.get_color())
        ax.set_title(problem)
        ax.set_xlabel("trials")
        ax.set_ylim(0.8 if problem == "cash" else 0.0, 1.02)
    axes[0][0].set_ylabel("normalised hypervolume")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
    axes[0][-1].legend(handles.values(), handles.keys(), loc="lower right")
    fig.suptitle("Hypervolume against trials (median, IQR band)")
    c.savefig(fig, out, name)


def reach_text(s: dict[str, Any]) -> str:
    if s["trials_to_random_final"] is None:
        return "n/a (random HV 0)"
    return c.show(s["trials_to_random_final"], total=len(s["curves"]))


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--problems", default="zdt1,zdt2,zdt3,dtlz2,cash")
        p.add_argument("--samplers", default=",".join(SAMPLERS))
        p.add_argument("--gp-problems", default="zdt1,dtlz2,cash")
        p.add_argument("--trials", type=int, default=None, help="trials on the analytic problems")
        p.add_argument("--name", default=NAME, help="name of the JSON and PNG files")
        p.add_argument("--batch", type=int, default=1, help="configurations asked at a time")
        p.add_argument("--baseline", default=None, help="sampler to test the others against")
        p.add_argument("--at", default="", help="also report HV after these trials: 40,100")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    budget = budgets(args.quick)
    if args.seeds:
        for b in budget.values():
            b["seeds"] = args.seeds
    if args.trials:
        budget["default"]["trials"] = args.trials
    samplers = args.samplers.split(",")
    checkpoints = [int(n) for n in args.at.split(",") if n]
    _cash.workload_metrics({"model": "logreg"})  # warm up imports before timing
    results: dict[str, Any] = {}
    for name in args.problems.split(","):
        print(f"{name}:", flush=True)
        runs = problem_runs(name, budget, samplers, args.gp_problems.split(","), args.batch)
        results[name] = summarise(name, runs)
        add_checkpoints(results[name], checkpoints)
        if args.baseline:
            add_p_values(results[name], args.baseline)
    rows = []
    for name, r in results.items():
        for algorithm, s in r["samplers"].items():
            label = algorithm if s["resolved"] == algorithm else f"{algorithm} (= {s['resolved']})"
            row = [name, label, s["trials"], c.show(s["final_hv"])]
            if args.baseline:
                row.append(c.show_p(s["p_final_hv"]))
            row += [c.show(s["hv_at"][n]) if n in s["hv_at"] else "-" for n in checkpoints]
            row += [
                f"{r['equal_budget']}: " + c.show(s["hv_at_equal_budget"]),
                reach_text(s),
                c.show(s["seconds"]),
            ]
            rows.append(row)
    headers = ["problem", "sampler", "trials", "final HV"]
    if args.baseline:
        headers.append(f"p vs {args.baseline}")
    headers += [f"HV at {n}" for n in checkpoints]
    headers += ["HV at equal budget", "trials to random's final HV", "run seconds"]
    c.print_table("Normalised hypervolume, median [IQR] over seeds", headers, rows)
    c.write_results(
        args.out,
        args.name,
        {"budgets": budget, "batch": args.batch, "reference": REFERENCE, "problems": results},
    )
    plot(results, args.out, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
