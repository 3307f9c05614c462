"""Can `auto` learn from history? Does the algorithm that did best on past studies of a
space also do best on a new study of the same space, and better than the fixed rule?

Per task (a fixed space and objectives), every candidate algorithm runs at a fixed budget
over two disjoint seed sets through the Engine in-process: set A stands for the finished
studies a workdir root or namespace holds ("history"), set B for new studies.

Tasks:
- ``zdt1``: ZDT1 on 6 floats, two objectives (the fixed rule says gp).
- ``dtlz2``: DTLZ2 on 6 floats, three objectives (tpe).
- ``mixed``: two objectives on 3 floats and 2 unconditional categoricals: each category
  moves the two targets and scales the distances (tpe; gp never measured there).
- ``sklearn``: a tiny CASH space (k-NN, decision tree or logistic regression with their
  own conditional hyperparameters, a scaler), 3-fold accuracy on scikit-learn's bundled
  wine data, to maximise (tpe).

Score of a study: hypervolume of its front (losses, fixed reference point per task),
divided by the best any run of the task reached, so 1.0 is the best front seen; for the
one-objective task the best accuracy. Per task the table reports each algorithm on A and
on B (median [q1, q3] over seeds, and its CPU seconds per study), then what history
would pick and what that pick is worth on B against the fixed rule's choice:
- ``pooled``: history holds every seed of A for every algorithm (the best case);
- ``one each``: history holds one study per algorithm (seed i of A), the realistic case;
  how often that pick beats, ties or loses against the fixed rule on B, and its regret;
- with a margin: the pick replaces the fixed rule only when its score beats the fixed
  rule's algorithm's by more than the margin in the history.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import numpy as np
from optuna._hypervolume import compute_hypervolume

from tradeoff.engine.autohistory import MIN_STUDIES, PastStudy, from_history
from tradeoff.engine.pareto import nondominated_mask
from tradeoff.engine.samplers import resolve_algorithm

NAME = "auto_history"
ALGORITHMS = ("tpe", "random", "nsga2", "qmc", "gp")
MARGINS = (0.0, 0.02, 0.05, 0.1)
Metrics = Callable[[dict[str, Any]], dict[str, float]]


def zdt1(p: Mapping[str, Any]) -> dict[str, float]:
    x = np.array([p[f"x{i}"] for i in range(6)])
    g = 1 + 9 * x[1:].mean()
    return {"f1": float(x[0]), "f2": float(g * (1 - np.sqrt(x[0] / g)))}


def dtlz2(p: Mapping[str, Any]) -> dict[str, float]:
    x = np.array([p[f"x{i}"] for i in range(6)])
    g = float(((x[2:] - 0.5) ** 2).sum())
    a, b = x[0] * np.pi / 2, x[1] * np.pi / 2
    f = (1 + g) * np.array([np.cos(a) * np.cos(b), np.cos(a) * np.sin(b), np.sin(a)])
    return {f"f{i + 1}": float(v) for i, v in enumerate(f)}


_CENTRES = {
    "a": ([0.2, 0.3, 0.7], [0.6, 0.4, 0.2], 0.0, 0.4),
    "b": ([0.8, 0.8, 0.1], [0.3, 0.9, 0.5], 0.3, 0.0),
    "c": ([0.5, 0.1, 0.4], [0.5, 0.2, 0.6], 0.15, 0.15),
    "d": ([0.1, 0.9, 0.9], [0.9, 0.1, 0.1], 0.5, 0.5),
}
_SCALE = {"p": 1.0, "q": 0.6, "r": 1.6}


def mixed(p: Mapping[str, Any]) -> dict[str, float]:
    x = np.array([p[f"x{i}"] for i in range(3)])
    a, b, d1, d2 = _CENTRES[p["shape"]]
    s = _SCALE[p["scale"]]
    f1 = s * float(((x - np.array(a)) ** 2).sum()) + d1
    f2 = s * float(((x - np.array(b)) ** 2).sum()) + d2
    return {"f1": f1, "f2": f2}


SKLEARN_SPACE: list[dict[str, Any]] = [
    {"name": "model", "type": "categorical", "values": ["knn", "tree", "logreg"]},
    {"name": "n_neighbors", "type": "int", "low": 1, "high": 40, "when": {"model": ["knn"]}},
    {"name": "max_depth", "type": "int", "low": 1, "high": 12, "when": {"model": ["tree"]}},
    {"name": "min_leaf", "type": "int", "low": 1, "high": 30, "when": {"model": ["tree"]}},
    {
        "name": "C",
        "type": "float",
        "low": 1e-4,
        "high": 1e2,
        "log": True,
        "when": {"model": ["logreg"]},
    },
    {"name": "scaler", "type": "categorical", "values": ["none", "standard"]},
]
_WINE: list[Any] = []


def sklearn_task(p: Mapping[str, Any]) -> dict[str, float]:
    from sklearn.datasets import load_wine
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    if not _WINE:
        _WINE.extend(load_wine(return_X_y=True))
    model: Any
    if p["model"] == "knn":
        model = KNeighborsClassifier(n_neighbors=int(p["n_neighbors"]))
    elif p["model"] == "tree":
        model = DecisionTreeClassifier(
            max_depth=int(p["max_depth"]), min_samples_leaf=int(p["min_leaf"]), random_state=0
        )
    else:
        model = LogisticRegression(C=float(p["C"]), max_iter=300)
    scaler = StandardScaler() if p["scaler"] == "standard" else FunctionTransformer()
    with warnings.catch_warnings():  # unscaled logistic regression stops at max_iter
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(make_pipeline(scaler, model), *_WINE, cv=3)
    return {"accuracy": float(scores.mean())}


def _mixed_space() -> list[dict[str, Any]]:
    return [
        *c.float_params(3),
        {"name": "shape", "type": "categorical", "values": list(_CENTRES)},
        {"name": "scale", "type": "categorical", "values": list(_SCALE)},
    ]


TASKS: dict[str, tuple[list[dict[str, Any]], list[tuple[str, str]], Metrics, list[float]]] = {
    "zdt1": (c.float_params(6), [("f1", "minimize"), ("f2", "minimize")], zdt1, [1.0, 10.0]),
    "dtlz2": (c.float_params(6), [(f"f{i}", "minimize") for i in (1, 2, 3)], dtlz2, [2.0] * 3),
    "mixed": (_mixed_space(), [("f1", "minimize"), ("f2", "minimize")], mixed, [3.0, 3.0]),
    "sklearn": (SKLEARN_SPACE, [("accuracy", "maximize")], sklearn_task, []),
}
"""Space, objectives, metrics and hypervolume reference point (losses) of each task."""


def raw_score(
    records: Sequence[Any], objectives: Sequence[tuple[str, str]], ref: list[float]
) -> float:
    """Hypervolume of the front (several objectives) or the best value (one)."""
    sign = np.array([-1.0 if d == "maximize" else 1.0 for _, d in objectives])
    rows = [r.status.values for r in records if r.state == "Succeeded" and r.status.values]
    points = np.array(rows, dtype=float).reshape(-1, len(objectives)) * sign
    if len(objectives) == 1:
        return float(-points.min()) if len(points) else float("nan")
    points = points[np.all(points < np.array(ref), axis=1)]
    if not len(points):
        return 0.0
    front = points[nondominated_mask(points)]
    return float(compute_hypervolume(front, np.array(ref), assume_pareto=True))


def run_task(
    task: str, seeds: Sequence[int], trials: int, algorithms: Sequence[str], n_a: int
) -> tuple[dict[str, Any], dict[str, list[PastStudy]]]:
    """Raw score and CPU seconds of every (algorithm, seed); the studies of set A as the
    engine sees finished studies."""
    parameters, objectives, metrics, ref = TASKS[task]

    def evaluate(p: dict[str, Any]) -> tuple[dict[str, float], None]:
        return metrics(p), None

    out: dict[str, Any] = {}
    history: dict[str, list[PastStudy]] = {}
    for algorithm in algorithms:
        rows = []
        for seed in seeds:
            cpu = time.process_time()
            records = c.search(algorithm, parameters, objectives, evaluate, seed, trials)
            score = raw_score(records, objectives, ref)
            rows.append({"seed": seed, "score": score, "cpu": time.process_time() - cpu})
            if seed < n_a:
                history.setdefault(algorithm, []).append(
                    PastStudy(f"{algorithm}-{seed}", algorithm, records)
                )
        out[algorithm] = rows
        print(f"{task} {algorithm}: done", flush=True)
    return out, history


def gains(picks: Sequence[str], med_b: Mapping[str, float], fixed: str) -> dict[str, Any]:
    """What the picks are worth on set B against the fixed rule's algorithm."""
    diffs = [med_b[p] - med_b[fixed] for p in picks]
    return {
        "picks": dict(Counter(picks)),
        "mean_gain_on_b": float(np.mean(diffs)),
        "better": sum(d > 0 for d in diffs),
        "worse": sum(d < 0 for d in diffs),
        "of": len(diffs),
    }


def analyse(
    task: str,
    runs: Mapping[str, list[dict[str, Any]]],
    history: Mapping[str, list[PastStudy]],
    n_a: int,
    trials: int,
) -> dict[str, Any]:
    """Scores on A and B, the fixed rule's pick, and what history's picks are worth on B:
    the naive pick (best of one study each, ahead by a margin) and the engine's rule
    (`from_history`) given k studies of each algorithm, over every choice of k seeds of A."""
    parameters, objectives, _, _ = TASKS[task]
    multi = len(objectives) > 1
    top = max(r["score"] for rows in runs.values() for r in rows)
    norm = {
        a: np.array([r["score"] / top if multi else r["score"] for r in rows])
        for a, rows in runs.items()
    }
    a_set = {a: v[:n_a] for a, v in norm.items()}
    med_b = {a: float(np.median(v[n_a:])) for a, v in norm.items()}
    spec = c.study_spec(parameters, objectives, "auto", 0, trials)
    fixed_choice = resolve_algorithm(spec)
    fixed = fixed_choice.name
    naive = {}
    for m in MARGINS:
        picks = []
        for i in range(n_a):
            scores = {a: float(v[i]) for a, v in a_set.items()}
            best = max(scores, key=lambda a: scores[a])
            picks.append(best if scores[best] - scores[fixed] > m else fixed)
        naive[m] = gains(picks, med_b, fixed)
    rule = {}
    for k in sorted(k for k in {1, 2, MIN_STUDIES, n_a} if k <= n_a):
        picks = []
        for combo in itertools.combinations(range(n_a), k):
            past = [h[i] for h in history.values() for i in combo]
            picks.append(from_history(spec, fixed_choice, past).name)
        rule[k] = gains(picks, med_b, fixed)
    return {
        "fixed": fixed,
        "best_on_b": max(med_b, key=lambda a: med_b[a]),
        "a": {a: c.stats(list(v)) for a, v in a_set.items()},
        "b": {a: c.stats(list(v[n_a:])) for a, v in norm.items()},
        "cpu": {a: c.stats([r["cpu"] for r in rows]) for a, rows in runs.items()},
        "naive": naive,
        "rule": rule,
    }


def _picks(g: Mapping[str, Any]) -> str:
    return ", ".join(f"{a} {n}" for a, n in sorted(g["picks"].items()))


def main(argv: Sequence[str] | None = None) -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--tasks", default=",".join(TASKS))
        parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
        parser.add_argument("--trials", type=int, default=None)

    args = c.parse_args(argv, __doc__.splitlines()[0] if __doc__ else NAME, extra)
    seeds = args.seeds or (2 if args.quick else 5)
    trials = args.trials or (8 if args.quick else 40)
    algorithms = args.algorithms.split(",")
    tasks = ["mixed"] if args.quick else args.tasks.split(",")
    all_seeds = list(range(2 * seeds))  # A = first half (history), B = second half (new)
    results, rows, pick_rows = {}, [], []
    for task in tasks:
        load = [round(x, 1) for x in os.getloadavg()]
        runs, history = run_task(task, all_seeds, trials, algorithms, seeds)
        summary = analyse(task, runs, history, seeds, trials)
        summary["load"] = [load, [round(x, 1) for x in os.getloadavg()]]
        results[task] = {"runs": runs, "summary": summary}
        for a in algorithms:
            mark = " (rule)" if a == summary["fixed"] else ""
            mark += " (best B)" if a == summary["best_on_b"] else ""
            cpu = f"{summary['cpu'][a]['median']:.2f}"
            rows.append([task, a + mark, c.show(summary["a"][a]), c.show(summary["b"][a]), cpu])
        for how, table in (
            ("one each, margin", summary["naive"]),
            ("rule, studies", summary["rule"]),
        ):
            for key, g in table.items():
                better = f"{g['better']}/{g['worse']}/{g['of']}"
                mean = f"{g['mean_gain_on_b']:+.3f}"
                pick_rows.append([task, summary["fixed"], f"{how} {key}", _picks(g), better, mean])
        print(f"{task}: load {summary['load']}", flush=True)
    headers = ["task", "algorithm", f"score A ({seeds} seeds)", f"score B ({seeds} seeds)", "CPU s"]
    c.print_table(f"Scores at {trials} trials (median [q1, q3])", headers, rows)
    pick_headers = ["task", "rule", "history", "picks", "better/worse/of", "mean gain on B"]
    c.print_table("History's picks against the fixed rule, on set B", pick_headers, pick_rows)
    payload = {
        "trials": trials,
        "seeds_per_set": seeds,
        "headers": headers,
        "rows": rows,
        "pick_headers": pick_headers,
        "pick_rows": pick_rows,
        "tasks": results,
    }
    c.write_results(args.out, NAME, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
