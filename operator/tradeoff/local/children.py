"""Records of running trial children, so a later run can stop what a killed run left behind.

Trial children run in their own session (Ctrl-C reaches ``tradeoff run`` only), so after
``kill -9`` of the run they keep running. While an attempt runs, its child's pid and start
time (``/proc/<pid>/stat`` field 22, clock ticks since boot) are kept in
``<dir>/<trial>.json``; the file goes when the attempt ends. The next run, holding the
workdir lock, stops every recorded child that still runs with the same start time (a pid
reused by another process never matches) before it re-runs those trials.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tradeoff.local.store import replace_locked

__all__ = ["ChildRecords", "Leftover", "process_start_ticks"]

_POLL_SECONDS = 0.05


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (after the command name), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
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


class ChildRecords:
    """``<trial>.json`` files in ``folder``: the pid and start time of running children."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, trial: str) -> Path:
        return self.folder / f"{trial}.json"

    def record(self, trial: str, attempt: int, pid: int) -> None:
        """Remember a started child (written whole: temporary file, then rename)."""
        ticks = process_start_ticks(pid)
        if ticks is None:
            return  # already gone (or no /proc): nothing a later run could stop
        document = {"trial": trial, "attempt": attempt, "pid": pid, "startTicks": ticks}
        data = (json.dumps(document) + "\n").encode()
        try:
            replace_locked(self.path(trial), data)
        except FileNotFoundError:  # the first record (or the folder went)
            self.folder.mkdir(parents=True, exist_ok=True)
            replace_locked(self.path(trial), data)

    def forget(self, trial: str) -> None:
        """The child of ``trial`` has ended (never raises)."""
        with contextlib.suppress(OSError):
            self.path(trial).unlink(missing_ok=True)

    def stop_leftovers(self, grace_seconds: float = 5.0) -> list[Leftover]:
        """Stop every recorded child that still runs (SIGTERM to its process group, SIGKILL
        after ``grace_seconds``), drop every record, and return the children stopped.

        Only call this while holding the workdir lock: the records of a live run name
        children that are meant to run.
        """
        if not self.folder.is_dir():
            return []
        found: list[Leftover] = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                trial, pid = str(document["trial"]), int(document["pid"])
                ticks = int(document["startTicks"])
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # half a record: nothing trustworthy to stop
                continue
            if pid > 1 and process_start_ticks(pid) == ticks:
                found.append(Leftover(trial, pid))
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
        self._wait_gone(found, grace_seconds)
        for path in self.folder.glob("*.json"):
            path.unlink(missing_ok=True)
        return found

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
