"""Pods a trial driver waits on, as the pods watch reports them (no polling).

A driver says which pod it `expect`s before it creates or reads it; each event of that
pod (kopf's pods watch, `seen`) then keeps the pod's latest body (the handler wakes the
driver). Only expected pods are kept, so memory follows the trials that run, not the
pods that exist.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
UNSEEN: Obj = {}
"""`latest` of an expected pod no event has reported yet: read it from the API."""


@dataclass
class _Slot:
    body: Obj | None = None
    seen: bool = False
    at: float = 0.0
    news: threading.Event = field(default_factory=threading.Event)


class PodWatch:
    """The latest body of each expected pod, and a wake-up for its driver."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._guard = threading.Lock()

    def expect(self, namespace: str, name: str) -> None:
        with self._guard:
            self._slots.setdefault((namespace, name), _Slot())

    def drop(self, namespace: str, name: str) -> None:
        with self._guard:
            self._slots.pop((namespace, name), None)

    def seen(self, namespace: str, name: str, body: Obj | None) -> None:
        """An event of the pod: its body, or None when it was deleted."""
        with self._guard:
            slot = self._slots.get((namespace, name))
            if slot is None:
                return
            slot.body, slot.seen, slot.at = body, True, time.monotonic()
        slot.news.set()

    def expected(self, namespace: str, name: str) -> bool:
        with self._guard:
            return (namespace, name) in self._slots

    def latest(self, namespace: str, name: str, max_age: float | None = None) -> Obj | None:
        """The pod as last seen (None: deleted), or `UNSEEN` (also when that was more
        than `max_age` seconds ago)."""
        with self._guard:
            slot = self._slots.get((namespace, name))
            if slot is None or not slot.seen:
                return UNSEEN
            if max_age is not None and time.monotonic() - slot.at > max_age:
                return UNSEEN
            return slot.body

    def wait(self, namespace: str, name: str, timeout: float) -> bool:
        """Wait up to `timeout` seconds for news of the pod; True if there was some."""
        with self._guard:
            slot = self._slots.get((namespace, name))
        if slot is None:
            return False
        got = slot.news.wait(timeout)
        slot.news.clear()
        return got
