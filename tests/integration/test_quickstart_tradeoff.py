"""The quickstart's trade-off is real and its front is made of the same model families
whatever the machine's load: each family owns its own part of the trade-off, by more than
the load moves a cost.

The corners of examples/quickstart.yaml's search space (each family at the bounds of its
parameters, read from the manifest) run as the trial processes a local run starts (the
manifest's command and arguments, rendered), timed and priced as local mode prices an
attempt: wall time and the child's rusage CPU time, both measured by the runner, never
reported by the workload. BENCHMARKS.md, "The quickstart's trade-off", runs the whole
study 3 times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tradeoff.api.load import check_structure, read_manifest
from tradeoff.api.study import Study
from tradeoff.api.template import render_pod_spec
from tradeoff.economics import EconomicsConfig, price_trial, resources_from_pod_spec
from tradeoff.trial_output import TrialOutput

# About 70 s of CPU; the timeout leaves room for a machine loaded 10x and more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "examples" / "quickstart.yaml"
# A loaded machine moved the same configuration's priced cost (wall time) up to about 2x
# between trials of one run, its CPU time about 1.3x (k-NN's cheap corner: 1.6-2.6 s;
# BENCHMARKS.md). The margins below are in CPU time, which the other families' cheapest
# corners exceed 2.0-2.6x; a family that costs the start-up as k-NN does is at about 1x.
MARGIN = 1.6


@dataclass(frozen=True)
class Priced:
    accuracy: float
    cost: float
    cpu_seconds: float


def _study() -> Study:
    return check_structure(read_manifest(MANIFEST), str(MANIFEST))


def _bounds(study: Study, name: str) -> tuple[float, float]:
    """The low and high of parameter ``name`` (ints as ints, as the sampler draws them)."""
    (parameter,) = [p for p in study.spec.parameters if p.name == name]
    assert parameter.low is not None and parameter.high is not None
    kind = int if parameter.type == "int" else float
    return kind(parameter.low), kind(parameter.high)


def _priced(study: Study, params: dict[str, object]) -> Priced:
    """One trial process of the quickstart with ``params``, priced as local mode prices it."""
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
    assert os.waitstatus_to_exitcode(status) == 0
    wall = time.monotonic() - started
    cpu = usage.ru_utime + usage.ru_stime
    output = TrialOutput()
    output.feed_text(stdout)
    economics = price_trial(
        resources_from_pod_spec(pod), wall, EconomicsConfig.default(), cpu_seconds=cpu
    )
    return Priced(output.final["accuracy"], economics.cost_usd, cpu)


def _least(study: Study, params: dict[str, object]) -> Priced:
    """The cheaper of two runs: a margin's denominator taken as the configuration needs it,
    not as a burst of load stretched it."""
    return min((_priced(study, params) for _ in range(2)), key=lambda p: p.cpu_seconds)


def test_each_family_owns_its_part_of_the_trade_off_by_more_than_the_noise() -> None:
    study = _study()
    models = next(p.values for p in study.spec.parameters if p.name == "model")
    assert set(models or []) == {"knn", "forest", "mlp"}, "a new family needs its place here"
    fraction, neighbours = _bounds(study, "data_fraction"), _bounds(study, "n_neighbors")
    trees, depth = _bounds(study, "n_estimators"), _bounds(study, "max_depth")
    hidden = _bounds(study, "hidden_units")
    knn = {"model": "knn", "scaler": "none", "n_neighbors": neighbours[1]}
    forest = {"model": "forest", "scaler": "none"}
    mlp = {"model": "mlp", "scaler": "standard"}
    # Each family at the cheap and at the costly (most accurate) corner of its space.
    knn_cheap = _least(study, {**knn, "data_fraction": fraction[0]})
    knn_best = _least(study, {**knn, "data_fraction": fraction[1]})
    forest_cheap = _priced(study, {**forest, "n_estimators": trees[0], "max_depth": depth[0]})
    forest_best = _priced(study, {**forest, "n_estimators": trees[1], "max_depth": depth[1]})
    mlp_cheap = _priced(study, {**mlp, "hidden_units": hidden[0], "data_fraction": fraction[0]})
    mlp_best = _priced(study, {**mlp, "hidden_units": hidden[1], "data_fraction": fraction[1]})
    seen = {
        "knn": (knn_cheap, knn_best),
        "forest": (forest_cheap, forest_best),
        "mlp": (mlp_cheap, mlp_best),
    }
    # Compared in CPU time, what a configuration needs whatever the load (the wall time
    # that prices it is the CPU time stretched by the load).
    # k-NN alone holds the cheap end (the cheapest trial is always on the front): every
    # other family takes MARGIN times its cheapest.
    others = min(forest_cheap.cpu_seconds, mlp_cheap.cpu_seconds)
    assert others >= MARGIN * knn_cheap.cpu_seconds, seen
    # The MLP alone holds the accurate end.
    assert mlp_best.accuracy >= max(knn_best.accuracy, forest_best.accuracy) + 0.02, seen
    # The forest is never on the front: k-NN is more accurate at under 1/MARGIN of its cost.
    for corner in (forest_cheap, forest_best):
        assert knn_best.accuracy > corner.accuracy, seen
        assert corner.cpu_seconds >= MARGIN * knn_best.cpu_seconds, seen
    # The front spans 5x in what prices it, from k-NN's cheapest to the MLP's costliest:
    # in CPU time, as on a quiet machine the wall time is (a loaded one stretched the short
    # k-NN run's wall time more than the MLP's and the priced ratio fell to 4.7x).
    assert mlp_best.cpu_seconds >= 5 * knn_cheap.cpu_seconds, seen
    assert mlp_best.cost > knn_cheap.cost, seen
    assert mlp_best.accuracy >= 0.95, seen
