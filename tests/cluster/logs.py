"""Container logs that the local kubelet writes and the emulator's log endpoint reads.

A log is its bytes plus where each line starts and when it was written, as the kubelet
keeps it: output that arrives without a newline continues the same line, so `tailLines`
counts real lines whatever the chunking, and a follower reads bytes from an offset.
"""

from __future__ import annotations

import bisect
import threading
from datetime import UTC, datetime


def _nano_timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


class ContainerLog:
    """The output of one container run; each line stamped (RFC 3339, nanoseconds) when it
    started."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._starts: list[int] = []
        self._stamps: list[str] = []
        self.closed = False
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Append output; a line stays open until its newline arrives."""
        if not data:
            return
        with self._lock:
            stamp = _nano_timestamp()
            offset = len(self._data)
            if offset == 0 or self._data[-1] == 0x0A:
                self._begin(offset, stamp)
            self._data += data
            index = data.find(b"\n")
            while index != -1 and offset + index + 1 < len(self._data):
                self._begin(offset + index + 1, stamp)
                index = data.find(b"\n", index + 1)

    def _begin(self, offset: int, stamp: str) -> None:
        self._starts.append(offset)
        self._stamps.append(stamp)

    def close(self) -> None:
        with self._lock:
            self.closed = True

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._data)

    def read(self, offset: int, limit: int) -> tuple[bytes, bool]:
        """Up to `limit` bytes from `offset` on, and whether the container has ended."""
        with self._lock:
            return bytes(self._data[offset : offset + limit]), self.closed

    def start_of(self, since: str | None, tail: int | None) -> int:
        """The offset where a read with `sinceTime` (a comparable stamp) and `tailLines`
        starts: the first line written at or after `since`, then at most `tail` lines
        back from the end."""
        with self._lock:
            first = 0
            if since is not None:
                first = next(
                    (i for i, stamp in enumerate(self._stamps) if stamp[:19] >= since[:19]),
                    len(self._stamps),
                )
            if tail is not None:
                first = max(first, len(self._starts) - tail)
            return self._starts[first] if first < len(self._starts) else len(self._data)

    def stamp_at(self, offset: int) -> str:
        """The timestamp of the line that holds byte `offset`."""
        with self._lock:
            index = bisect.bisect_right(self._starts, offset) - 1
            return self._stamps[max(0, index)] if self._stamps else _nano_timestamp()

    def tail_text(self, lines: int, limit: int) -> str:
        """The last `lines` lines, at most their last `limit` bytes, as text."""
        start = self.start_of(None, lines)
        with self._lock:
            data = bytes(self._data[max(start, len(self._data) - limit) :])
        return data.decode("utf-8", "replace")

    def text(self) -> str:
        with self._lock:
            return self._data.decode("utf-8", "replace")


class LogRegistry:
    """Logs by (namespace, pod, container)."""

    def __init__(self) -> None:
        self._logs: dict[tuple[str, str, str], ContainerLog] = {}
        self._lock = threading.Lock()

    def open(self, namespace: str, pod: str, container: str) -> ContainerLog:
        log = ContainerLog()
        with self._lock:
            self._logs[(namespace, pod, container)] = log
        return log

    def get(self, namespace: str, pod: str, container: str) -> ContainerLog | None:
        with self._lock:
            return self._logs.get((namespace, pod, container))

    def drop(self, namespace: str, pod: str) -> None:
        with self._lock:
            for key in [k for k in self._logs if k[:2] == (namespace, pod)]:
                del self._logs[key]
