"""A local run's insights computed in one child process that lives as long as the run.

In the run's process, fANOVA and the statistics behind the insights would hold the GIL
beside the trial loop (a thread doubled the median latency from one trial's exit to the
next one's start, BENCHMARKS.md), and importing SciPy and scikit-learn there costs a
second; a child per computation, as the operator starts (`kube.insight_jobs`), pays
those imports (about 3 s of CPU) at every milestone. So the run starts one child when the
first insights are due and keeps it: it imports them once, and each computation costs
its fANOVA alone, on another core, at a lower priority than the run and its trials.

Protocol, one JSON document per line: the parent writes the study's spec once, then per
computation the finished records as a list; the child answers each list with the
insights' wire forms, or ``{"error": "..."}``. The child has its own process group (a
Ctrl-C at the terminal is the run's to handle) and ends when its standard input closes,
so a run killed with ``kill -9`` leaves none behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

from tradeoff.api.status import Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.insight_status import record_json
from tradeoff.engine.insights import insights

__all__ = ["InsightWorker", "main"]

CHILD = [sys.executable, "-m", "tradeoff.local.insight_worker"]
NICENESS = 10
"""Added to the child's nice value: on a busy machine it waits, never the trials."""


class InsightWorker:
    """The child computing one study's insights: started when first asked, then kept."""

    def __init__(self, spec: StudySpec, command: Sequence[str] = CHILD) -> None:
        self.spec = spec
        self.command = list(command)
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()  # one computation at a time
        self._stderr: IO[str] | None = None  # a file: a pipe could fill and stall it

    def compute(self, records: Sequence[Trial]) -> list[Insight]:
        """The insights of `records`; raises OSError or ValueError when the child fails
        (a child that died is started afresh on the next call)."""
        with self._lock:
            child = self._child if self._child and self._child.poll() is None else None
            if child is None:
                child = self._child = self._start()
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write("[")
                for i, record in enumerate(records):
                    child.stdin.write(("," if i else "") + record_json(record))
                child.stdin.write("]\n")
                child.stdin.flush()
                line = child.stdout.readline()
            except OSError:
                self._stop(child)
                raise
            if not line:
                self._stop(child)
                raise ValueError(f"the insight child exited {child.returncode}: {self._said()}")
        answer = json.loads(line)
        if isinstance(answer, dict):
            raise ValueError(str(answer.get("error")))
        return [Insight.model_validate(i) for i in answer]

    def close(self) -> None:
        """End the child now, even mid-computation (a run that ends needs it no more)."""
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            self._stop(child)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _start(self) -> subprocess.Popen[str]:
        if self._stderr is None:
            self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by close()
        self._stderr.seek(0)
        self._stderr.truncate()
        child = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            process_group=0,  # not a session: its nice value then counts against the run's
        )
        assert child.stdin is not None
        child.stdin.write(json.dumps(self.spec.wire()) + "\n")
        return child

    def _said(self) -> str:
        """The last line the child wrote on its standard error."""
        if self._stderr is None:
            return "no output"
        self._stderr.seek(0)
        lines = self._stderr.read().strip().splitlines()
        return (lines or ["no output"])[-1][:300]

    @staticmethod
    def _stop(child: subprocess.Popen[str]) -> None:
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> int:
    """The child: the spec, then a list of records per line, answered line by line."""
    os.nice(NICENESS)  # the trials and the run's loop come first
    spec = StudySpec.model_validate(json.loads(sys.stdin.readline()))
    for line in sys.stdin:
        try:
            records = [Trial.model_validate(r) for r in json.loads(line)]
            answer: object = [i.wire() for i in insights(spec, records)]
        except Exception as error:  # one computation failed: the parent says so
            answer = {"error": str(error).splitlines()[0] if str(error) else repr(error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
