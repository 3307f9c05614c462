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

import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import numpy as np
from optuna._hypervolume import compute_hypervolume

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
    task: str, seeds: Sequence[int], trials: int, algorithms: Sequence[str]
) -> dict[str, Any]:
    """Raw score and CPU seconds of every (algorithm, seed)."""
    parameters, objectives, metrics, ref = TASKS[task]

    def evaluate(p: dict[str, Any]) -> tuple[dict[str, float], None]:
        return metrics(p), None

    out: dict[str, Any] = {}
    for algorithm in algorithms:
        rows = []
        for seed in seeds:
            cpu = time.process_time()
            records = c.search(algorithm, parameters, objectives, evaluate, seed, trials)
            rows.append(
                {
                    "seed": seed,
                    "score": raw_score(records, objectives, ref),
                    "cpu": time.process_time() - cpu,
                }
            )
        out[algorithm] = rows
        print(f"{task} {algorithm}: done", flush=True)
    return out


def analyse(
    task: str, runs: Mapping[str, list[dict[str, Any]]], n_a: int, trials: int
) -> dict[str, Any]:
    """Normalised scores on A and B, the fixed rule's pick, and what history's pick is worth."""
    parameters, objectives, _, _ = TASKS[task]
    multi = len(objectives) > 1
    top = max(r["score"] for rows in runs.values() for r in rows)
    norm = {
        a: np.array([r["score"] / top if multi else r["score"] for r in rows])
        for a, rows in runs.items()
    }
    a_set = {a: v[:n_a] for a, v in norm.items()}
    b_set = {a: v[n_a:] for a, v in norm.items()}
    fixed = resolve_algorithm(c.study_spec(parameters, objectives, "auto", 0, trials)).name
    med_a = {a: float(np.median(v)) for a, v in a_set.items()}
    med_b = {a: float(np.median(v)) for a, v in b_set.items()}
    best_b = max(med_b, key=lambda a: med_b[a])
    pooled = max(med_a, key=lambda a: med_a[a])
    # One study per algorithm in history: seed i of A for every algorithm.
    picks = {m: [] for m in MARGINS}  # type: dict[float, list[str]]
    for i in range(n_a):
        scores = {a: float(v[i]) for a, v in a_set.items()}
        best = max(scores, key=lambda a: scores[a])
        for m in MARGINS:
            picks[m].append(best if scores[best] - scores[fixed] > m else fixed)
    noise = {a: float(np.subtract(*np.percentile(v, [75, 25]))) for a, v in a_set.items()}
    outcome = {}
    for m, chosen in picks.items():
        diffs = [med_b[p] - med_b[fixed] for p in chosen]
        outcome[m] = {
            "picks": chosen,
            "median_gain_on_b": float(np.median(diffs)),
            "better": sum(d > 0 for d in diffs),
            "worse": sum(d < 0 for d in diffs),
        }
    return {
        "fixed": fixed,
        "best_on_b": best_b,
        "pooled_pick": pooled,
        "pooled_gain_on_b": med_b[pooled] - med_b[fixed],
        "a": {a: c.stats(list(v)) for a, v in a_set.items()},
        "b": {a: c.stats(list(v)) for a, v in b_set.items()},
        "iqr_a": noise,
        "cpu": {a: c.stats([r["cpu"] for r in rows]) for a, rows in runs.items()},
        "one_each": outcome,
    }


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
        load = [round(x, 1) for x in __import__("os").getloadavg()]
        runs = run_task(task, all_seeds, trials, algorithms)
        summary = analyse(task, runs, seeds, trials)
        summary["load_before"] = load
        results[task] = {"runs": runs, "summary": summary}
        for a in algorithms:
            mark = (" (rule)" if a == summary["fixed"] else "") + (
                " (best B)" if a == summary["best_on_b"] else ""
            )
            rows.append(
                [
                    task,
                    a + mark,
                    c.show(summary["a"][a]),
                    c.show(summary["b"][a]),
                    f"{summary['cpu'][a]['median']:.2f}",
                ]
            )
        for m in MARGINS:
            o = summary["one_each"][m]
            pick_rows.append(
                [
                    task,
                    summary["fixed"],
                    summary["pooled_pick"],
                    f"{summary['pooled_gain_on_b']:+.3f}",
                    m,
                    ",".join(o["picks"]),
                    f"{o['median_gain_on_b']:+.3f}",
                    f"{o['better']}/{o['worse']}",
                ]
            )
    headers = [
        "task",
        "algorithm",
        f"score A ({seeds} seeds)",
        f"score B ({seeds} seeds)",
        "CPU s/study",
    ]
    c.print_table(f"Scores at {trials} trials (median [q1, q3])", headers, rows)
    pick_headers = [
        "task",
        "rule",
        "pooled pick",
        "its gain on B",
        "margin",
        "one-each picks",
        "median gain on B",
        "better/worse than rule",
    ]
    c.print_table("History's pick against the fixed rule", pick_headers, pick_rows)
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
