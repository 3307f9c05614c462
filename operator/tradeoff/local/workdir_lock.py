"""The lock a run holds on its workdir, and the errors of a workdir that cannot be used."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from pathlib import Path

__all__ = ["StoreError", "WorkdirBusy", "WorkdirLock"]


class StoreError(Exception):
    """The workdir cannot be used; the message is one line naming the file and the fix."""


class WorkdirBusy(StoreError):
    """Another run holds the workdir lock."""


class WorkdirLock:
    """An exclusive ``flock`` on ``<workdir>/.lock`` for as long as a run uses the workdir.

    The kernel drops the lock when the holder exits, even by ``kill -9``, so a stale
    lock file never blocks a resume. Trial children do not inherit it (close-on-exec).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.path = workdir / ".lock"
        self._fd: int | None = None

    def acquire(self) -> WorkdirLock:
        """Take the lock and write this process's pid into the file.

        Raises ``WorkdirBusy`` (naming the holder's pid) if another run holds it and
        ``StoreError`` if the workdir cannot be created.
        """
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.workdir}: cannot create the workdir ({exc.strerror})"
            ) from None
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_pid(fd)
            os.close(fd)
            raise WorkdirBusy(
                f"{self.workdir} is in use by another tradeoff run (pid {holder or 'unknown'})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, opened; a StoreError if it is anything but a regular file (a
        symbolic link is not followed: the pid written would truncate what it points to)."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            why = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            raise StoreError(f"{self.path}: cannot open the lock file ({why}); delete it") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StoreError(f"{self.path}: not a regular file; delete it")
        return fd

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it would race with a new run)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WorkdirLock:
        """`with WorkdirLock(w):` takes it; `with store.lock():` uses the one taken."""
        return self if self._fd is not None else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder_pid(fd: int, attempts: int = 10) -> int | None:
    """The pid in the lock file; the holder writes it just after locking, so retry briefly."""
    for _ in range(attempts):
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    return None
