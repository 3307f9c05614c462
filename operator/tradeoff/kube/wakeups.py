"""Running keyed work on a bounded pool when something wakes it: no thread per key.

A key (say, a Trial) is woken by an event (its Trial's or its pod's watch event, news on
a followed log) or at a time it asked for. `Wakeups` runs `run(key)` on a pool of
`workers` threads, never twice at once for one key: a key woken while it runs runs once
more after. `run` returns the seconds after which it wants to run again whatever happens
(a pending pod's pull timeout, a quota retry, a carbon recheck, a grace period), or None.
One timer thread serves every key's due time from a heap; each key has at most one (the
last asked for), so a key woken early by an event leaves no stray wake-up behind.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
log = logging.getLogger("tradeoff.operator")


class Wakeups(Generic[K]):
    """Runs `run(key)` for each woken key on a bounded pool, one run per key at a time."""

    def __init__(self, run: Callable[[K], float | None], workers: int, name: str = "wake") -> None:
        self._target = run
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)
        self._guard = threading.Condition()
        self._running: set[K] = set()
        self._again: set[K] = set()
        self._due: dict[K, float] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._count = 0
        self._closed = False
        self._timer = threading.Thread(target=self._timer_loop, name=f"{name}-timer", daemon=True)
        self._timer.start()

    def wake(self, key: K) -> None:
        """Run `key` soon (once more after its current run, if it runs now)."""
        with self._guard:
            if self._closed:
                return
            if key in self._running:
                self._again.add(key)
                return
            self._running.add(key)
        self._pool.submit(self._run, key)

    def wake_in(self, key: K, seconds: float) -> None:
        """Run `key` after `seconds`, unless it runs before (its due time is replaced)."""
        with self._guard:
            self._schedule(key, time.monotonic() + max(0.0, seconds))

    def forget(self, key: K) -> None:
        """Drop the key's due time (it is done); a run under way finishes."""
        with self._guard:
            self._due.pop(key, None)
            self._again.discard(key)

    def close(self) -> None:
        """Run nothing more; runs under way finish (they are told to stop by their own)."""
        with self._guard:
            self._closed = True
            self._due.clear()
            self._again.clear()
            self._guard.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> int:
        with self._guard:
            return len(self._running)

    def _schedule(self, key: K, when: float) -> None:
        if self._closed:
            return
        self._due[key] = when
        self._count += 1
        heapq.heappush(self._heap, (when, self._count, key))
        self._guard.notify_all()

    def _run(self, key: K) -> None:
        while True:
            try:
                delay = self._target(key)
            except BaseException:  # `run` handles its own errors: this is a bug
                log.exception("a woken run failed")
                delay = None
            with self._guard:
                if delay is not None:
                    self._schedule(key, time.monotonic() + max(0.0, delay))
                else:
                    self._due.pop(key, None)
                if key in self._again and not self._closed:
                    self._again.discard(key)
                    continue
                self._running.discard(key)
                return

    def _timer_loop(self) -> None:
        while True:
            with self._guard:
                if self._closed:
                    return
                now = time.monotonic()
                if not self._heap:
                    self._guard.wait()
                    continue
                when, _, key = self._heap[0]
                if when > now:
                    self._guard.wait(when - now)
                    continue
                heapq.heappop(self._heap)
                if self._due.get(key) != when:
                    continue  # replaced or dropped since
                del self._due[key]
            self.wake(key)
