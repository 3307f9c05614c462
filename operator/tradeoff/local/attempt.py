"""One running trial child as the executor follows it: output, log, timers, stop state."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import stat
import subprocess
import time
from pathlib import Path

from tradeoff.local.artifacts import collect
from tradeoff.local.events import AttemptResult, StopCause
from tradeoff.trial_output import TrialOutput
from tradeoff.trial_stream import TERMINATION_MESSAGE_BYTES, LineReader

__all__ = ["Attempt"]

_READ_SIZE = 65536


def _read_head(path: str, limit: int) -> str | None:
    """The first `limit` bytes of a file, as text; None if there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return os.read(fd, limit).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


class Attempt:
    """A started child: reads its output line by line into its log and ``output``."""

    def __init__(
        self,
        trial: str,
        attempt: int,
        process: subprocess.Popen[bytes],
        output: TrialOutput,
        termination_log: str,
        streams: tuple[int, int],
    ) -> None:
        """``streams``: the read ends of the child's stdout and stderr pipes (owned here)."""
        self.trial = trial
        self.attempt = attempt
        self.process = process
        self.output = output
        self.termination_log = termination_log
        self.started = time.monotonic()
        self.reaped = False
        self.exited = False
        self.deadline: float | None = None
        self.kill_at: float | None = None
        self.stopped_for: StopCause | None = None
        stdout_fd, self.stderr_fd = streams
        self.readers = {stdout_fd: LineReader(), self.stderr_fd: LineReader()}
        """The output streams still open, by file descriptor."""
        self.last_stderr = ""
        self.problems: list[str] = []
        self.log: int | None = None
        """The trial's log (a file descriptor: one unbuffered write per chunk read)."""
        self.artifacts: tuple[str, Path] | None = None
        """(the attempt's artifact folder, the workdir its paths are relative to)."""

    def open_log(self, path: str) -> None:
        """Append this attempt's output to ``path`` (a problem noted if it cannot)."""
        # Not blocking, not following a link: a FIFO in its place would block the run, a
        # link would append the trial's output to whatever file it names.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            log = os.open(path, flags | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            why = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or exc
            self.problems.append(f"cannot write the trial's log: {why}")
            return
        try:
            if not stat.S_ISREG(os.fstat(log).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            os.set_blocking(log, True)
            os.write(log, f"--- attempt {self.attempt} ---\n".encode())
        except OSError as exc:
            os.close(log)
            self.problems.append(f"cannot write the trial's log: {exc.strerror or exc}")
            return
        self.log = log

    def next_timer(self) -> float | None:
        """When the next SIGKILL (if stopping) or the deadline is due (monotonic)."""
        return self.kill_at if self.kill_at is not None else self.deadline

    def signal_group(self, signum: int) -> None:
        """Signal the child's process group unless the child has been reaped already."""
        if self.reaped:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def read(self, fd: int) -> bool:
        """Copy what ``fd`` has to the log line by line, feed stdout to the output parser,
        keep the last non-empty stderr line (cut at 64 KiB, like every line). True when
        the stream has ended (or reading it failed: the child is then killed)."""
        try:
            return self._read(fd)
        except Exception as exc:  # the attempt must still be reaped and reported
            self.problems.append(f"reading the trial's output failed: {exc}")
            self.signal_group(signal.SIGKILL)
            return True

    def _read(self, fd: int) -> bool:
        reader = self.readers[fd]
        chunk = os.read(fd, _READ_SIZE)
        lines = reader.feed(chunk) if chunk else reader.end()
        logged: list[str] = []
        for line in lines:
            logged.append(line.text)
            if line.dropped:
                logged.append(f" [... {line.dropped} more bytes]")
            logged.append("\n")
            if fd == self.stderr_fd:
                self.last_stderr = line.text.strip() or self.last_stderr
            else:
                self.output.feed(line.text.rstrip("\r"), cut=line.dropped > 0)
        if self.log is not None and logged:
            self._write_log("".join(logged).encode("utf-8", "replace"))
        return not chunk

    def _write_log(self, data: bytes) -> None:
        assert self.log is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self.log, view) :]

    def close_stream(self, fd: int) -> None:
        """Close an output stream that has ended."""
        del self.readers[fd]
        os.close(fd)

    def close(self) -> None:
        """Close what is still open (the output streams and the log; never raises)."""
        for fd in [*self.readers, *([self.log] if self.log is not None else [])]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.readers.clear()
        self.log = None

    def result(self, status: int, usage: resource.struct_rusage) -> AttemptResult:
        """The ended attempt, from the child's wait status and resource usage."""
        self.process.returncode = exit_code = os.waitstatus_to_exitcode(status)
        duration = time.monotonic() - self.started
        if self.log is not None:
            os.close(self.log)
            self.log = None
        output = self.output
        summary = _read_head(self.termination_log, TERMINATION_MESSAGE_BYTES)
        if summary is not None:
            output.apply_summary(summary)
            Path(self.termination_log).unlink(missing_ok=True)
        saved, unsaved = collect(*self.artifacts) if self.artifacts else ([], [])
        return AttemptResult(
            trial=self.trial,
            attempt=self.attempt,
            exit_code=exit_code,
            duration_seconds=duration,
            cpu_seconds=usage.ru_utime + usage.ru_stime,
            metrics=dict(output.final),
            problems=self.problems + output.problems + unsaved,
            invalid=dict(output.invalid),
            artifacts=saved,
            last_stderr=self.last_stderr,
            stopped_for=self.stopped_for,
        )
