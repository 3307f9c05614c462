"""Nothing from a record can run code: sampler state counts only when this study's key
signed it, so a forged CMA-ES pickle never reaches `pickle.loads`."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import KEY, make_spec
from tradeoff.api import Trial
from tradeoff.engine import Engine, signing
from tradeoff.engine.signing import SIGNATURE, sign, verified


class Payload:
    """Unpickling this runs `touch <path>`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


def forged_state(marker: Path) -> dict[str, Any]:
    return {"trial": {"cma:optimizer:0": pickle.dumps(Payload(marker)).hex(), "cma:generation": 0}}


def cmaes_records(engine: Engine, state: dict[str, Any], count: int = 6) -> list[Trial]:
    records = []
    for s in engine.ask([], count):
        record = Trial.new("demo", s.number, s.parameters, s.sampler_state)
        record.status.state = "Succeeded"
        record.status.values = [float(s.parameters["x"])]
        records.append(record)
    records[-1].spec.sampler_state = state
    return records


def test_a_forged_pickle_in_a_record_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = make_spec(
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        algorithm={"name": "cmaes", "seed": 1, "settings": {"nStartupTrials": 1}},
    )
    engine = Engine(spec, key=KEY)
    records = cmaes_records(engine, forged_state(marker))
    for state in (forged_state(marker), {**forged_state(marker), SIGNATURE: "0" * 64}):
        records[-1].spec.sampler_state = state
        fresh = Engine(spec, key=KEY)
        assert len(fresh.ask(records, 2)) == 2
        assert not marker.exists()
        assert fresh.warnings == [
            f"trial {records[-1].metadata.name}: its sampler state is not signed by this"
            " study's key; the trial counts, its sampler state is ignored"
        ]


def test_state_signed_for_another_trial_or_study_does_not_verify() -> None:
    state = {"trial": {"k": 1}}
    signed = sign(KEY, "demo", 3, state)
    assert verified(KEY, "demo", 3, signed) == (state, True)
    assert verified(KEY, "demo", 4, signed) == ({}, False)
    assert verified(KEY, "other", 3, signed) == ({}, False)
    assert verified(b"another key of thirty-two bytes!", "demo", 3, signed) == ({}, False)
    assert verified(KEY, "demo", 3, {**signed, "trial": {"k": 2}}) == ({}, False)
    assert verified(KEY, "demo", 3, {}) == ({}, True)


def test_cmaes_state_survives_a_restart_with_the_same_key() -> None:
    spec = make_spec(
        objectives=[{"name": "accuracy", "direction": "maximize"}],
        algorithm={"name": "cmaes", "seed": 4, "settings": {"nStartupTrials": 2}},
        budget={"maxTrials": 40, "parallelism": 1},
    )
    live = Engine(spec, key=KEY)
    records: list[Trial] = []
    for _ in range(16):
        (s,) = live.ask(records, 1)
        record = Trial.new("demo", s.number, s.parameters, s.sampler_state)
        record.status.state = "Succeeded"
        x, y = float(s.parameters["x"]), float(s.parameters["y"])
        record.status.values = [-((x - 0.3) ** 2) - (y - 0.6) ** 2]
        records.append(record)
    assert any("cma:optimizer:0" in r.spec.sampler_state.get("trial", {}) for r in records)
    restarted = Engine(spec, key=KEY)
    assert restarted.ask(records, 1) == live.ask(records, 1)
    assert not restarted.warnings


LOCAL_MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: forged}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters:
    - {name: x, type: float, low: 0.0, high: 1.0}
    - {name: "y", type: float, low: 0.0, high: 1.0}
  algorithm: {name: cmaes, seed: 3, settings: {nStartupTrials: 1}}
  budget: {maxTrials: MAX, parallelism: 1}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c, "import sys; print('score=' + sys.argv[1])", "${params.x}"]
"""


def test_local_mode_ignores_a_forged_record_and_says_which(tmp_path: Path) -> None:
    """Resuming a workdir whose record was edited to carry a pickle: nothing runs, one
    warning line names the trial, no traceback, and the study finishes."""
    import json
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "operator"), str(repo)])}

    def run(max_trials: int) -> subprocess.CompletedProcess[str]:
        (tmp_path / "study.yaml").write_text(LOCAL_MANIFEST.replace("MAX", str(max_trials)))
        argv = [sys.executable, "-m", "tradeoff.cli", "run", "study.yaml", "--workdir", "w"]
        return subprocess.run(
            [*argv, "--no-progress"], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    first = run(3)
    assert first.returncode == 0, first.stderr
    marker = tmp_path / "pwned"
    path = tmp_path / "w" / "trials" / "forged-0002.json"
    record = json.loads(path.read_text())
    record["spec"]["samplerState"] = forged_state(marker)
    path.write_text(json.dumps(record))
    second = run(6)
    assert second.returncode == 0, second.stderr
    assert not marker.exists()
    out = second.stdout + second.stderr
    assert "Traceback" not in out
    assert "trial forged-0002: its sampler state is not signed by this study's key" in out
    assert len(list((tmp_path / "w" / "trials").glob("*.json"))) == 6


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    key=st.binary(max_size=130),  # shorter and longer than SHA-256's 64-byte block
    study=st.text(max_size=12),
    number=st.integers(min_value=0, max_value=10**6),
    state=st.dictionaries(
        st.text(max_size=6),
        st.dictionaries(
            st.text(max_size=6),
            st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=6)),
            max_size=3,
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_a_verifier_computes_the_signature_sign_does(
    key: bytes, study: str, number: int, state: dict[str, Any]
) -> None:
    """`Verifier` (the keyed hashes made once) gives exactly `sign`'s HMAC, and verifies
    what `sign` signed, and nothing with another number or key."""
    signed = signing.sign(key, study, number, state)
    verifier = signing.Verifier(key, study)
    assert verifier.digest(number, state) == signed[signing.SIGNATURE]
    assert verifier.verified(number, signed) == (state, True)
    assert verifier.verified(number + 1, signed) == ({}, False)
    assert signing.Verifier(key + b"x", study).verified(number, signed) == ({}, False)
