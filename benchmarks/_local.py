"""Local mode against raw Optuna on the same subprocess trials (wall time).

Both sides run as a fresh ``python`` process (interpreter start and imports included),
one trial at a time, random search over one float, each trial a ``python -c`` process
that prints ``y=<value>``: ``tradeoff run study.yaml`` on one side, a script calling
Optuna's ``study.optimize`` with ``subprocess.run`` of the same command on the other.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tradeoff.api.load import dump_yaml

TRIAL_CODE = "import sys; x = float(sys.argv[1]); print(f'y={(x - 0.3) ** 2}')"

OPTUNA_SCRIPT = """
import subprocess, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
code, trials = sys.argv[1], int(sys.argv[2])
def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    command = [sys.executable, "-c", code, repr(x)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().split("=")[1])
study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(objective, n_trials=trials)
"""


def manifest(trials: int) -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "overhead"},
        "spec": {
            "objectives": [{"name": "y", "direction": "minimize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 0},
            "budget": {"maxTrials": trials, "parallelism": 1},
            "trialTemplate": {
                "pod": {
                    "containers": [
                        {
                            "name": "trial",
                            "image": "python",
                            "command": [sys.executable, "-c", TRIAL_CODE, "${params.x}"],
                        }
                    ]
                }
            },
        },
    }


def time_tradeoff(trials: int) -> float:
    """Seconds for ``tradeoff run`` of the study (a fresh work directory each time)."""
    work = Path(tempfile.mkdtemp(prefix="tradeoff-overhead-"))
    try:
        study = work / "study.yaml"
        study.write_text(dump_yaml(manifest(trials)), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "tradeoff.cli",
            "run",
            str(study),
            "--workdir",
            str(work / "records"),
            "--no-progress",
            "--quiet",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(
                f"tradeoff run exited {done.returncode}: {done.stderr.strip()[-500:]}"
            )
        return seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def time_optuna(trials: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", OPTUNA_SCRIPT, TRIAL_CODE, str(trials)], check=True)
    return time.perf_counter() - started


def time_trial_process(repeats: int = 5) -> float:
    """Seconds of one bare trial process (the floor both sides pay per trial)."""
    started = time.perf_counter()
    for _ in range(repeats):
        subprocess.run([sys.executable, "-c", TRIAL_CODE, "0.5"], capture_output=True, check=True)
    return (time.perf_counter() - started) / repeats
