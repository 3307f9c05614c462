"""The quickstart's trade-off is real: its cheap and its costly configurations differ in
priced cost by far more than the machine's noise, and the costly one is more accurate.

Three fixed configurations of examples/quickstart.yaml run as the trial processes a local
run starts (the manifest's command and arguments, rendered), timed and priced as local
mode prices an attempt: wall time and the child's rusage CPU time, both measured by the
runner, never reported by the workload. BENCHMARKS.md, "The quickstart's trade-off",
measures the whole study.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tradeoff.api.load import check_structure, read_manifest
from tradeoff.api.template import render_pod_spec
from tradeoff.economics import EconomicsConfig, price_trial, resources_from_pod_spec
from tradeoff.trial_output import TrialOutput

# About 30 s of CPU; the timeout leaves room for a machine loaded 10x and more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "examples" / "quickstart.yaml"

CHEAP = {"model": "logreg", "C": 1.0, "scaler": "standard", "data_fraction": 0.05}
MIDDLE = {"model": "knn", "n_neighbors": 15, "scaler": "none", "data_fraction": 0.05}
COSTLY = {"model": "mlp", "hidden_units": 128, "scaler": "standard", "data_fraction": 1.0}


def _priced(params: dict[str, object]) -> tuple[float, float]:
    """(accuracy, cost in USD) of one trial process of the quickstart with ``params``."""
    study = check_structure(read_manifest(MANIFEST), str(MANIFEST))
    pod = render_pod_spec(
        study.spec.trial_template, params, study="quickstart", trial="quickstart-0000", number=0
    )
    container = pod["containers"][0]
    command = [*container["command"], *container["args"]]
    assert command[:3] == ["python", "-m", "trial_runner.sklearn"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("TRADEOFF_TERMINATION_LOG", None)
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, *command[1:]], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    with child.stdout:
        stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # as the local executor reaps a trial
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    assert child.returncode == 0
    output = TrialOutput()
    output.feed_text(stdout)
    economics = price_trial(
        resources_from_pod_spec(pod),
        wall,
        EconomicsConfig.default(),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
    )
    return output.final["accuracy"], economics.cost_usd


def test_costly_configuration_costs_five_times_the_cheap_ones_and_is_more_accurate() -> None:
    cheap_accuracy, cheap_cost = _priced(CHEAP)
    middle_accuracy, middle_cost = _priced(MIDDLE)
    costly_accuracy, costly_cost = _priced(COSTLY)
    # The machine's noise moved a configuration's cost about 2x; the trade-off spans more.
    assert costly_cost >= 5 * max(cheap_cost, middle_cost), (cheap_cost, middle_cost, costly_cost)
    assert cheap_accuracy < middle_accuracy < costly_accuracy
    assert costly_accuracy >= 0.95
