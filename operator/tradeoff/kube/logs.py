"""Following a running pod's log through the API, in a background thread.

The HTTP stream blocks, so a thread reads it and hands complete lines over through a
queue; the trial loop drains the queue on its own schedule, checks whether it must stop,
and ends the stream when it is done. Closing a response from another thread would wait
for the blocked read (a silent trial may print nothing for minutes), so `close()` shuts
the socket down instead, which wakes the reader, and the reader closes the response.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from typing import Any

from tradeoff.kube.client import Kube

CHUNK_BYTES = 16 * 1024


class LogFollower:
    """Lines of one container's log as they are written, from the beginning."""

    def __init__(self, kube: Kube, namespace: str, pod: str, container: str) -> None:
        self._kube = kube
        self._where = (namespace, pod, container)
        self._lines: queue.Queue[str] = queue.Queue()
        self._response: Any = None
        self._closed = threading.Event()
        self.ended = threading.Event()
        """Set once the stream ended: the container stopped, or the request failed."""
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"log {pod}", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def _run(self) -> None:
        partial = b""
        try:
            self._response = self._kube.follow_log(*self._where)
            if self._closed.is_set():
                return
            for chunk in self._response.stream(CHUNK_BYTES, decode_content=True):
                if self._closed.is_set():
                    return
                partial += chunk
                *lines, partial = partial.split(b"\n")
                for line in lines:
                    self._lines.put(line.decode("utf-8", "replace"))
            if partial:
                self._lines.put(partial.decode("utf-8", "replace"))
        except Exception as error:  # the stream's end or failure is reported, never raised
            self.error = f"{error.__class__.__name__}: {error}"[:200]
        finally:
            if self._response is not None:
                with contextlib.suppress(Exception):
                    self._response.close()
            self.ended.set()

    def drain(self, timeout: float) -> list[str]:
        """Lines that arrived, waiting up to `timeout` seconds for the first one."""
        lines: list[str] = []
        try:
            lines.append(self._lines.get(timeout=timeout))
        except queue.Empty:
            return lines
        while True:
            try:
                lines.append(self._lines.get_nowait())
            except queue.Empty:
                return lines

    @property
    def finished(self) -> bool:
        """The stream ended and every line has been drained."""
        return self.ended.is_set() and self._lines.empty()

    def close(self) -> None:
        """Stop following (idempotent, never blocks)."""
        self._closed.set()
        connection = getattr(self._response, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
