"""A workdir's files: written atomically, and read when anyone may have edited them,
bounded and never blocking.

A record replaced by a FIFO would block the reader forever, one linked to ``/dev/zero``
would take all the memory, and JSON nested a hundred thousand levels deep exhausts
Python's recursion: each is refused here as an ``OSError`` (or a ``ValueError`` for the
JSON) whose text the caller puts in its one-line error naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from tradeoff.local.durable import fsync_path

__all__ = [
    "MAX_JOURNAL_BYTES",
    "MAX_PRIORS_BYTES",
    "MAX_RECORD_BYTES",
    "MAX_SETTINGS_BYTES",
    "MAX_STUDY_BYTES",
    "parse_json",
    "read_bounded",
    "replace_locked",
    "write_atomically",
]

MAX_RECORD_BYTES = 64 << 20
"""A trial record (a few KiB; 1,000 metrics and 1,000 intermediate values at most)."""
MAX_STUDY_BYTES = 16 << 20
"""``study.json``: the spec of a manifest of at most 3 MiB, and a little more."""
MAX_PRIORS_BYTES = 256 << 20
"""``priors.json``: the finished trials of the warm start's source studies."""
MAX_JOURNAL_BYTES = 16 << 20
"""``attempts/children.jsonl``: a line per running child, compacted every 4,096 lines."""
MAX_SETTINGS_BYTES = 1 << 20
"""A settings file named on the command line (``--intensity-config``)."""

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file ``path``: an ``OSError`` whose ``strerror`` says why
    not if it is anything else (opened without blocking, so a FIFO is refused too) or
    holds more than ``limit`` bytes (refused by its size, unread)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        status = os.fstat(fd)
        mode = status.st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a file")
            raise OSError(errno.EINVAL, f"not a regular file: {kind}", os.fspath(path))
        if status.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {_size(limit)}", os.fspath(path))
        chunks: list[bytes] = []
        left = limit + 1  # the file may grow after fstat: read no more than this
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise OSError(errno.EFBIG, f"larger than {_size(limit)}", os.fspath(path))
    return b"".join(chunks)


def parse_json(data: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for Python's recursion a ``ValueError``."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def write_atomically(path: Path, text: str, *, sync: bool = True) -> None:
    """Replace ``path`` with ``text``: a temporary file in the same folder, rename.

    ``sync``: flush the file to disk before the rename and the folder after it; without,
    the caller flushes later (see ``tradeoff.local.durable``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync:
        fsync_path(path.parent, folder=True)


def replace_locked(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` (atomically: ``.<name>.tmp`` beside it, rename; not
    flushed to disk), for the holder of the workdir lock, the folder's only writer: the
    temporary file's name is fixed (no search for a free one) and the folder exists.
    Records are saved twice per trial: this took 0.23 ms of CPU a save against
    ``write_atomically``'s 0.32 ms (BENCHMARKS.md, section 6 (c)); paths are strings
    here, which spares a save the Path objects' joins and conversions."""
    folder, sep, name = os.fspath(path).rpartition(os.sep)
    tmp = Path(f"{folder}{sep}.{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
