"""Local mode against raw Optuna at scale: 1,000 instant two-objective trials, CPU and wall.

One side is ``tradeoff run study.yaml``; the other a script calling Optuna's
``study.optimize`` (``n_jobs`` = the parallelism) whose objective runs the same trial
command with ``subprocess.run`` and parses the same metric lines, with the same sampler
(TPE with the constant liar, as the engine builds it, or random). Each trial is an
instant ``python -c`` printing two metric lines (``--trial python``, the interpreter's
start is its whole cost) or a ``printf`` of them (``--trial printf``: next to nothing,
so what is measured is the orchestration alone) or, with ``--trial timed``, a small C program
(built with ``cc``) that prints them and appends when it started and ended (monotonic
clock) to a file, from which the latency between one child's exit and the next child's
start is measured on both sides at parallelism 1. Both
sides run as fresh processes (interpreter start and imports included) inside a small
wrapper that records ``getrusage`` of the process itself (the orchestrator) and of its
reaped children (the trials); wall time is taken around the process. The sides alternate
within each repeat, so both see the same machine load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import numpy as np

NAME = "local_scale"
PRINTF = shutil.which("printf") or "/usr/bin/printf"
FORMAT = "a=%s\\nb=%s\\n"
"""Two metric lines: ``a`` (minimised) is the parameter x, ``b`` (maximised) is y."""
PYTHON_TRIAL = "import sys; x, y = sys.argv[1:3]; print(f'a={x}'); print(f'b={y}')"


TIMED_TRIAL = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(int argc, char **argv) {
    double started = now();
    if (argc < 3) return 2;
    printf("a=%s\nb=%s\n", argv[1], argv[2]);
    fflush(stdout);
    const char *times = getenv("TRIAL_TIMES");
    if (times) {
        char line[64];
        int fd = open(times, O_WRONLY | O_APPEND | O_CREAT, 0644);
        int n = snprintf(line, sizeof line, "%.6f %.6f\n", started, now());
        if (fd < 0 || write(fd, line, n) != n) return 3;
        close(fd);
    }
    return 0;
}
"""
"""The ``timed`` trial: the metric lines, then when it started and ended to $TRIAL_TIMES."""


def _timed_trial() -> str:
    """The ``timed`` trial's executable, built once per machine (in the temporary folder)."""
    folder = Path(tempfile.gettempdir()) / "tradeoff-local-scale-timed"
    binary = folder / f"trial-{abs(hash(TIMED_TRIAL)) % 10**8}"
    if not binary.exists():
        folder.mkdir(exist_ok=True)
        source = folder / "trial.c"
        source.write_text(TIMED_TRIAL, encoding="utf-8")
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise SystemExit("--trial timed needs a C compiler (cc)")
        subprocess.run([compiler, "-O2", "-o", str(binary), str(source)], check=True)
    return str(binary)


def trial_command(kind: str) -> list[str]:
    """The trial's argv before its two parameters."""
    if kind == "python":
        return [sys.executable, "-c", PYTHON_TRIAL]
    if kind == "timed":
        return [_timed_trial()]
    return [PRINTF, FORMAT.replace("\\n", "\n")]


def exit_to_start_ms(times: Path) -> list[float]:
    """Per pair of consecutive trials (one at a time): milliseconds from the end of one
    to the start of the next, both as the trials themselves saw them."""
    spans = sorted(
        (float(a), float(b)) for a, b in (line.split() for line in times.read_text().splitlines())
    )
    return [1e3 * (spans[i + 1][0] - spans[i][1]) for i in range(len(spans) - 1)]


WRAPPER = """
import json, resource, runpy, sys
out, argv = sys.argv[1], sys.argv[2:]
sys.argv = argv
code = 0
try:
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
own = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    json.dump({"self": own.ru_utime + own.ru_stime,
               "children": kids.ru_utime + kids.ru_stime, "code": code}, f)
sys.exit(code)
"""

OPTUNA_SCRIPT = """
import subprocess, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
trials, jobs, sampler, command = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    out = subprocess.run([*command, repr(x), repr(y)], capture_output=True, text=True,
                         check=True)
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return float(values["a"]), float(values["b"])
if sampler == "tpe":
    chosen = optuna.samplers.TPESampler(seed=0, constant_liar=True)
else:
    chosen = optuna.samplers.RandomSampler(seed=0)
study = optuna.create_study(directions=["minimize", "maximize"], sampler=chosen)
study.optimize(objective, n_trials=int(trials), n_jobs=int(jobs))
assert len(study.trials) == int(trials)
"""


TRACER = """
import functools, importlib, json, statistics, sys, time
out, argv = sys.argv[1], sys.argv[2:]
STEPS = [
    ("tradeoff.local.executor", "LocalExecutor._reap", "reap: wait4, journal, result"),
    ("tradeoff.local.runner", "StudyRunner._on_result", "take the result: pricing, lifecycle"),
    ("tradeoff.local.trial_processes", "TrialProcesses.finish", "  of which energy and pricing"),
    ("tradeoff.local.runner", "StudyRunner._check_stop", "stop rules"),
    ("tradeoff.engine.core", "Engine.ask", "the engine's ask"),
    ("tradeoff.local.trial_processes", "TrialProcesses.render", "render the pod"),
    ("tradeoff.local.store", "FileStore.save_trial", "save a record"),
    ("tradeoff.local.energy", "EnergyMeter.begin", "energy meter (CodeCarbon folder)"),
    ("tradeoff.local.executor", "LocalExecutor.environment", "environment"),
    ("tradeoff.local.artifacts", "prepare", "artifact folder"),
    ("tradeoff.local.executor", "LocalExecutor._spawn", "pipes, Popen until the child's exec"),
    ("tradeoff.local.children", "ChildRecords.record", "journal the child"),
    ("tradeoff.local.attempt", "Attempt.open_log", "open the log"),
    ("tradeoff.local.run_publisher", "SummaryPublisher.publish", "summary and progress"),
]
calls = []
def wrap(module, name, label):
    owner = importlib.import_module(module)
    if "." in name:
        cls, name = name.split(".")
        owner = getattr(owner, cls)
    function = getattr(owner, name)
    @functools.wraps(function)
    def timed(*a, **k):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*a, **k)
        finally:
            calls.append((label, wall, time.perf_counter(), time.thread_time() - cpu, cpu))
    setattr(owner, name, timed)
import tradeoff.cli
for step in STEPS:
    wrap(*step)
code = tradeoff.cli.main(argv)
calls.sort(key=lambda c: c[1])
cycles, current = [], None
for call in calls:
    if call[0].startswith("reap"):
        current = [call]
        cycles.append(current)
    elif current is not None:
        current.append(call)
path, path_cpu, steps, order = [], [], {}, {}
for cycle in cycles[5:-5]:  # one trial's exit to the next one's start (parallelism 1)
    spawn = next((c for c in cycle if c[0].startswith("pipes")), None)
    if spawn is None:
        continue
    spawned = spawn[2]
    path.append(1e3 * (spawned - cycle[0][1]))
    path_cpu.append(1e3 * (spawn[4] + spawn[3] - cycle[0][4]))
    for label, start, end, cpu, _ in cycle:
        key = label + (" (before the start)" if start <= spawned else " (after it)")
        order.setdefault(key, len(order))
        steps.setdefault(key, ([], []))
        steps[key][0].append(1e3 * (end - start))
        steps[key][1].append(1e3 * cpu)
result = {
    "reap_to_popen_ms": statistics.median(path),
    "reap_to_popen_mean_ms": statistics.mean(path),
    "reap_to_popen_cpu_ms": statistics.median(path_cpu),
    "steps": [
        {"step": k, "calls": len(steps[k][0]), "wall_ms": statistics.median(steps[k][0]),
         "cpu_ms": statistics.median(steps[k][1])}
        for k in sorted(steps, key=order.get)
    ],
}
with open(out, "w") as f:
    json.dump(result, f)
sys.exit(code)
"""
"""``tradeoff run`` with its steps timed (wall and the runner thread's CPU, per call):
each cycle from reaping one trial's child to the next child's ``Popen`` returning, at
parallelism 1; the median of each step per cycle, marked before or after that start."""


def trace_path(trials: int, tree: Path | None = None) -> dict[str, Any]:
    """The critical path of a ``tradeoff run`` of ``trials`` random-search ``timed``
    trials, one at a time (``TRACER``), with this checkout's or ``tree``'s tradeoff."""
    work = Path(tempfile.mkdtemp(prefix="tradeoff-local-trace-"))
    try:
        study = work / "study.yaml"
        study.write_text(json.dumps(manifest(trials, 1, "random", "timed")), "utf-8")
        argv = ["run", str(study), "--workdir", str(work / "records"), "--no-progress", "--quiet"]
        env = dict(os.environ)
        if tree is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(tree / "operator"), str(tree)])
        traced = work / "trace.json"
        command = [sys.executable, "-c", TRACER, str(traced), *argv]
        subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        result: dict[str, Any] = json.loads(traced.read_text(encoding="utf-8"))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def manifest(trials: int, parallelism: int, sampler: str, trial: str) -> dict[str, Any]:
    command = [*trial_command(trial), "${params.x}", "${params.y}"]
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "local-scale"},
        "spec": {
            "objectives": [
                {"name": "a", "direction": "minimize"},
                {"name": "b", "direction": "maximize"},
            ],
            "parameters": [
                {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
                {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
            ],
            "algorithm": {"name": sampler, "seed": 0},
            "budget": {"maxTrials": trials, "parallelism": parallelism},
            "trialTemplate": {
                "pod": {"containers": [{"name": "trial", "image": "none", "command": command}]}
            },
        },
    }


def _measure(argv: list[str], work: Path, tree: Path | None = None) -> dict[str, float]:
    """Wall, orchestrator CPU and trial CPU seconds of ``python argv`` (in the wrapper);
    ``tree``: a checkout whose ``tradeoff`` to import instead of this one's. With timed
    trials (which find $TRIAL_TIMES), the median and mean latency from one trial's exit
    to the next one's start (``gap_ms``, ``gap_mean_ms``; meaningful one at a time)."""
    usage = work / "usage.json"
    times = work / "trial-times.txt"
    command = [sys.executable, "-c", WRAPPER, str(usage), *argv]
    env = dict(os.environ, TRIAL_TIMES=str(times))
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree / "operator"), str(tree)])
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {done.returncode}: {done.stderr.strip()[-800:]}")
    measured = json.loads(usage.read_text(encoding="utf-8"))
    own, kids = float(measured["self"]), float(measured["children"])
    result = {"wall": wall, "orchestrator_cpu": own, "trial_cpu": kids, "cpu": own + kids}
    if times.exists():
        gaps = exit_to_start_ms(times)
        result["gap_ms"], result["gap_mean_ms"] = float(np.median(gaps)), float(np.mean(gaps))
    return result


def run_tradeoff(
    trials: int, parallelism: int, sampler: str, trial: str, tree: Path | None = None
) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="tradeoff-local-scale-"))
    try:
        study = work / "study.yaml"
        # JSON (YAML's subset): every string quoted, so the parameter `y` stays a name
        # (an unquoted y is a boolean to kubectl and to `tradeoff run`).
        study.write_text(json.dumps(manifest(trials, parallelism, sampler, trial)), "utf-8")
        argv = ["-m", "tradeoff.cli", "run", str(study), "--workdir", str(work / "records")]
        result = _measure([*argv, "--no-progress", "--quiet"], work, tree)
        finished = len(list((work / "records" / "trials").glob("*.json")))
        if finished != trials:
            raise RuntimeError(f"tradeoff run left {finished} records, not {trials}")
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_optuna(trials: int, parallelism: int, sampler: str, trial: str) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="optuna-local-scale-"))
    try:
        script = work / "optuna_study.py"
        script.write_text(OPTUNA_SCRIPT, encoding="utf-8")
        argv = [str(script), str(trials), str(parallelism), sampler, *trial_command(trial)]
        return _measure(argv, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(
    trials: int,
    parallelism: int,
    sampler: str,
    trial: str,
    repeats: int,
    trees: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Each side ``repeats`` times, in turn (the order rotating); medians [IQR] and the
    per-repeat ratios to raw Optuna. ``trees``: also run the ``tradeoff`` of these
    checkouts (by name), e.g. the code before a change."""
    trees = trees or {}
    sides = ["tradeoff", "optuna", *trees]
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for i in range(repeats):
        for side in sides[i % len(sides) :] + sides[: i % len(sides)]:
            if side == "optuna":
                runs[side].append(run_optuna(trials, parallelism, sampler, trial))
            else:
                tree = trees.get(side)
                runs[side].append(run_tradeoff(trials, parallelism, sampler, trial, tree))
        shown = "; ".join(
            f"{side} wall {r[-1]['wall']:.1f} s cpu {r[-1]['cpu']:.1f} s"
            f" (own {r[-1]['orchestrator_cpu']:.1f})"
            for side, r in runs.items()
        )
        print(
            f"  {sampler} p{parallelism} #{i}: {shown}; load {os.getloadavg()[0]:.1f}", flush=True
        )
    keys = ["wall", "cpu", "orchestrator_cpu", "trial_cpu"]
    if all("gap_ms" in r for side in sides for r in runs[side]):
        keys += ["gap_ms", "gap_mean_ms"]
    result: dict[str, Any] = {
        "trials": trials,
        "parallelism": parallelism,
        "sampler": sampler,
        "trial": trial,
        "runs": runs,
        "load_average": os.getloadavg(),
    }
    for side in sides:
        result[side] = {k: _spread([r[k] for r in runs[side]]) for k in keys}
        if side != "optuna":
            pairs = list(zip(runs[side], runs["optuna"], strict=True))
            result[f"{side}_ratio"] = {
                k: _spread([t[k] / o[k] for t, o in pairs])
                for k in ("wall", "cpu", "orchestrator_cpu")
            }
    return result


def _spread(values: list[float]) -> dict[str, Any]:
    """Median, quartiles, count, and the least and greatest value."""
    return {**c.stats(values), "min": min(values), "max": max(values)}


def _show(s: dict[str, Any]) -> str:
    """``median [min, max]``."""
    return f"{s['median']:.3g} [{s['min']:.3g}, {s['max']:.3g}]"


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--trials", type=int, default=None, help="trials per study (1000)")
        p.add_argument("--parallelism", default="1,4", help="e.g. 1,4")
        p.add_argument("--samplers", default="tpe,random", help="tpe, random or both")
        p.add_argument("--trial", default="python", choices=["python", "printf", "timed"])
        p.add_argument("--name", default=NAME, help="name of the JSON file")
        p.add_argument(
            "--trees",
            default="",
            help="other checkouts of tradeoff to run too, e.g. before=/path/to/main",
        )
        p.add_argument(
            "--trace",
            action="store_true",
            help="instead: time each step from a trial's exit to the next start (random"
            " search, timed trials, one at a time), each side in turn, --seeds times",
        )

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    trials = args.trials or (20 if args.quick else 1000)
    repeats = args.seeds or (1 if args.quick else 3)
    load_before = os.getloadavg()
    trees = {
        name: Path(path) for name, _, path in (t.partition("=") for t in args.trees.split(",") if t)
    }
    if args.trace:
        return _trace(trials, repeats, trees, args)
    results = [
        compare(trials, int(p), sampler, args.trial, repeats, trees)
        for sampler in args.samplers.split(",")
        for p in args.parallelism.split(",")
    ]
    rows = []
    for r in results:
        for side in ("optuna", "tradeoff", *trees):
            row = [r["sampler"], r["parallelism"], side]
            row += [_show(r[side][k]) for k in ("wall", "cpu", "orchestrator_cpu", "trial_cpu")]
            gap = r[side].get("gap_ms") if r["parallelism"] == 1 else None
            row.append("" if gap is None else _show(gap))
            ratios = r.get(f"{side}_ratio", {})
            row += [_show(ratios[k]) if ratios else "" for k in ("wall", "cpu", "orchestrator_cpu")]
            rows.append(row)
    c.print_table(
        f"{trials} instant two-objective trials ({args.trial}), median [min, max] of {repeats},"
        " seconds (exit to start: milliseconds from one trial's exit to the next one's start)",
        [
            "sampler",
            "parallelism",
            "side",
            "wall",
            "CPU",
            "own CPU",
            "trial CPU",
            "exit to start",
            "wall / optuna",
            "CPU / optuna",
            "own / optuna",
        ],
        rows,
    )
    print(f"load average before {load_before}, after {os.getloadavg()}")
    payload = {"results": results, "load_before": load_before, "load_after": os.getloadavg()}
    c.write_results(args.out, args.name, payload)
    return 0


def _trace(trials: int, repeats: int, trees: dict[str, Path], args: Any) -> int:
    """``--trace``: each side's critical path ``repeats`` times, in turn; a table each."""
    sides: dict[str, Path | None] = {"tradeoff": None, **trees}
    traces: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for _ in range(repeats):
        for side, tree in sides.items():
            traces[side].append(trace_path(trials, tree))
            print(f"  {side}: load {os.getloadavg()[0]:.1f}", flush=True)
    for side, runs in traces.items():
        path = _spread([r["reap_to_popen_ms"] for r in runs])
        cpu_path = _spread([r.get("reap_to_popen_cpu_ms", float("nan")) for r in runs])
        rows = []
        for step in [s["step"] for s in runs[0]["steps"]]:
            found = [s for r in runs for s in r["steps"] if s["step"] == step]
            wall = _spread([s["wall_ms"] for s in found])
            cpu = _spread([s["cpu_ms"] for s in found])
            rows.append([step, found[0]["calls"], _show(wall), _show(cpu)])
        c.print_table(
            f"{side}: reap to the next Popen returned {_show(path)} ms, {_show(cpu_path)} ms"
            f" of the runner's CPU (median per run [min, max] of {repeats} runs of {trials}"
            " trials)",
            ["step", "calls", "wall ms", "CPU ms"],
            rows,
        )
    print(f"load average after {os.getloadavg()}")
    c.write_results(args.out, args.name, {"trace": traces, "load_after": os.getloadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
