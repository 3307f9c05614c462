"""tradeoff.local.executor: real child processes, their metrics, CPU time, deadlines, stops."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradeoff.api.study import StudySpec
from tradeoff.api.template import render_pod_spec
from tradeoff.api.trial import Trial
from tradeoff.engine import lifecycle
from tradeoff.engine.validation import validate_study
from tradeoff.local import children
from tradeoff.local.children import ChildRecords, Leftover, process_start_ticks
from tradeoff.local.events import AttemptResult, Event, Intermediate, command_line
from tradeoff.local.executor import LocalExecutor
from tradeoff.local.outcome import attempt_outcome
from tradeoff.trial_stream import MAX_LINE_BYTES


def _spec(code: str, *, deadline: str | None = None, env: list[Any] | None = None) -> StudySpec:
    template: dict[str, Any] = {
        "pod": {
            "containers": [
                {
                    "name": "trial",
                    "command": ["python", "-c", code],
                    "args": ["${params.p}"],
                    "env": env or [],
                }
            ]
        }
    }
    if deadline is not None:
        template["activeDeadline"] = deadline
    return validate_study(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": "exe"},
            "spec": {
                "objectives": [{"name": "acc", "direction": "maximize"}],
                "parameters": [{"name": "p", "type": "categorical", "values": ["a"]}],
                "trialTemplate": template,
            },
        }
    ).spec


class Harness:
    """An executor plus the runner's side of the loop: wait for events, fire timers."""

    def __init__(self, spec: StudySpec, tmp: Path, grace: float = 5.0) -> None:
        self.spec = spec
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.warnings: list[str] = []
        (tmp / "logs").mkdir(exist_ok=True)
        self.logs = tmp / "logs"
        self.executor = LocalExecutor(
            spec,
            self.events,
            logs_dir=self.logs,
            scratch_dir=tmp / "scratch",
            warn=self.warnings.append,
            grace_seconds=grace,
        )
        self.intermediate: list[Intermediate] = []

    def start(self, value: str = "a", trial: str = "exe-0000") -> None:
        pod = render_pod_spec(
            self.spec.trial_template, {"p": value}, study="exe", trial=trial, number=0
        )
        self.executor.start(trial, 1, pod)

    def next_event(self, timeout: float = 1.0) -> Event | None:
        """The next event, polling the executor for up to ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while self.events.empty() and (left := end - time.monotonic()) > 0:
            self.executor.poll(left)
        return None if self.events.empty() else self.events.get_nowait()

    def wait(self, timeout: float = 30.0) -> AttemptResult:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            wait = self.executor.seconds_to_next_timer()
            event = self.next_event(min(wait if wait is not None else 1.0, 1.0))
            self.executor.fire_timers()
            if isinstance(event, Intermediate):
                self.intermediate.append(event)
            elif isinstance(event, AttemptResult):
                self.executor.finished(event.trial)
                return event
        raise AssertionError("the attempt did not end")


def test_metric_lines_are_parsed_and_stream_as_they_arrive(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        'print(\'TRADEOFF_METRICS {"step": 1, "acc": 0.5}\', flush=True)\n'
        "print('epoch=2 acc=0.625', flush=True)\n"
        "print('warming up', file=sys.stderr, flush=True)\n"
        'print(\'TRADEOFF_METRICS {"acc": 0.75, "loss": 0.25}\', flush=True)\n'
        "print('last words', file=sys.stderr)\n"
    )
    h = Harness(_spec(code), tmp_path)
    h.start()
    result = h.wait()
    assert result.exit_code == 0
    assert result.metrics == {"acc": 0.75, "loss": 0.25}
    assert [(e.metric, e.step, e.value) for e in h.intermediate] == [
        ("acc", 1, 0.5),
        ("acc", 2, 0.625),
    ]
    assert result.last_stderr == "last words"
    assert result.stopped_for is None
    log = (h.logs / "exe-0000.log").read_text()
    assert "--- attempt 1 ---" in log
    assert "warming up" in log and "epoch=2 acc=0.625" in log


def test_cpu_seconds_are_measured_for_a_busy_child(tmp_path: Path) -> None:
    code = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    h = Harness(_spec(code), tmp_path)
    h.start()
    result = h.wait()
    assert result.exit_code == 0
    assert result.cpu_seconds >= 0.35
    assert result.duration_seconds >= result.cpu_seconds * 0.8


def test_an_idle_child_uses_little_cpu(tmp_path: Path) -> None:
    h = Harness(_spec("import time; time.sleep(0.6)"), tmp_path)
    h.start()
    result = h.wait()
    assert result.duration_seconds >= 0.6
    assert result.cpu_seconds < 0.5


def test_the_deadline_terminates_the_child(tmp_path: Path) -> None:
    h = Harness(_spec("import time; time.sleep(60)", deadline="1s"), tmp_path)
    started = time.monotonic()
    h.start()
    result = h.wait()
    assert result.stopped_for == "deadline"
    assert result.exit_code == -15  # SIGTERM
    assert 0.9 <= time.monotonic() - started < 5


def test_a_child_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    h = Harness(_spec(code, deadline="1s"), tmp_path, grace=0.5)
    started = time.monotonic()
    h.start()
    result = h.wait()
    assert result.stopped_for == "deadline"
    assert result.exit_code == -9  # SIGKILL
    assert time.monotonic() - started < 6


def test_stop_for_pruning_ends_the_child(tmp_path: Path) -> None:
    code = (
        "import time\nfor i in range(100):\n"
        '    print(\'TRADEOFF_METRICS {"step": %d, "acc": 0.1}\' % i, flush=True)\n'
        "    time.sleep(0.1)\n"
    )
    h = Harness(_spec(code), tmp_path)
    h.start()
    first = h.next_event(timeout=10)
    assert isinstance(first, Intermediate)
    h.executor.stop("exe-0000", "prune")
    result = h.wait()
    assert result.stopped_for == "prune"
    assert result.exit_code is not None and result.exit_code < 0
    assert "exe-0000" not in h.executor.running


def test_parameters_pass_literally_never_through_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "x"
    hostile = f"$(touch {marker}); rm -rf x `touch {marker}` | echo && ;"
    code = (
        "import json, sys\n"
        "print('TRADEOFF_METRICS', json.dumps({'n': len(sys.argv)}))\n"
        "print(sys.argv[1])\n"
    )
    h = Harness(_spec(code), tmp_path)
    h.start(hostile)
    result = h.wait()
    assert result.exit_code == 0
    assert result.metrics == {"n": 2.0}
    assert hostile in (h.logs / "exe-0000.log").read_text()
    assert not marker.exists()


def test_environment_and_termination_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/caller/path")
    code = (
        "import json, os\n"
        "names = ('TRADEOFF_PARAMS', 'TRADEOFF_TRIAL', 'TRADEOFF_STUDY',"
        " 'GREETING', 'SECRET', 'PYTHONPATH')\n"
        "env = {k: os.environ.get(k) for k in names}\n"
        "print(json.dumps(env))\n"
        "print('TRADEOFF_METRICS {\"acc\": 0.1}')\n"
        "with open(os.environ['TRADEOFF_TERMINATION_LOG'], 'w') as f:\n"
        "    json.dump({'metrics': {'acc': 0.9}}, f)\n"
    )
    env = [
        {"name": "GREETING", "value": "hello ${params.p}"},
        {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "PYTHONPATH", "value": "/template/path"},
    ]
    h = Harness(_spec(code, env=env), tmp_path)
    h.start()
    result = h.wait()
    assert result.metrics == {"acc": 0.9}  # the summary is authoritative
    line = next(
        json.loads(x)
        for x in (h.logs / "exe-0000.log").read_text().splitlines()
        if x.startswith("{")
    )
    assert json.loads(line["TRADEOFF_PARAMS"]) == {"p": "a"}
    assert line["TRADEOFF_TRIAL"] == "exe-0000" and line["TRADEOFF_STUDY"] == "exe"
    assert line["GREETING"] == "hello a"
    assert line["SECRET"] is None
    assert line["PYTHONPATH"] == "/template/path:/caller/path"
    h.start(trial="exe-0001")
    h.wait()
    assert h.warnings == [
        "env SECRET uses valueFrom, which local mode does not support; left unset"
    ]


def test_a_failing_child_reports_its_exit_code_and_last_stderr_line(tmp_path: Path) -> None:
    h = Harness(_spec("import sys; sys.exit('model exploded')"), tmp_path)
    h.start()
    result = h.wait()
    assert result.exit_code == 1
    assert result.last_stderr == "model exploded"


def test_a_command_that_cannot_start_is_reported_as_an_ended_attempt(tmp_path: Path) -> None:
    spec = _spec("pass")
    spec.trial_template.pod["containers"][0]["command"] = [str(tmp_path / "no-such-program")]
    h = Harness(spec, tmp_path)
    h.start()
    result = h.wait()
    assert result.exit_code is None
    assert result.start_error is not None and "not found" in result.start_error


def test_command_line_resolves_python_and_refuses_no_command() -> None:
    assert command_line({"name": "t", "command": ["python3", "-V"]}) == [sys.executable, "-V"]
    assert command_line({"name": "t", "command": ["echo"], "args": ["a b"]})[1:] == ["a b"]
    with pytest.raises(ValueError, match="has no command"):
        command_line({"name": "t", "args": ["x"]})


def _journal(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_running_child_is_journalled_until_its_attempt_ends(tmp_path: Path) -> None:
    h = Harness(_spec("import time; print('acc=1', flush=True); time.sleep(0.5)"), tmp_path)
    h.start()
    journal = tmp_path / "scratch" / "children.jsonl"
    (record,) = _journal(journal)
    assert record["trial"] == "exe-0000" and record["attempt"] == 1
    assert isinstance(record["pid"], int)
    assert record["startTicks"] == process_start_ticks(record["pid"])
    assert os.getpgid(record["pid"]) == record["pid"], "its own process group"
    h.wait()
    assert journal.read_bytes() == b"", "emptied once no child runs"


def test_the_journal_names_only_the_children_not_reaped_and_stays_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(children, "COMPACT_LINES", 4)
    records = ChildRecords(tmp_path / "children.jsonl")
    first, second = _sleeper(), _sleeper()
    try:
        records.record("t-0000", 1, first.pid)
        for i in range(1, 6):  # short-lived children come and go beside `first`
            records.record(f"t-000{i}", 1, second.pid)
            records.forget(f"t-000{i}")
        lines = _journal(tmp_path / "children.jsonl")
        assert [line["trial"] for line in lines] == ["t-0000"], "rewritten once it grew"
        assert ChildRecords(tmp_path / "children.jsonl").stop_leftovers(0.5) == [
            Leftover("t-0000", first.pid)
        ]
        assert first.wait(5) == -signal.SIGTERM
        assert second.poll() is None, "its last start line was followed by its end"
    finally:
        records.close()
        for child in (first, second):
            child.kill()
            child.wait()


def _sleeper(code: str = "import time; time.sleep(60)") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_leftovers_are_stopped_and_reused_pids_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "children.jsonl"
    records = ChildRecords(path, legacy=tmp_path / "running")
    leftover, stranger = _sleeper(), _sleeper()
    stubborn = _sleeper(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    old_version = _sleeper()
    gone = _sleeper("pass")
    gone.wait()
    try:
        time.sleep(0.3)  # let the stubborn one ignore SIGTERM before it is sent
        records.record("t-0000", 1, leftover.pid)
        records.record("t-0001", 2, stubborn.pid)
        records.close()  # the run was killed here
        ticks = process_start_ticks(stranger.pid)
        assert ticks is not None
        with path.open("a") as journal:
            # Same pid, another start time: a process that merely reuses the pid.
            start = {"trial": "t-0002", "attempt": 1, "pid": stranger.pid, "startTicks": ticks - 1}
            journal.write(json.dumps(start) + "\n")
            start = {"trial": "t-0003", "attempt": 1, "pid": gone.pid, "startTicks": 1}
            journal.write(json.dumps(start) + "\n")
            journal.write('{"trial": "t-0004", "pid": 1')  # cut short by a crash
        # A workdir an older version left: one record per running child.
        (tmp_path / "running").mkdir()
        ticks = process_start_ticks(old_version.pid)
        start = {"trial": "t-0005", "attempt": 1, "pid": old_version.pid, "startTicks": ticks}
        (tmp_path / "running" / "t-0005.json").write_text(json.dumps(start))
        started = time.monotonic()
        stopped = ChildRecords(path, legacy=tmp_path / "running").stop_leftovers(0.5)
        assert stopped == [
            Leftover("t-0000", leftover.pid),
            Leftover("t-0001", stubborn.pid),
            Leftover("t-0005", old_version.pid),
        ]
        assert leftover.wait(5) == -signal.SIGTERM
        assert old_version.wait(5) == -signal.SIGTERM
        assert stubborn.wait(5) == -signal.SIGKILL
        assert 0.4 < time.monotonic() - started < 5
        assert stranger.poll() is None, "a reused pid is not ours to stop"
        assert not path.exists() and not list((tmp_path / "running").iterdir())
        assert ChildRecords(path).stop_leftovers() == []
    finally:
        for child in (leftover, stranger, stubborn, old_version):
            child.kill()
            child.wait()


def test_huge_output_is_read_in_bounded_memory_and_quoted_safely(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "out, err = sys.stdout.buffer, sys.stderr.buffer\n"
        "out.write(b'epoch=1 acc=0.25\\n')\n"
        "for _ in range(800): out.write(b'z' * 65536)\n"  # one 50 MB line, no newline
        "out.write(b'\\nacc=0.5\\n')\n"
        "err.write(b'\\x1b[31mRuntimeError\\x1b[0m: ' + b'q' * (20 * 1024 * 1024) + b'\\n')\n"
        "sys.exit(3)\n"
    )
    h = Harness(_spec(code), tmp_path)
    tracemalloc.start()
    try:
        h.start()
        result = h.wait(timeout=60)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"reading the output took {peak} bytes"
    assert result.exit_code == 3 and result.metrics == {"acc": 0.5}
    spec = _spec(code)
    move = lifecycle.end_attempt(
        spec, Trial.new("exe", 0, {}).status, attempt_outcome(result, None), now=datetime.now(UTC)
    )
    message = move.status.message or ""
    assert (move.status.state, move.status.reason) == ("Failed", "Error")
    assert message.startswith("exited with code 3: RuntimeError: qqq")
    assert len(message) < 350 and "\x1b" not in message
    log = (h.logs / "exe-0000.log").read_text()
    assert f"[... {50 * 1024 * 1024 - MAX_LINE_BYTES} more bytes]" in log
