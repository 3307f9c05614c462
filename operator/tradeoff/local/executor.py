"""Trial attempts as local subprocesses.

Each attempt runs the primary container's ``command + args`` of the trial's rendered
PodSpec, as a list (never through a shell), in its own process group, with the trial
environment of the template. The runner's thread follows every child in ``poll``: one
selector waits on all children's stdout and stderr and on a pidfd per child (readable
when it exits), so a child's ending wakes the runner at once, with no thread or fixed
sleep in between. Output goes to the trial's log (lines cut at 64 KiB: memory does not
grow with what a trial prints); metric lines are parsed with ``TrialOutput``. Events go
on the runner's queue: an ``Intermediate`` per new intermediate value as it arrives, and
one ``AttemptResult`` once the child has exited and closed its output (exit status, CPU
time from ``wait4``, final metrics with the termination-log summary applied). The runner
calls ``fire_timers`` to enforce deadlines (SIGTERM, then SIGKILL after a grace period).
Running children are journalled (``ChildRecords``) in the scratch folder, so a run started
after this one was killed can stop them (``stop_leftovers``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeoff.api.study import StudySpec
from tradeoff.api.template import ENV_ARTIFACTS, ENV_ARTIFACTS_S3_URL, ENV_TERMINATION_LOG
from tradeoff.local import artifacts
from tradeoff.local.attempt import Attempt
from tradeoff.local.children import ChildRecords, Leftover
from tradeoff.local.events import AttemptResult, Event, Intermediate, StopCause, command_line
from tradeoff.trial_output import TrialOutput

__all__ = ["LocalExecutor"]

_TERMINATION_LOG = "termination-log"
"""The suffix of an attempt's termination log in the scratch folder."""


class LocalExecutor:
    """Starts, follows and stops trial attempts; reports through ``events``."""

    def __init__(
        self,
        spec: StudySpec,
        events: queue.SimpleQueue[Event],
        *,
        logs_dir: Path,
        warn: Callable[[str], None],
        scratch_dir: Path | None = None,
        grace_seconds: float = 5.0,
        cwd: Path | None = None,
        artifacts_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.artifacts_dir = artifacts_dir
        """Where trials save artifacts (one folder each, `$TRADEOFF_ARTIFACTS`); None: nowhere."""
        self.events = events
        self.logs_dir = logs_dir
        self.warn = warn
        self.grace_seconds = grace_seconds
        self.cwd = cwd
        self._running: dict[str, Attempt] = {}
        self._base_env = dict(os.environ)  # read once: each copy of os.environ costs 0.4 ms
        self._base_environb = {os.fsencode(k): os.fsencode(v) for k, v in self._base_env.items()}
        """The same, encoded once (``Popen`` encodes every str of an env on every start)."""
        self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)  # every child's stdin
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._warned: set[str] = set()
        self._own_scratch = scratch_dir is None
        self._tmp = scratch_dir or Path(tempfile.mkdtemp(prefix="tradeoff-"))
        self.children = ChildRecords(self._tmp / "children.jsonl", legacy=self._tmp / "running")
        self._scratch_made = False
        # Folders as strings with a separator: a start joins names to them, not Paths.
        self._scratch = f"{self._tmp}{os.sep}"
        self._logs = f"{logs_dir}{os.sep}"
        self._saves = None if artifacts_dir is None else f"{artifacts_dir}{os.sep}"

    @property
    def running(self) -> list[str]:
        """Trials with a child that has not been reported as exited yet."""
        return list(self._running)

    def stop_leftovers(self) -> list[Leftover]:
        """Stop the children an earlier, killed run left running in this scratch folder
        (call before starting anything, holding the workdir lock)."""
        return self.children.stop_leftovers(self.grace_seconds)

    def close(self) -> None:
        """Remove the temporary files (call once nothing runs any more)."""
        self._selector.close()
        self.children.close()
        for running in self._running.values():
            running.close()
        for fd in (self._wake_read, self._wake_write, self._devnull):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._own_scratch:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def wake(self) -> None:
        """Make a ``poll`` in progress return now (safe in a signal handler)."""
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"\0")

    # -- starting ----------------------------------------------------------------------

    def environment(self, container: dict[str, Any], termination_log: str) -> dict[bytes, bytes]:
        """The caller's environment (as it was when the executor was made) plus the
        container's env values (PYTHONPATH extended), without a bucket folder; encoded."""
        env = dict(self._base_environb)
        for item in container.get("env") or []:
            name = str(item.get("name", ""))
            if "value" in item:
                value = str(item["value"])
                if name == "PYTHONPATH" and self._base_env.get("PYTHONPATH"):
                    value = value + os.pathsep + self._base_env["PYTHONPATH"]
                env[os.fsencode(name)] = os.fsencode(value)
            elif "valueFrom" in item:
                self._warn_once(
                    f"valueFrom:{name}",
                    f"env {name} uses valueFrom, which local mode does not support; left unset",
                )
        if container.get("envFrom"):
            self._warn_once("envFrom", "envFrom is not supported in local mode; ignored")
        env[ENV_TERMINATION_LOG.encode()] = os.fsencode(termination_log)
        # Local mode keeps artifacts under the workdir: a bucket folder (a cluster's) from
        # the caller's shell or the template would send them elsewhere, unrecorded.
        env.pop(ENV_ARTIFACTS_S3_URL.encode(), None)
        return env

    def start(self, trial: str, attempt: int, pod: dict[str, Any]) -> None:
        """Start an attempt of ``trial`` from its rendered PodSpec.

        A command that cannot start is reported at once as an ``AttemptResult`` with
        ``start_error`` set, like any other ending.
        """
        container = pod["containers"][self.spec.trial_template.primary_index()]
        termination_log = f"{self._scratch}{trial}.{attempt}.{_TERMINATION_LOG}"
        saves = None if self._saves is None else self._saves + trial
        try:
            if not self._scratch_made:
                self._make_scratch()
            argv = command_line(container)
            env = self.environment(container, termination_log)
            if saves is not None:
                artifacts.prepare(saves)
                env[ENV_ARTIFACTS.encode()] = os.fsencode(saves)
            streams, process = self._spawn(argv, env)
        except (ValueError, OSError) as exc:
            message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.events.put(AttemptResult(trial, attempt, None, 0.0, 0.0, {}, start_error=message))
            return
        try:  # first: the journal names the child before anything else can fail or wait
            self.children.record(trial, attempt, process.pid)
        except OSError as exc:
            self._warn_once("record", f"cannot record running trials in {self._tmp}: {exc}")

        def on_step(metric: str, step: int, value: float) -> None:
            self.events.put(Intermediate(trial, attempt, metric, step, value))

        output = TrialOutput(self.spec.trial_template.metrics.format, series=(), on_step=on_step)
        running = Attempt(trial, attempt, process, output, termination_log, streams)
        if saves is not None and self.artifacts_dir is not None:
            running.artifacts = (saves, self.artifacts_dir.parent)
        running.open_log(f"{self._logs}{trial}.log")
        deadline = self.spec.trial_template.active_deadline_seconds
        if deadline is not None:
            running.deadline = running.started + deadline
        self._running[trial] = running
        self._follow(running)

    def _make_scratch(self) -> None:
        """The scratch folder, without termination logs a killed run left (an attempt's
        is named by its trial and attempt number, so none is removed before each start)."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        for stale in self._tmp.glob(f"*.{_TERMINATION_LOG}"):
            stale.unlink(missing_ok=True)
        self._scratch_made = True

    def _spawn(
        self, argv: list[str], env: dict[bytes, bytes]
    ) -> tuple[tuple[int, int], subprocess.Popen[bytes]]:
        """Start the child with its stdout and stderr on pipes of our own (no file objects
        around them: the selector reads the raw ends); (the read ends, the process)."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            process = subprocess.Popen(
                argv,
                stdin=self._devnull,
                stdout=out_write,
                stderr=err_write,
                env=env,
                cwd=self.cwd,
                # A process group of its own (Ctrl-C reaches tradeoff only; it stops the
                # group), in tradeoff's session: a new session would also be a new
                # scheduling group (autogroup), which waited 6-9 ms to run before its
                # exec on a loaded machine, against under 1 ms (BENCHMARKS.md, 6 (c)).
                process_group=0,
            )
        except BaseException:
            os.close(out_read)
            os.close(err_read)
            raise
        finally:
            os.close(out_write)
            os.close(err_write)
        return (out_read, err_read), process

    # -- stopping ----------------------------------------------------------------------

    def stop(self, trial: str, cause: StopCause, *, force: bool = False) -> None:
        """Stop a running attempt: SIGTERM (SIGKILL with ``force`` or after the grace)."""
        running = self._running.get(trial)
        if running is None:
            return
        if running.stopped_for is None:
            running.stopped_for = cause
        if running.kill_at is None:
            running.kill_at = time.monotonic() + self.grace_seconds
        running.signal_group(signal.SIGKILL if force else signal.SIGTERM)

    def stop_all(self, cause: StopCause, *, force: bool = False) -> None:
        for trial in self.running:
            self.stop(trial, cause, force=force)

    def seconds_to_next_timer(self) -> float | None:
        """Seconds until a deadline or a SIGKILL is due, or None without timers."""
        due = [t for a in self._running.values() if (t := a.next_timer()) is not None]
        return max(0.0, min(due) - time.monotonic()) if due else None

    def fire_timers(self) -> None:
        """Enforce deadlines (SIGTERM) and grace periods (SIGKILL) that are due."""
        now = time.monotonic()
        for trial, running in list(self._running.items()):
            if running.kill_at is not None:
                if now >= running.kill_at:
                    running.signal_group(signal.SIGKILL)
                    running.kill_at = now + self.grace_seconds  # repeat until reaped
            elif running.deadline is not None and now >= running.deadline:
                self.stop(trial, "deadline")

    def finished(self, trial: str) -> None:
        """The runner took the ``AttemptResult`` of ``trial``: forget the attempt."""
        self._running.pop(trial, None)

    # -- following (every child in one selector, on the runner's thread) -------------

    def _follow(self, running: Attempt) -> None:
        """Register the child's output and exit with the selector."""
        for fd in running.readers:
            self._selector.register(fd, selectors.EVENT_READ, running)
        try:
            pidfd = os.pidfd_open(running.process.pid)
        except OSError:  # no pidfd (old kernel): the exit is waited for once output ends
            running.exited = True
        else:
            self._selector.register(pidfd, selectors.EVENT_READ, running)

    def poll(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: until something happens) for output or
        an exit of any child, or a ``wake``; handle what is ready (events go on the queue).
        False if the time ran out with nothing ready."""
        ready = self._selector.select(timeout)
        for key, _ in ready:
            running: Attempt | None = key.data
            if running is None:
                with contextlib.suppress(OSError):
                    os.read(self._wake_read, 4096)
                continue
            fd = key.fd
            if fd not in running.readers:  # the pidfd: the child has exited
                self._selector.unregister(fd)
                os.close(fd)
                running.exited = True
            elif running.read(fd):
                self._selector.unregister(fd)
                running.close_stream(fd)
            if running.exited and not running.readers and not running.reaped:
                self._reap(running)
        return bool(ready)

    def _reap(self, running: Attempt) -> None:
        """The child exited and closed its output: collect its status and report."""
        _, status, usage = os.wait4(running.process.pid, 0)
        running.reaped = True
        self.children.forget(running.trial)
        self.events.put(running.result(status, usage))

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warn(message)
