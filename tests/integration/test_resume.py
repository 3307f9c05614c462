"""`tradeoff run` stopped by Ctrl-C or kill -9, then rerun: nothing lost, nothing redone;
one run at a time per workdir; children a killed run left behind are stopped on resume;
trials a stop rule cancelled run again when a later run's budget allows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
MAX_TRIALS = 8

MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: resumable}
spec:
  objectives: [{name: score, direction: maximize}, {name: cost, direction: minimize}]
  parameters:
    - {name: x, type: float, low: 0.0, high: 1.0}
    - {name: kind, type: categorical, values: [a, b, c]}
  algorithm: {name: tpe, seed: 11}
  budget: {maxTrials: MAX_TRIALS, parallelism: 2}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - "import sys, time; time.sleep(0.8); print('score=' + sys.argv[1])"
            - "${params.x}"
""".replace("MAX_TRIALS", str(MAX_TRIALS))


def _start(
    tmp: Path, manifest: str = MANIFEST, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    (tmp / "study.yaml").write_text(manifest)
    path = os.pathsep.join([str(REPO / "operator"), str(REPO)])
    env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradeoff.cli",
            "run",
            "study.yaml",
            "--workdir",
            "w",
            "--no-progress",
        ],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _records(tmp: Path) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for path in (tmp / "w" / "trials").glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            raise AssertionError(f"{path} is not a complete record") from None
        out[record["spec"]["number"]] = record
    return out


def _wait_for_finished(tmp: Path, count: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (tmp / "w" / "trials").is_dir():
            done = [r for r in _records(tmp).values() if r["status"]["state"] == "Succeeded"]
            if len(done) >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} trials finished in {timeout} s")


def _check_resumed(before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]) -> None:
    assert sorted(after) == list(range(MAX_TRIALS)), "exactly maxTrials records, each number once"
    assert all(r["status"]["state"] == "Succeeded" for r in after.values())
    params = [json.dumps(r["spec"]["parameters"], sort_keys=True) for r in after.values()]
    assert len(set(params)) == MAX_TRIALS
    for number, old in before.items():
        new = after[number]
        assert new["spec"] == old["spec"], "same number, same parameters"
        if old["status"]["state"] == "Succeeded":
            assert new["status"] == old["status"], f"finished trial {number} was re-run"
        else:  # stopped by Ctrl-C or kill -9, or never started: one more attempt, no retry
            assert new["status"]["attempts"] == old["status"]["attempts"] + 1
            assert new["status"]["failures"] == 0


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_an_interrupted_or_killed_run_resumes_without_losing_or_redoing_trials(
    tmp_path: Path, how: signal.Signals
) -> None:
    run = _start(tmp_path)
    try:
        _wait_for_finished(tmp_path, 3)
        run.send_signal(how)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    before = _records(tmp_path)
    unfinished = [n for n, r in before.items() if r["status"]["state"] != "Succeeded"]
    finished = len(before) - len(unfinished)
    assert 3 <= finished < MAX_TRIALS
    if how == signal.SIGINT:
        assert run.returncode == 130, err
        assert "interrupted: stopping" in err
        assert "Resume with: tradeoff run study.yaml --workdir w" in err
        assert "Traceback" not in err
        # Interrupted trials are saved as Pending, never as finished.
        assert all(before[n]["status"]["state"] == "Pending" for n in unfinished)
        assert all(before[n]["status"]["reason"] == "Interrupted" for n in unfinished)
    else:
        assert run.returncode == -signal.SIGKILL
    again = _start(tmp_path)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert f"all {MAX_TRIALS} trials ran" in out
    _check_resumed(before, _records(tmp_path))
    # Trials that were running when the first run stopped ran again, the rest never did.
    assert err.count("✓ resumable-") == MAX_TRIALS - finished


def test_a_changed_search_space_is_refused_on_resume(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    run = _start(tmp_path)
    _wait_for_finished(tmp_path, 1)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=30)
    changed = MANIFEST.replace("values: [a, b, c]", "values: [a, b]")
    (tmp_path / "study.yaml").write_text(changed)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)])}
    done = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", "run", "study.yaml", "--workdir", "w"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "the study's parameters changed since it started" in done.stderr


# `tradeoff run` with a test double of its file store that kills the run (SIGKILL) when it
# comes to save the CRASH_AT-th finished record: the moment between a trial's end and its
# record.
CRASHING_RUN = """
import os, signal, sys
from tradeoff.cli import main
from tradeoff.local import command, store

class CrashingStore(store.FileStore):
    finished = 0

    def save_trial(self, record):
        if record.finished:
            CrashingStore.finished += 1
            if CrashingStore.finished == int(os.environ["CRASH_AT"]):
                os.kill(os.getpid(), signal.SIGKILL)
        super().save_trial(record)

command.FileStore = CrashingStore
sys.exit(main(sys.argv[1:]))
"""


def _killed_run(folder: Path, manifest: str, crash_at: int) -> None:
    """Run `manifest` in `folder` with the crashing store, killed at the `crash_at`-th
    finished record."""
    (folder / "study.yaml").write_text(manifest)
    (folder / "crashing_run.py").write_text(CRASHING_RUN)
    path = os.pathsep.join([str(REPO / "operator"), str(REPO)])
    killed = subprocess.run(
        [sys.executable, "crashing_run.py", "run", "study.yaml", "--workdir", "w"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": path, "CRASH_AT": str(crash_at)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr


def test_an_ended_trials_record_is_saved_before_the_next_trial_starts(tmp_path: Path) -> None:
    """Killed as it saves the record of the third trial to end (one at a time), the run has
    started no fourth trial: a trial whose end was seen is never run again because the
    next one started first. The next run re-runs only the trial it was saving."""
    manifest = MANIFEST.replace("parallelism: 2", "parallelism: 1")
    manifest = manifest.replace("time.sleep(0.8)", "time.sleep(0.3)")
    _killed_run(tmp_path, manifest, 3)
    before = _records(tmp_path)
    states = {n: r["status"]["state"] for n, r in before.items()}
    # No record of a fourth trial: a trial is saved Running before its process starts.
    assert states == {0: "Succeeded", 1: "Succeeded", 2: "Running"}
    again = _start(tmp_path, manifest)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "left running by a killed run" not in err
    _check_resumed(before, _records(tmp_path))
    assert err.count("✓ resumable-") == MAX_TRIALS - 2, "trial 2 ran again, 0 and 1 not"


@settings(max_examples=4, deadline=None, derandomize=True)
@given(crash_at=st.integers(1, MAX_TRIALS), parallelism=st.sampled_from([1, 2]))
def test_a_crash_at_any_ended_record_loses_and_repeats_nothing(
    crash_at: int, parallelism: int
) -> None:
    """Killed as it comes to save any ended trial's record (one or two at a time), the run
    resumes to exactly the study's trials, each number once with its parameters, and no
    record saved finished before the crash changes."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        manifest = MANIFEST.replace("parallelism: 2", f"parallelism: {parallelism}")
        manifest = manifest.replace("time.sleep(0.8)", "time.sleep(0.1)")
        _killed_run(tmp, manifest, crash_at)
        before = _records(tmp)
        assert sum(r["status"]["state"] == "Succeeded" for r in before.values()) == crash_at - 1
        again = _start(tmp, manifest)
        _, err = again.communicate(timeout=60)
        assert again.returncode == 0, err
        _check_resumed(before, _records(tmp))


# A trial that logs its start and its end to $RUNS and sleeps $TRIAL_SLEEP seconds between.
SLOW_MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: slow}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  algorithm: {name: random, seed: 5}
  budget: {maxTrials: 2, parallelism: 2}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - |
              import os, sys, time
              def note(what):
                  with open(os.environ["RUNS"], "a") as f:
                      f.write(f"{os.environ['TRADEOFF_TRIAL']} {os.getpid()} {what}\\n")
              note("start")
              print("score=" + sys.argv[1], flush=True)
              time.sleep(float(os.environ["TRIAL_SLEEP"]))
              note("done")
            - "${params.x}"
"""


def _runs(tmp: Path) -> list[tuple[str, int, str]]:
    path = tmp / "runs.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(trial, int(pid), what) for trial, pid, what in (line.split() for line in lines)]


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _wait(check: Any, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_second_run_on_the_same_workdir_is_refused(tmp_path: Path) -> None:
    env = {"RUNS": str(tmp_path / "runs.txt"), "TRIAL_SLEEP": "30"}
    first = _start(tmp_path, SLOW_MANIFEST, env)
    try:
        _wait(lambda: len(_runs(tmp_path)) == 2, "both trials to start")
        second = _start(tmp_path, SLOW_MANIFEST, env)
        out, err = second.communicate(timeout=30)
        assert second.returncode == 2, err
        assert err == f"tradeoff run: w is in use by another tradeoff run (pid {first.pid})\n"
        assert out == ""
        time.sleep(0.5)
        assert len(_runs(tmp_path)) == 2, "the second run started no trial"
        assert sorted(_records(tmp_path)) == [0, 1]
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 130


def test_children_of_a_killed_run_are_stopped_before_their_trials_rerun(tmp_path: Path) -> None:
    env = {"RUNS": str(tmp_path / "runs.txt"), "TRIAL_SLEEP": "30"}
    run = _start(tmp_path, SLOW_MANIFEST, env)
    try:
        _wait(lambda: len(_runs(tmp_path)) == 2, "both trials to start")
        journal = tmp_path / "w" / "attempts" / "children.jsonl"
        _wait(
            lambda: journal.exists() and len(journal.read_bytes().splitlines()) == 2,
            "both children journalled",
        )
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    orphans = {trial: pid for trial, pid, _ in _runs(tmp_path)}
    assert sorted(orphans) == ["slow-0000", "slow-0001"]
    try:
        time.sleep(0.3)
        assert all(_alive(pid) for pid in orphans.values()), "children outlive a killed run"
        again = _start(tmp_path, SLOW_MANIFEST, {**env, "TRIAL_SLEEP": "0.2"})
        _, err = again.communicate(timeout=60)
        assert again.returncode == 0, err
        assert not any(_alive(pid) for pid in orphans.values()), "leftovers were stopped"
    finally:
        for pid in orphans.values():
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
    stopped = [line for line in err.splitlines() if "left running by a killed run" in line]
    assert stopped == [
        "warning: stopped 2 trial process(es) left running by a killed run:"
        f" slow-0000 (pid {orphans['slow-0000']}), slow-0001 (pid {orphans['slow-0001']})"
    ]
    runs = _runs(tmp_path)
    for trial, pid in orphans.items():
        mine = [(p, what) for t, p, what in runs if t == trial]
        assert mine[0] == (pid, "start") and (pid, "done") not in mine, "the old copy was stopped"
        (rerun,) = {p for p, _ in mine if p != pid}
        assert mine[1:] == [(rerun, "start"), (rerun, "done")], "ran to completion once more"
    records = _records(tmp_path)
    assert sorted(records) == [0, 1]
    assert all(r["status"]["state"] == "Succeeded" for r in records.values())
    # The killed attempt counts as started and the re-run is attempt 2; an interruption
    # uses up no retry.
    assert all(r["status"]["attempts"] == 2 for r in records.values())
    assert all(r["status"]["failures"] == 0 for r in records.values())
    journal = tmp_path / "w" / "attempts" / "children.jsonl"
    assert not journal.exists() or journal.read_bytes() == b"", "no child left journalled"


# A trial that notes its session and each signal it gets to $RUNS, and waits to be stopped.
SIGNALLED_MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: signalled}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  algorithm: {name: random, seed: 5}
  budget: {maxTrials: 2, parallelism: 2}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - |
              import os, signal, sys, time
              def note(what):
                  with open(os.environ["RUNS"], "a") as f:
                      f.write(f"{os.environ['TRADEOFF_TRIAL']} {what}\\n")
              def on(signum, frame):
                  note(signal.Signals(signum).name)
                  sys.exit(1)
              signal.signal(signal.SIGINT, on)
              signal.signal(signal.SIGTERM, on)
              note(f"session {os.getsid(0)} group {os.getpgid(0)} pid {os.getpid()}")
              time.sleep(30)
"""


def test_ctrl_c_at_a_terminal_reaches_the_run_which_stops_its_trials(tmp_path: Path) -> None:
    """A terminal's Ctrl-C signals its whole foreground process group: the run gets it,
    its trials (each a process group of its own, in the run's session) do not; the run
    stops them (SIGTERM) and exits 130."""
    runs = tmp_path / "runs.txt"
    (tmp_path / "study.yaml").write_text(SIGNALLED_MANIFEST)
    path = os.pathsep.join([str(REPO / "operator"), str(REPO)])
    run = subprocess.Popen(
        [sys.executable, "-m", "tradeoff.cli", "run", "study.yaml", "--workdir", "w"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path, "RUNS": str(runs)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the run leads the group a terminal would signal
    )
    try:
        _wait(lambda: runs.exists() and len(runs.read_text().splitlines()) == 2, "two trials")
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 130, err
    notes = sorted(runs.read_text().splitlines())
    sessions = [line.split() for line in notes if " session " in line]
    assert len(sessions) == 2
    for trial, _, session, _, group, _, pid in sessions:
        assert int(session) == run.pid, "in the run's session (no scheduling group of its own)"
        assert group == pid, "a process group of its own"
        assert f"{trial} SIGTERM" in notes, "stopped by the run"
        assert f"{trial} SIGINT" not in notes, "the terminal's Ctrl-C never reached it"


CANCELLED = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: cancelled}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  algorithm: {name: random, seed: 1}
  budget: {maxTrials: 2, parallelism: 2, timeout: TIMEOUT}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - |
              import os, sys, time
              slow = os.environ["TRADEOFF_TRIAL"].endswith("-0001")
              if slow and not os.path.exists("ran-once"):
                  open("ran-once", "w").close()
                  time.sleep(60)
              print("score=0.5")
"""


def _records_of(tmp: Path) -> list[dict[str, Any]]:
    return [r["status"] for _, r in sorted(_records(tmp).items())]


def test_a_cancelled_trial_runs_again_when_a_later_run_allows(tmp_path: Path) -> None:
    first = _start(tmp_path, CANCELLED.replace("TIMEOUT", "2s"))
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err  # the timeout ends it, and one trial succeeded
    assert "Succeeded (Timeout)" in out
    fast, slow = _records_of(tmp_path)
    assert fast["state"] == "Succeeded"
    assert (slow["state"], slow["reason"]) == ("Pending", "Cancelled")
    assert slow["message"] == "cancelled: the study's timeout of 2s ran out"
    assert (slow["attempts"], slow["failures"]) == (1, 0)
    # The same budget: the timeout still holds, so the cancelled trial does not run.
    again = _start(tmp_path, CANCELLED.replace("TIMEOUT", "2s"))
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0 and "Succeeded (Timeout)" in out, err
    assert _records_of(tmp_path)[1] == slow
    # A longer timeout: the cancelled trial runs again (attempt 2) and the study completes.
    longer = _start(tmp_path, CANCELLED.replace("TIMEOUT", "10m"))
    out, err = longer.communicate(timeout=60)
    assert longer.returncode == 0, err
    assert "Succeeded (MaxTrialsReached)" in out
    fast_after, slow_after = _records_of(tmp_path)
    assert fast_after == fast, "a finished trial never runs again"
    assert (slow_after["state"], slow_after["attempts"], slow_after["failures"]) == (
        "Succeeded",
        2,
        0,
    )
    assert slow_after["startTime"] == slow["startTime"], "the first attempt's start is kept"
