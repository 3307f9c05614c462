"""Flushing written files to disk in the background: durability against a power cut.

Records are replaced atomically (temporary file, rename) on the runner's thread, which
is all a crash of the run (``kill -9``, an exception) needs: the page cache outlives the
process. Only a crash of the machine needs the data on disk; a ``fsync`` per record
(milliseconds each) would dominate a study of short trials, so one thread flushes the
files written since its last pass, then their folders, at most once every
``FLUSH_SECONDS`` (an ``fsync`` of a folder also stalls renames in it: a pass per record
cost a study of instant trials a third of its wall time), and ``wait`` flushes at once
and blocks until everything written so far is on disk (the runner calls it when a run
ends). A crash of the machine mid-run can lose the last moments' records (their trials
run again) or, on
file systems that persist a rename before the data it renames, leave a record cut short,
which the next run names (``FileStore.load_trials``).
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["FLUSH_SECONDS", "Flusher", "fsync_path"]

FLUSH_SECONDS = 0.5
"""A pass flushes what was written in this long (unless ``wait`` asks for it now)."""


def fsync_path(path: str | os.PathLike[str], *, folder: bool = False) -> None:
    """``fsync`` a file or folder; gone files and file systems that refuse are skipped."""
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if folder else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


def _folder(path: str) -> str:
    """The folder of ``path`` (a string: no Path made per record)."""
    head, sep, _ = path.rpartition(os.sep)
    return head or sep or "."


class Flusher:
    """Flushes the paths it is given to disk on its own thread, in batches."""

    def __init__(self, seconds: float = FLUSH_SECONDS) -> None:
        self.seconds = seconds
        self.passes = 0
        """Passes so far (each flushes a batch of files, then their folders)."""
        self._cond = threading.Condition()
        self._dirty: set[str] = set()  # paths as strings: no Path made per record
        self._busy = False
        self._waiting = 0
        self._thread: threading.Thread | None = None

    def add(self, path: str | os.PathLike[str]) -> None:
        """Flush ``path`` (and its folder) soon."""
        with self._cond:
            first = not self._dirty
            self._dirty.add(os.fspath(path))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="tradeoff-flush", daemon=True
                )
                self._thread.start()
            if first:  # the thread sleeps until there is something to flush
                self._cond.notify_all()

    def wait(self) -> None:
        """Return once everything added so far is on disk."""
        with self._cond:
            self._waiting += 1
            self._cond.notify_all()
            try:
                while self._dirty or self._busy:
                    self._cond.wait()
            finally:
                self._waiting -= 1

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._dirty:
                    self._cond.wait()
                due = time.monotonic() + self.seconds  # gather a batch, unless awaited
                while not self._waiting and (left := due - time.monotonic()) > 0:
                    self._cond.wait(left)
                batch, self._dirty, self._busy = self._dirty, set(), True
                self.passes += 1
            try:
                for path in batch:
                    fsync_path(path)
                for folder in {_folder(p) for p in batch}:
                    fsync_path(folder, folder=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
