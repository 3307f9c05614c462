"""Warm start: does a study started from an earlier one's trials get there sooner, and
does it do no harm when the earlier study was about something else?

Each seed runs a source study, then the target study twice with the same seed: cold
(no priors) and warm (`spec.warmStart`, the source's trials as priors, matched by the
engine exactly as `tradeoff run` and the operator match them). Everything runs through
the Engine in-process.

Tasks:
- ``shifted`` (related, analytic): two objectives on four floats in [0, 1], the squared
  distances to two points a and b (minimise both; the front is the segment a-b). The
  source has a and b; the target moves both by 0.1 in every coordinate.
- ``cash`` (related, real): the CASH space (five model families, conditional
  hyperparameters, scaler, data fraction), accuracy to maximise; the source on
  breast_cancer, the target on digits (both bundled with scikit-learn; ``--cash``
  chooses another pair), evaluated through
  `trial_runner.sklearn` in-process. Best value, as cost is measured with noise; with
  ``--cash-cost`` the objectives are accuracy and cost (USD from the trial's CPU seconds)
  and the measure is hypervolume, scaled as section 1 scales CASH (between the ideal and
  nadir of every target point of the run, reference point 1.1).
- ``mirrored`` (unrelated, analytic): as ``shifted``, but the target's points are
  1 - a and 1 - b: the source's good region is the target's bad one.

Measures, per seed: the cold study's final hypervolume (``shifted``, ``mirrored``; fixed
reference point 1.0 in both objectives) or best accuracy (``cash``, or its hypervolume
with ``--cash-cost``); the trials the warm
study takes to reach it (the requirement: at most a third of the budget, median over
seeds); and the warm study's final value against the cold one's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import mo_efficiency
import numpy as np
from optuna._hypervolume import compute_hypervolume

from tradeoff.api import Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import StudySpec
from tradeoff.engine import Engine, transfer
from tradeoff.engine.priors import Source, match

NAME = "warm_start"
DIMS = 4
A = np.array([0.2, 0.3, 0.25, 0.35])
B = np.array([0.45, 0.2, 0.4, 0.3])
SHIFT = 0.1
REFERENCE = 1.0
CASH_REFERENCE = 1.1
"""Section 1's reference point for CASH in scaled units (the nadir plus 10% of the range)."""
Metrics = Callable[[dict[str, Any]], tuple[dict[str, float], TrialEconomics | None]]


def two_points(a: np.ndarray, b: np.ndarray) -> Metrics:
    def metrics(p: dict[str, Any]) -> tuple[dict[str, float], TrialEconomics | None]:
        x = np.array([p[f"x{i}"] for i in range(DIMS)])
        return {"f1": float(((x - a) ** 2).sum()), "f2": float(((x - b) ** 2).sum())}, None

    return metrics


def cash(dataset: str) -> Metrics:
    """The CASH workload on `dataset`; `synthetic@7` is generated data with seed 7 (another
    draw of scikit-learn's `make_classification`: a related task, not the same data)."""
    import _cash

    name, _, seed = dataset.partition("@")

    def metrics(p: dict[str, Any]) -> tuple[dict[str, float], TrialEconomics | None]:
        values, cpu_seconds = _cash.workload_metrics(p, name, int(seed or 0))
        return values, _cash.economics(cpu_seconds)

    return metrics


def spec_of(
    task: str,
    seed: int,
    trials: int,
    warm: bool,
    first: Sequence[Mapping[str, Any]] = (),
    leaders: bool = False,
    pace: bool = False,
    cost: bool = False,
) -> StudySpec:
    """`leaders`: `warmStart.bestPerBranchFirst`; `pace`: `warmStart.paceByBranch` (CASH
    only: the analytic spaces have no branches, and the engine refuses both there); `cost`:
    CASH with cost as a second objective."""
    extra: dict[str, Any] = {}
    if warm:
        points = [{"parameters": dict(p)} for p in first]
        warm_start = {"fromStudies": [{"name": "source"}], "trials": points}
        if leaders and task == "cash":
            warm_start["bestPerBranchFirst"] = True
        if pace and task == "cash":
            warm_start["paceByBranch"] = True
        extra = {"warmStart": warm_start}
    if task == "cash":
        import _cash

        return c.study_spec(_cash.SPACE, cash_objectives(cost), "tpe", seed, trials, **extra)
    objectives = [("f1", "minimize"), ("f2", "minimize")]
    return c.study_spec(c.float_params(DIMS), objectives, "tpe", seed, trials, **extra)


def cash_objectives(cost: bool) -> list[tuple[str, str]]:
    return [("accuracy", "maximize")] + ([("cost", "minimize")] if cost else [])


def run(
    spec: StudySpec, metrics: Metrics, trials: int, sources: Sequence[Source] = ()
) -> list[Trial]:
    engine = Engine(spec, priors=match(spec, sources) if sources else None)
    records: list[Trial] = []
    while len(records) < trials:
        (s,) = engine.ask(records, 1)
        record = Trial.new(c.STUDY, s.number, s.parameters, s.sampler_state)
        c.record_result(engine, record, *metrics(dict(s.parameters)))
        records.append(record)
    return records


def curve(task: str, records: Sequence[Trial]) -> list[float]:
    """Hypervolume (analytic) or best accuracy (cash) after each trial."""
    if task == "cash":
        values = [r.status.values[0] if r.status.values else 0.0 for r in records]
        return c.best_so_far(values, maximize=True)
    out, points = [], np.empty((0, 2))
    for r in records:
        if r.status.values:
            points = np.vstack([points, np.minimum(np.array(r.status.values), REFERENCE)])
        out.append(
            float(compute_hypervolume(points, np.full(2, REFERENCE))) if len(points) else 0.0
        )
    return out


TASKS: dict[str, tuple[Metrics, Metrics] | None] = {
    "shifted": (two_points(A, B), two_points(A + SHIFT, B + SHIFT)),
    "mirrored": (two_points(A, B), two_points(1 - A, 1 - B)),
    "cash": None,  # built on first use (imports scikit-learn)
}


def best_first(task: str, source: Sequence[Trial], n: int) -> list[Mapping[str, Any]]:
    """The parameters of the source's `n` best trials (best accuracy, or lowest f1 + f2)."""
    done = [r for r in source if r.status.values]
    if task == "cash":
        done.sort(key=lambda r: -r.status.values[0])  # type: ignore[index]
    else:
        done.sort(key=lambda r: sum(r.status.values or ()))
    return [r.spec.parameters for r in done[:n]]


def without_branch_parameters(task: str, source: Sequence[Trial]) -> list[Trial]:
    """Copies of `source` with only the parameters outside every branch (no `when`)."""
    if task != "cash":
        return list(source)  # no branches: nothing to drop
    import _cash

    outside = {p["name"] for p in _cash.SPACE if "when" not in p}
    out = []
    for r in source:
        copy = r.model_copy(deep=True)
        copy.spec.parameters = {k: v for k, v in r.spec.parameters.items() if k in outside}
        out.append(copy)
    return out


def one(
    task: str,
    seed: int,
    trials: int,
    source_trials: int,
    datasets: str,
    first_n: int = 0,
    leaders: bool = False,
    pace: bool = False,
    branch_choice_only: bool = False,
    cost: bool = False,
) -> dict[str, Any]:
    """One seed: source, cold and warm; the warm study runs the source's `first_n` best
    configurations first (`--best-first`), and with `leaders` the best of each branch
    (`--best-per-branch`); with `pace` its priors are paced by branch (`--pace-by-branch`);
    with `branch_choice_only` the priors lack the parameters inside a branch. With `cost`
    (CASH) the curves are left to `hypervolume_curves`, which scales over every seed."""
    source_data, target_data = datasets.split(":")
    pair = TASKS[task] or (cash(source_data), cash(target_data))
    source_metrics, target_metrics = pair
    cost = cost and task == "cash"
    source_spec = spec_of(task, seed + 1000, source_trials, False, cost=cost)
    source = run(source_spec, source_metrics, source_trials)
    objectives = [n for n, _ in cash_objectives(cost)] if task == "cash" else ["f1", "f2"]
    priors = without_branch_parameters(task, source) if branch_choice_only else source
    sources = [Source("source", objectives, priors)]
    cold_records = run(spec_of(task, seed, trials, False, cost=cost), target_metrics, trials)
    first = best_first(task, source, first_n)
    warm_spec = spec_of(task, seed, trials, True, first, leaders, pace, cost)
    warm_records = run(warm_spec, target_metrics, trials, sources)
    out: dict[str, Any] = {"seed": seed}
    if cost:
        objectives_ = cash_objectives(cost)
        out["cold_losses"] = mo_efficiency.losses_of(cold_records, objectives_).tolist()
        out["warm_losses"] = mo_efficiency.losses_of(warm_records, objectives_).tolist()
    else:
        cold, warm = curve(task, cold_records), curve(task, warm_records)
        reach = c.first_reaching(warm, cold[-1], maximize=True)
        out.update(cold=cold, warm=warm, warm_trials_to_cold_final=reach)
    if task == "cash":  # which model family each warm trial ran, to read the curves by
        out["warm_models"] = [r.spec.parameters.get("model") for r in warm_records]
    return out


def hypervolume_curves(runs: Sequence[dict[str, Any]]) -> None:
    """Fill in each run's hypervolume curves (cold, warm) and reach, scaled as section 1
    scales CASH: between the ideal and nadir of every point of every run given, and divided
    by the hypervolume of all those points' front."""
    every = np.vstack([np.array(r[k]) for r in runs for k in ("cold_losses", "warm_losses")])
    every = every[~np.isnan(every).any(axis=1)]
    ideal, nadir = every.min(axis=0), every.max(axis=0)
    best = mo_efficiency.true_hv(every, ideal, nadir, CASH_REFERENCE)  # 1.0: every point's front
    for r in runs:
        for k in ("cold", "warm"):
            points = np.array(r[f"{k}_losses"])
            r[k] = mo_efficiency.hv_curve(points, ideal, nadir, best, CASH_REFERENCE)
        r["warm_trials_to_cold_final"] = c.first_reaching(r["warm"], r["cold"][-1], True)


def summarise(task: str, runs: Sequence[Mapping[str, Any]], trials: int) -> list[Any]:
    reach = [r["warm_trials_to_cold_final"] for r in runs]
    # A warm study that never reaches the cold one's final value counts as "more than the budget".
    reach_ = [x if x is not None else trials + 1 for x in reach]
    cold = [r["cold"][-1] for r in runs]
    warm = [r["warm"][-1] for r in runs]
    diff = [w - k for w, k in zip(warm, cold, strict=True)]
    third = sorted(reach_)[len(reach_) // 2] <= trials / 3
    return [
        task,
        trials,
        len(runs),
        c.show(c.stats(cold)),
        c.show(c.stats(warm)),
        c.show(c.stats([float(x) for x in reach_])) + f" (never: {reach.count(None)})",
        "yes" if third else "no",
        c.show(c.stats(diff), digits=2),
        c.show(c.stats([r["cold"][trials // 3 - 1] for r in runs])),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--tasks", default="shifted,mirrored,cash")
        parser.add_argument("--trials", type=int, default=None, help="target budget")
        parser.add_argument("--cash", default="breast_cancer:digits", help="SOURCE:TARGET")
        parser.add_argument(
            "--ungated", action="store_true", help="priors always inform (no agreement check)"
        )
        parser.add_argument(
            "--best-first", type=int, default=0, help="run the source's N best configurations first"
        )
        parser.add_argument(
            "--best-per-branch",
            action="store_true",
            help="warmStart.bestPerBranchFirst: the source's best of each model family first",
        )
        parser.add_argument(
            "--pace-by-branch",
            action="store_true",
            help="warmStart.paceByBranch: per model family, no more priors than own results",
        )
        parser.add_argument(
            "--branch-choice-only",
            action="store_true",
            help="priors without the parameters inside a branch (a probe; the engine is unchanged)",
        )
        parser.add_argument(
            "--source-trials", type=int, default=None, help="source budget (default: the target's)"
        )
        parser.add_argument(
            "--cash-cost",
            action="store_true",
            help="CASH with cost as a second objective, measured by hypervolume",
        )
        parser.add_argument("--name", default=NAME, help="results file name")

    args = c.parse_args(argv, __doc__.splitlines()[0] if __doc__ else NAME, extra)
    seeds = args.seeds or (2 if args.quick else 5)
    if args.ungated:  # what the engine's check (tradeoff.engine.transfer) prevents
        transfer.MIN_OWN = 10**9
    results: dict[str, list[dict[str, Any]]] = {}
    rows = []
    for task in args.tasks.split(","):
        trials = args.trials or (6 if args.quick else 30 if task == "cash" else 60)
        if args.quick and task == "cash":
            continue  # seconds per trial: the analytic tasks test the code path
        results[task] = [
            one(
                task,
                seed,
                trials,
                args.source_trials or trials,
                args.cash,
                args.best_first,
                args.best_per_branch,
                args.pace_by_branch,
                args.branch_choice_only,
                args.cash_cost,
            )
            for seed in range(seeds)
        ]
        if args.cash_cost and task == "cash":
            hypervolume_curves(results[task])
        rows.append(summarise(task, results[task], trials))
        print(f"{task}: done", flush=True)
    headers = [
        "task",
        "trials",
        "seeds",
        "cold final",
        "warm final",
        "warm trials to cold final",
        "<= 1/3?",
        "warm - cold final",
        "cold at 1/3",
    ]
    c.print_table("Warm start against cold start (median [q1, q3] over seeds)", headers, rows)
    payload = {
        "headers": headers,
        "rows": rows,
        "runs": results,
        "ungated": args.ungated,
        "source_trials": args.source_trials,
        "best_first": args.best_first,
        "best_per_branch": args.best_per_branch,
        "pace_by_branch": args.pace_by_branch,
        "branch_choice_only": args.branch_choice_only,
        "cash_cost": args.cash_cost,
    }
    c.write_results(args.out, args.name, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
