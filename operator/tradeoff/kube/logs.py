"""Reading a trial pod's log through the API with bounded memory.

`LogFollower` follows a running container's log in a background thread and parses it as
it streams: each chunk goes through a `LineReader` (lines cut at 64 KiB) into a
`TrialOutput` (bounded by its caps), so memory does not grow with what the trial prints.
The trial loop waits for news, reads the output under `lock` and ends the stream when it
is done. Closing a response from another thread would wait for the blocked read (a silent
trial may print nothing for minutes), so `close()` shuts the socket down instead, which
wakes the reader, and the reader closes the response.

An attempt whose log was not followed to its end (the pod ended before it was followed,
or while the operator was down) has its log streamed through the parser once more
(`read_whole`); only if that stream breaks does `read_tail` parse at most the last
`TAIL_LINES` lines and `TAIL_BYTES` bytes (the API's `tailLines` and `limitBytes`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from tradeoff.kube.client import Kube
from tradeoff.trial_output import TrialOutput
from tradeoff.trial_stream import LineReader

CHUNK_BYTES = 16 * 1024
TAIL_LINES = 10_000
"""Lines of an ended container's log read when it was not followed."""
TAIL_BYTES = 4 * 1024 * 1024
"""Bytes of those lines read at most (the API's `limitBytes`)."""


def _chunks(response: Any) -> Iterable[bytes]:
    chunks: Iterable[bytes] = response.stream(CHUNK_BYTES, decode_content=True)
    return chunks


class LogFollower:
    """One container's log, parsed into `output` as it is written, from the beginning."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        pod: str,
        container: str,
        output: TrialOutput,
        on_news: Callable[[], object] | None = None,
    ) -> None:
        self._kube = kube
        self._on_news = on_news
        """Called (from the stream's thread) when lines arrived or the stream ended."""
        self._where = (namespace, pod, container)
        self.output = output
        self.lock = threading.Lock()
        """Held while `output` changes: hold it to read `output` while the stream runs."""
        self._news = threading.Event()
        self._response: Any = None
        self._closed = threading.Event()
        self.armed = True
        """Whether new intermediate values call `on_news` (once, until armed again)."""
        self.ended = threading.Event()
        """Set once the stream ended: the container stopped, or the request failed."""
        self.complete = False
        """The stream reached its end: `output` holds the whole log."""
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"log {pod}", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def _run(self) -> None:
        reader = LineReader()
        try:
            self._response = self._kube.follow_log(*self._where)
            if self._closed.is_set():
                return
            for chunk in _chunks(self._response):
                if self._closed.is_set():
                    return
                self._parse(reader.feed(chunk))
            self._parse(reader.end())
            self.complete = not self._closed.is_set()
        except Exception as error:  # the stream's end or failure is reported, never raised
            self.error = f"{error.__class__.__name__}: {error}"[:200]
        finally:
            if self._response is not None:
                with contextlib.suppress(Exception):
                    self._response.close()
            self.ended.set()
            self._news.set()
            if self._on_news is not None:
                self._on_news()

    def _parse(self, lines: list[Any]) -> None:
        if lines:
            with self.lock:
                before = self.output.steps
                self.output.feed_lines(lines)
                tell = self.armed and self.output.steps != before
                self.armed = self.armed and not tell
            self._news.set()
            if tell and self._on_news is not None:
                self._on_news()

    def wait(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for new lines or the end of the stream."""
        self._news.wait(timeout)
        self._news.clear()

    @property
    def finished(self) -> bool:
        """The stream ended and everything it brought has been parsed."""
        return self.ended.is_set()

    def close(self) -> None:
        """Stop following (idempotent, never blocks)."""
        self._closed.set()
        connection = getattr(self._response, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def read_whole(
    kube: Kube,
    namespace: str,
    pod: str,
    container: str,
    output: TrialOutput,
    stopped: Callable[[], bool],
) -> bool:
    """Parse an ended container's whole log into `output` as it streams; True if the
    stream reached the end (False if it broke, or `stopped()` said to give up)."""
    follower = LogFollower(kube, namespace, pod, container, output).start()
    while not follower.ended.wait(0.5):
        if stopped():
            follower.close()
            return False
    return follower.complete


def read_tail(kube: Kube, namespace: str, pod: str, container: str, output: TrialOutput) -> None:
    """Parse the end of an ended container's log into `output` (bounded, streamed).

    When the API stops at `TAIL_BYTES`, the last, unfinished line is not read (it may end
    in a cut-off number) and a problem says that the end of the log was not read.
    """
    response = kube.read_log(namespace, pod, container, tail_lines=TAIL_LINES, limit=TAIL_BYTES)
    if response is None:
        return
    reader = LineReader()
    size = 0
    try:
        for chunk in _chunks(response):
            chunk = chunk[: TAIL_BYTES - size]  # whatever the server does with limitBytes
            size += len(chunk)
            output.feed_lines(reader.feed(chunk))
            if size >= TAIL_BYTES:
                break
    finally:
        with contextlib.suppress(Exception):
            response.close()
    if size >= TAIL_BYTES:
        output.add_problem(
            f"the log's last {TAIL_LINES} lines exceed {TAIL_BYTES} bytes; "
            "only their first part was read",
            where="log tail",
        )
    else:
        output.feed_lines(reader.end())
