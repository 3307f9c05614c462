"""The journal of running trial children, so a later run can stop what a killed run left.

Trial children run in their own process group (Ctrl-C reaches ``tradeoff run`` only), so after
``kill -9`` of the run they keep running. The run appends a line to one journal per
workdir (``attempts/children.jsonl``) as soon as a child has started, with its pid and
start time (``/proc/<pid>/stat`` field 22, clock ticks since boot), and another when it
has been reaped; when no child runs the journal is emptied, and it is rewritten with the
running children alone once it grows long, so it stays small. Appending is one
``write`` on a file the run keeps open (no file made, renamed or removed per child), and
needs no ``fsync``: a killed run's last writes are in the page cache, which is all the
next run reads. The next run, holding the workdir lock, stops every child the journal
names as started and not ended that still runs with the same start time (a pid reused by
another process never matches) before it re-runs those trials. A line cut short (a crash
of the machine mid-write) is skipped. A child that exits before its line is written
needs no stopping; the moment between the child's start and its line is the only
time a kill of the run leaves a child the journal does not name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tradeoff.local.files import MAX_JOURNAL_BYTES, parse_json, read_bounded, replace_locked
from tradeoff.local.workdir_lock import StoreError

__all__ = ["ChildRecords", "Leftover", "process_start_ticks"]

_POLL_SECONDS = 0.05
COMPACT_LINES = 4096
"""Rewrite the journal with the running children alone after this many appends."""


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (after the command name), or None if gone."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        text = os.read(fd, 4096).decode("ascii", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)
    return text[text.rfind(")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None if it is gone or a zombie."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])  # field 22 of the whole line; fields[0] is field 3 (state)


def _group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies do not count)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in "ZX":
            return True
    return False


@dataclass(frozen=True)
class Leftover:
    """A child a previous run left running, stopped by ``ChildRecords.stop_leftovers``."""

    trial: str
    pid: int


@dataclass(frozen=True)
class _Started:
    trial: str
    pid: int
    ticks: int


def _parse(line: bytes) -> _Started | int | None:
    """A started child, or the pid of a reaped one, from a journal line; None if the
    line is not one (cut short by a crash: nothing trustworthy to stop)."""
    try:
        document = parse_json(line)
        if "ended" in document:
            return int(document["pid"])
        return _Started(str(document["trial"]), int(document["pid"]), int(document["startTicks"]))
    except (ValueError, KeyError, TypeError):
        return None


class ChildRecords:
    """The journal ``path`` of running children (and the pre-journal folder of one
    ``<trial>.json`` per child, ``legacy``, which older versions kept)."""

    def __init__(self, path: Path, legacy: Path | None = None) -> None:
        self.path = path
        self.legacy = legacy
        self._fd: int | None = None
        self._running: dict[str, tuple[int, bytes]] = {}  # trial -> (pid, its start line)
        self._appended = 0

    def record(self, trial: str, attempt: int, pid: int) -> None:
        """Append a started child to the journal (the file is made on the first)."""
        ticks = process_start_ticks(pid)
        if ticks is None:
            return  # already gone (or no /proc): nothing a later run could stop
        document = {"trial": trial, "attempt": attempt, "pid": pid, "startTicks": ticks}
        line = (json.dumps(document) + "\n").encode()
        self._running[trial] = (pid, line)
        self._append(line)

    def forget(self, trial: str) -> None:
        """The child of ``trial`` has been reaped (never raises)."""
        entry = self._running.pop(trial, None)
        if entry is None or self._fd is None:
            return
        with contextlib.suppress(OSError):
            if not self._running:
                os.ftruncate(self._fd, 0)  # nothing runs: nothing for a later run to stop
                self._appended = 0
            elif self._appended >= COMPACT_LINES:
                self._compact()
            else:
                self._append(json.dumps({"ended": trial, "pid": entry[0]}).encode() + b"\n")

    def close(self) -> None:
        """Close the journal (it stays, naming any child not reaped yet)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _append(self, line: bytes) -> None:
        if self._fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
            try:
                self._fd = os.open(self.path, flags, 0o600)
            except FileNotFoundError:  # the scratch folder is made on first use
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, flags, 0o600)
        os.write(self._fd, line)
        self._appended += 1

    def _compact(self) -> None:
        """Replace the journal with the start lines of the children still running."""
        replace_locked(self.path, b"".join(line for _, line in self._running.values()))
        self.close()
        self._appended = 0

    def stop_leftovers(self, grace_seconds: float = 5.0) -> list[Leftover]:
        """Stop every journalled child that still runs (SIGTERM to its process group,
        SIGKILL after ``grace_seconds``), empty the journal, and return the children
        stopped; a StoreError if the journal cannot be read.

        Only call this while holding the workdir lock, before starting any child: the
        journal of a live run names children that are meant to run.
        """
        found: list[Leftover] = []
        for child in self._unreaped():
            if child.pid > 1 and process_start_ticks(child.pid) == child.ticks:
                found.append(Leftover(child.trial, child.pid))
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGTERM)
        self._wait_gone(found, grace_seconds)
        self.close()
        self.path.unlink(missing_ok=True)
        if self.legacy is not None and self.legacy.is_dir():
            for path in self.legacy.glob("*.json"):
                path.unlink(missing_ok=True)
        return found

    def _unreaped(self) -> Iterator[_Started]:
        """The children started and not reaped, by the journal (read line by line: memory
        holds only those) and the legacy folder."""
        started: dict[int, _Started] = {}
        try:
            lines = read_bounded(self.path, MAX_JOURNAL_BYTES).splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot read the journal of running trials ({exc.strerror});"
                " stop any trial a killed run left running, then delete it"
            ) from None
        for line in lines:
            parsed = _parse(line)
            if isinstance(parsed, _Started):
                started[parsed.pid] = parsed
            elif parsed is not None:
                started.pop(parsed, None)
        yield from started.values()
        if self.legacy is not None and self.legacy.is_dir():
            for path in sorted(self.legacy.glob("*.json")):
                with contextlib.suppress(OSError):
                    parsed = _parse(read_bounded(path, MAX_JOURNAL_BYTES))
                    if isinstance(parsed, _Started):
                        yield parsed

    def _wait_gone(self, found: list[Leftover], grace_seconds: float) -> None:
        deadline = time.monotonic() + grace_seconds
        killed = False
        while alive := [c for c in found if _group_alive(c.pid)]:
            if time.monotonic() >= deadline:
                if killed:
                    return  # unkillable (e.g. uninterruptible sleep): give up waiting
                for child in alive:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.pid, signal.SIGKILL)
                killed, deadline = True, time.monotonic() + grace_seconds
            time.sleep(_POLL_SECONDS)
