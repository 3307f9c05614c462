"""Per-resource event history and watchers: replay from a resourceVersion, 410 when too old.

Not locked itself: the `Store` calls it under its lock.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request

Obj = dict[str, Any]
Key = tuple[str, str]
WatchCallback = Callable[[str, Obj, Obj | None], None]
"""Called with (event type, object, the previous object of a MODIFIED event or None)."""
Events = list[tuple[str, Obj, Obj | None]]


@dataclass(eq=False)
class Watcher:
    namespace: str | None
    callback: WatchCallback


class EventLog:
    """The last `size` events of each resource, and who watches it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._events: dict[Key, deque[tuple[int, str, Obj, Obj | None]]] = defaultdict(deque)
        self._compacted: dict[Key, int] = defaultdict(int)
        self._watchers: dict[Key, list[Watcher]] = defaultdict(list)

    def record(self, key: Key, rv: int, event: str, obj: Obj, previous: Obj | None) -> None:
        """Keep the event (forgetting the oldest beyond `size`) and tell the watchers."""
        events = self._events[key]
        if len(events) >= self.size:
            self._compacted[key] = events.popleft()[0]
        events.append((rv, event, obj, previous))
        namespace = obj["metadata"].get("namespace")
        for watcher in list(self._watchers[key]):
            if watcher.namespace is None or watcher.namespace == namespace:
                watcher.callback(event, obj, previous)

    def since(self, key: Key, namespace: str | None, resource_version: str, current: int) -> Events:
        """Events after `resource_version`; 410 Expired when they are no longer all kept."""
        try:
            since = int(resource_version)
        except ValueError as exc:
            raise bad_request(f"invalid resource version {resource_version!r}") from exc
        if since < self._compacted[key]:
            raise ApiError(
                410,
                f"too old resource version: {since} ({self._compacted[key]})",
                reason="Expired",
            )
        return [
            (event, obj, previous)
            for rv, event, obj, previous in self._events[key]
            if rv > since and (namespace is None or obj["metadata"].get("namespace") == namespace)
        ]

    def subscribe(self, key: Key, namespace: str | None, callback: WatchCallback) -> Watcher:
        watcher = Watcher(namespace, callback)
        self._watchers[key].append(watcher)
        return watcher

    def unsubscribe(self, key: Key, watcher: Watcher) -> None:
        if watcher in self._watchers[key]:
            self._watchers[key].remove(watcher)

    def compact(self, current: int) -> None:
        """Forget everything up to `current`."""
        for key in list(self._events):
            self._events[key].clear()
            self._compacted[key] = current
