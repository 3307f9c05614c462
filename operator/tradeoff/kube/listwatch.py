"""The informers' reads of the API: listings a page at a time and watches, through the
client's pooled connections (`transport`), each answer decoded once with orjson.

A listing's next page is asked for as soon as a page's `continue` token is known, on a
thread of its own, so the server makes it while the informer hands out the page before
(a restart's listing of 10,000 Trials waited for each of its 20 pages in turn). The
operator's first listings can begin before the informers do (`head_start`, while the
operator imports and starts kopf): their pages are then read ahead, up to `LIST_AHEAD`
pages waiting, and handed out when the informer asks for them. Pages are read ahead as
the server wrote them and decoded when handed out: a thread decoding them took the
interpreter's lock from the imports, which waited for it at each file they read.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import orjson
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from tradeoff.api.study import GROUP, VERSION
from tradeoff.api.trial import STUDY_LABEL
from tradeoff.kube.informer import Gone, Obj, Page
from tradeoff.kube.settings import Settings
from tradeoff.kube.transport import REQUEST_TIMEOUT

LIST_PAGE = 500
"""Objects a page of a listing holds (the whole list at once held 75 MiB at 10,000)."""
LIST_AHEAD = 40
"""Pages a listing may hold read ahead, waiting (a page of 500 Trials: 0.7 MB of JSON)."""
WATCH_SECONDS = 300
"""How long the server keeps a watch open before it ends it (the informer opens another)."""
WATCH_READ_TIMEOUT = WATCH_SECONDS + 30.0
"""Seconds a watch may stay silent before it counts as cut (bookmarks come every minute)."""


class KubeSource:
    """A resource's listing and watch: `lister` is a generated client's list call
    (namespaced or cluster-wide, its arguments bound but the paging and watch ones)."""

    def __init__(
        self, lister: Callable[..., Any], first_fields: str | None = None, **selectors: str
    ) -> None:
        self._list = lister
        self._selectors = selectors
        self._first_fields = first_fields
        """A field selector for the first listing only (`pod_source`); later listings
        and every watch read all the objects the label selector selects."""
        self._response: Any = None
        self._guard = threading.Lock()
        self._ahead: dict[str | None, Future[bytes]] = {}
        """Pages read ahead by their `continue` token (None: the first), not yet asked for."""
        self._ahead_guard = threading.Lock()
        self._listing = 0
        """Counts the listings begun: what was read ahead for an earlier one is dropped."""

    def head_start(self) -> None:
        """Begin the first listing now, before an informer asks for it: its pages are
        read one after the other on threads of their own, at most `LIST_AHEAD` waiting."""
        with self._ahead_guard:
            if not self._ahead:
                self._ahead[None] = self._read_ahead(None, self._first_fields, self._listing)

    def page(self, token: str | None) -> Page:
        with self._ahead_guard:
            ahead = self._ahead.pop(token, None)
            if ahead is None and token is None:  # a listing from the start: drop the old
                self._listing += 1
                self._ahead.clear()
            listing = self._listing
        try:
            # read ahead while the page before was handled, or now
            data = ahead.result() if ahead is not None else self._fetch(token, self._first_fields)
        except ApiException as error:
            if error.status == 410:
                raise Gone(str(error)) from error
            raise
        listed = orjson.loads(data)
        meta = listed.get("metadata") or {}
        following = meta.get("continue")
        if following:
            with self._ahead_guard:
                if following not in self._ahead and listing == self._listing:
                    self._ahead[following] = self._read_ahead(
                        following, self._first_fields, listing
                    )
        else:
            self._first_fields = None
        return Page(listed.get("items") or [], str(meta.get("resourceVersion") or ""), following)

    def _fetch(self, token: str | None, fields: str | None) -> bytes:
        """A page of the listing as the server wrote it; raises ApiException."""
        response = self._list(
            **self._selectors,
            **({"field_selector": fields} if fields else {}),
            limit=LIST_PAGE,
            _continue=token,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        try:
            data: bytes = response.data
        finally:
            response.release_conn()
        return data

    def _read_ahead(self, token: str | None, fields: str | None, listing: int) -> Future[bytes]:
        """`_fetch` on a thread of its own, then the page after it too while fewer than
        `LIST_AHEAD` pages wait; a page never asked for after all (the informer paused or
        listed again) is dropped when the listing starts again."""
        future: Future[bytes] = Future()

        def read() -> None:
            try:
                data = self._fetch(token, fields)
                following = continue_token(data)
            except BaseException as error:  # handed to `page`, which raises it
                future.set_exception(error)
                return
            with self._ahead_guard:
                waiting = sum(1 for f in self._ahead.values() if f.done())
                if (
                    following
                    and listing == self._listing
                    and following not in self._ahead
                    and waiting < LIST_AHEAD
                ):
                    self._ahead[following] = self._read_ahead(following, fields, listing)
            future.set_result(data)

        threading.Thread(target=read, name="listing-ahead", daemon=True).start()
        return future

    def watch(self, version: str) -> Iterator[tuple[str, Obj]]:
        try:
            response = self._list(
                **self._selectors,
                watch=True,
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_SECONDS,
                _preload_content=False,
                _request_timeout=(REQUEST_TIMEOUT, WATCH_READ_TIMEOUT),
            )
        except ApiException as error:
            if error.status == 410:
                raise Gone(str(error)) from error
            raise
        with self._guard:
            self._response = response
        try:
            for line in iter_resp_lines(response):
                if not line:
                    continue
                event = orjson.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        raise Gone(str(obj.get("message") or "410 Gone"))
                    raise ApiException(status=code, reason=str(obj.get("message") or kind))
                yield str(kind), obj
        finally:
            with self._guard:
                self._response = None
            response.release_conn()

    def close(self) -> None:
        """End the watch under way at once: its socket is shut down (closing the answer
        would wait for the reading thread's next line)."""
        with self._guard:
            response = self._response
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def trial_source(kube: Any, namespace: str | None) -> KubeSource:
    """Every Trial of `namespace` (None: of all namespaces)."""
    if namespace is None:
        return KubeSource(
            lambda **kw: kube.custom.list_cluster_custom_object(GROUP, VERSION, "trials", **kw)
        )
    return KubeSource(
        lambda **kw: kube.custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "trials", **kw
        )
    )


RUNNING = "status.phase!=Succeeded,status.phase!=Failed"


def pod_source(
    kube: Any, namespace: str | None, label_selector: str, ended_too: bool = False
) -> KubeSource:
    """The pods of `namespace` (None: of all) that `label_selector` selects.

    Unless `ended_too` (the ended pods' clean-up needs them), the first listing skips the
    pods that ended: nothing waits on them at a start (a driver that does reads its pod
    from the API until the watch reports it), and at 10,000 finished trials they are
    10,000 objects to decode. Later listings (after 410 Gone) read them all, so a pod
    that ended while the watch was down is reported ended, not deleted.
    """
    first = None if ended_too else RUNNING
    if namespace is None:
        return KubeSource(
            kube.core.list_pod_for_all_namespaces, first, label_selector=label_selector
        )
    return KubeSource(
        lambda **kw: kube.core.list_namespaced_pod(namespace, **kw),
        first,
        label_selector=label_selector,
    )


def continue_token(data: bytes) -> str | None:
    """The `continue` token of a listing's page as the server wrote it, read from the
    list's own metadata without decoding its items: the metadata comes before them (as
    the emulator in the tests writes it) or after them (as the API server does: Go writes
    a map's keys in order). If neither part parses alone the whole page is decoded."""
    meta: Any = None
    items = data.find(b'"items":')
    with contextlib.suppress(orjson.JSONDecodeError):
        if items >= 0 and b'"metadata":' in data[:items]:  # the keys before the items
            meta = orjson.loads(data[:items] + b'"items":[]}').get("metadata")
        else:  # the last key, after the items: its value is all up to the closing brace
            at, end = data.rfind(b'"metadata":'), data.rfind(b"}")
            if 0 <= items < at < end:
                meta = orjson.loads(data[at + len(b'"metadata":') : end])
    if not isinstance(meta, dict):
        meta = orjson.loads(data).get("metadata")
    token = (meta or {}).get("continue")
    return token if isinstance(token, str) and token else None


Sources = dict[tuple[str, str | None], KubeSource]
"""The informers' sources by what they list ("trials", "pods") and namespace (None: all)."""


def scopes_of(settings: Settings) -> list[str | None]:
    """The namespaces the informers list and watch, one each (None: all namespaces)."""
    return [None] if settings.all_namespaces else [*settings.namespaces]


def head_start(kube: Any, settings: Settings) -> Sources:
    """The Trials' and pods' sources of the operator's namespaces, their first listings
    begun now (`KubeSource.head_start`), for the informers to take (`feeds.Feeds`)."""
    sources: Sources = {}
    for scope in scopes_of(settings):
        sources["trials", scope] = trial_source(kube, scope)
        sources["pods", scope] = pod_source(kube, scope, STUDY_LABEL, settings.delete_ended_pods)
    for source in sources.values():
        source.head_start()
    return sources
