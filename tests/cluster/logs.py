"""Container logs that the local kubelet writes and the emulator's log endpoint reads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime


def _nano_timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


class ContainerLog:
    """The lines of one container run, each with an RFC 3339 nano timestamp."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, bytes]] = []
        self.closed = False
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Append output; a chunk that does not end with a newline still forms a line."""
        with self._lock:
            stamp = _nano_timestamp()
            for line in data.splitlines(keepends=True):
                self.lines.append((stamp, line))

    def close(self) -> None:
        with self._lock:
            self.closed = True

    def read(self, start: int) -> tuple[list[tuple[str, bytes]], bool]:
        """Lines from index `start` on, and whether the container has ended."""
        with self._lock:
            return self.lines[start:], self.closed

    def text(self) -> str:
        return b"".join(line for _, line in self.read(0)[0]).decode("utf-8", "replace")


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
