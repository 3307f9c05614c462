"""An informer: one resource listed a page at a time, then watched from that listing.

The operator reads Trials and its pods this way instead of through kopf's events (kopf
keeps a memory and a worker per object, about 1 ms of CPU per object of its initial
listing: most of a restart on a study of 10,000 trials). Each page is decoded once and
each object handed once to a `Handler` (event type None for a listed object), and the
handler is told when a listing is complete (`synced`), so a pass never reads part of it.

What a client of the API must survive is handled here:

- a watch the server ends (its timeout) is opened again from the last resourceVersion
  seen (objects' and bookmarks');
- a watch cut mid-stream, or an API error, is tried again after `ERROR_BACKOFFS`
  (resumed from the last resourceVersion, so nothing is missed);
- 410 Gone (the resourceVersion is older than the server's history, or a listing's
  `continue` token expired) lists everything again; objects the informer had reported
  that the new listing lacks were deleted meanwhile, and are reported DELETED (`Mirror`),
  so no periodic re-listing is needed to learn of them.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Obj = dict[str, Any]
Key = tuple[str, str]
Handler = Callable[[str | None, Obj], None]
"""Called with ("ADDED" | "MODIFIED" | "DELETED" | None for a listed object, the object)."""
ERROR_BACKOFFS = (0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0)
"""Seconds before trying again after 1, 2, ... failures in a row (the last one repeats)."""
log = logging.getLogger("tradeoff.operator")


_loading = 0
_loading_guard = threading.Lock()


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """No garbage collection while a page of a listing is decoded and kept, and what is
    alive after it frozen (`gc.freeze`: never scanned again; freed as usual when no longer
    referenced). A listing of 10,000 Trials makes a few million objects that live on: the
    collector scanned the growing heap over and over (1.0-2.0 s of CPU against 0.8-1.1 s
    with this, measured in one process)."""
    global _loading
    with _loading_guard:
        _loading += 1
        gc.disable()
    try:
        yield
    finally:
        with _loading_guard:
            _loading -= 1
            if _loading == 0:
                gc.freeze()
                gc.enable()


class Gone(Exception):
    """410 Gone: the resourceVersion or `continue` token is too old; list again."""


@dataclass
class Page:
    items: list[Obj]
    version: str
    """The listing's resourceVersion (the same on every page of one listing)."""
    token: str | None
    """The `continue` token of the next page; None on the last."""


class Source(Protocol):
    """How an informer reads its resource (`listwatch.KubeSource`, or a test double)."""

    def page(self, token: str | None) -> Page:
        """A page of the listing (`token`: None for the first); raises `Gone`."""
        ...

    def watch(self, version: str) -> Iterator[tuple[str, Obj]]:
        """Events (type, object) after `version` until the server ends the stream;
        raises `Gone` when `version` is too old, other errors when cut."""
        ...

    def close(self) -> None:
        """End a watch under way (the informer stops or pauses)."""
        ...


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def version_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


Remember = tuple[Callable[[Obj], Any], Callable[[Key, Any], Obj]]
"""What to keep of each object seen (its tombstone), and the DELETED event's body made
from its key and tombstone."""


@dataclass
class Mirror:
    """The keys an informer has reported as existing, and a tombstone of each (what a
    DELETED event needs) to report the deletions a later listing finds."""

    handler: Handler
    remember: Remember
    known: dict[Key, tuple[str, Any]] = field(default_factory=dict)
    """Key -> (uid, tombstone)."""
    _listed: set[Key] | None = None

    def begin(self) -> None:
        self._listed = set()

    def listed(self, items: list[Obj]) -> None:
        for obj in items:
            key = key_of(obj)
            if self._listed is not None:
                self._listed.add(key)
            self._seen(key, obj)
            self.handler(None, obj)

    def end(self) -> None:
        """The listing is complete: what it lacks was deleted."""
        listed, self._listed = self._listed or set(), None
        for key in [k for k in self.known if k not in listed]:
            self.handler("DELETED", self.remember[1](key, self.known.pop(key)[1]))

    def event(self, kind: str, obj: Obj) -> None:
        key = key_of(obj)
        if kind == "DELETED":
            self.known.pop(key, None)
        else:
            self._seen(key, obj)
        self.handler(kind, obj)

    def _seen(self, key: Key, obj: Obj) -> None:
        """Remember `obj`; an object of the same name but another uid was deleted (and
        made anew while the watch was down): that is reported first."""
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        old = self.known.get(key)
        if old is not None and old[0] != uid:
            self.handler("DELETED", self.remember[1](key, old[1]))
        self.known[key] = (uid, self.remember[0](obj))


class Informer:
    """List then watch one `Source`, feeding `handler`; `run` on a thread of its own."""

    def __init__(
        self,
        name: str,
        source: Source,
        handler: Handler,
        remember: Remember,
        synced: Callable[[], None] = lambda: None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.mirror = Mirror(handler, remember)
        self.synced = synced
        self.version = ""
        """The last resourceVersion seen; "" until the first listing completes."""
        self._token: str | None = None
        self._listing = False
        self._listed = 0
        self._stop = threading.Event()
        self._active = threading.Event()
        self._active.set()
        self._sleep = sleep or self._stop.wait
        self._thread: threading.Thread | None = None

    # -- one step at a time (the thread's loop, and the tests) -----------------------------
    def step(self) -> None:
        """List one page (a listing is due: at the start, or after 410 Gone), or follow
        the watch until the server ends it. Raises what the API raised."""
        if not self.version or self._listing:
            self._list_page()
            return
        try:
            for kind, obj in self.source.watch(self.version):
                if self._stop.is_set() or not self._active.is_set():
                    return
                if kind == "BOOKMARK":
                    self.version = version_of(obj) or self.version
                    continue
                self.mirror.event(kind, obj)
                self.version = version_of(obj) or self.version
        except Gone:
            log.info("%s: the watch's resourceVersion is gone: listing again", self.name)
            self.relist()

    def relist(self) -> None:
        """Start a new listing at the next step."""
        self._listing, self._token = True, None

    def _list_page(self) -> None:
        with bulk_load():
            self._list_one_page()

    def _list_one_page(self) -> None:
        first = self._token is None
        try:
            page = self.source.page(self._token)
        except Gone:  # the `continue` token expired: from the first page again
            self._listing, self._token = True, None
            return
        if first:
            self.mirror.begin()
            self._listing, self._listed = True, 0
        self.mirror.listed(page.items)
        self._token, self._listed = page.token, self._listed + len(page.items)
        if page.token is None:
            self.mirror.end()
            self.version, self._listing = page.version, False
            log.info("%s: %d listed", self.name, self._listed)
            self.synced()

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()

    def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if not self._active.is_set():
                self._active.wait(1.0)
                continue
            try:
                self.step()
                failures = 0
            except Exception as error:  # API errors, cut streams: after a backoff, again
                if self._stop.is_set() or not self._active.is_set():
                    continue  # its watch was shut down on purpose
                delay = ERROR_BACKOFFS[min(failures, len(ERROR_BACKOFFS) - 1)]
                failures += 1
                first = str(error).splitlines()[0] if str(error) else error.__class__.__name__
                log.warning("%s: %s; again in %.1f s", self.name, first[:300], delay)
                self._sleep(delay)

    def pause(self) -> None:
        """Stop reading (another replica acts); `resume` lists everything again."""
        self._active.clear()
        self.source.close()

    def resume(self) -> None:
        self.relist()
        self._active.set()

    def stop(self) -> None:
        self._stop.set()
        self._active.set()
        self.source.close()
