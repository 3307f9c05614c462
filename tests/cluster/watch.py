"""Watch streams: chunked JSON lines of ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import table
from .errors import ApiError
from .jsondata import encode
from .resources import ResourceType

if TYPE_CHECKING:
    from .server import ApiServer

Obj = dict[str, Any]
DEFAULT_TIMEOUT = 1800.0


def _line(event: str, obj: Obj) -> bytes:
    return encode({"type": event, "object": obj}) + b"\n"


def effective(
    event: str, obj: Obj, previous: Obj | None, matcher: Callable[[Obj], bool]
) -> str | None:
    """The event a selector-filtered watch sees: objects entering the selection are ADDED,
    objects leaving it are DELETED (as the API server's watch cache reports them)."""
    matches = matcher(obj)
    if event != "MODIFIED" or previous is None:
        return event if matches else None
    matched = matcher(previous)
    if matches:
        return "MODIFIED" if matched else "ADDED"
    return "DELETED" if matched else None


async def stream_watch(
    server: ApiServer,
    request: web.Request,
    rt: ResourceType,
    namespace: str | None,
    matcher: Callable[[Obj], bool],
) -> web.StreamResponse:
    """Replay from `resourceVersion` (410 Gone as an ERROR event when too old), then stream."""
    query = request.query
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Obj, Obj | None]] = asyncio.Queue()
    as_table = "as=Table" in request.headers.get("Accept", "")
    bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)

    def deliver(event: str, obj: Obj, previous: Obj | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
            loop.call_soon_threadsafe(queue.put_nowait, (event, obj, previous))

    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    try:
        replay, unsubscribe = server.store.watch(
            rt, namespace, query.get("resourceVersion"), deliver
        )
    except ApiError as error:
        if error.code != 410:
            raise
        await response.prepare(request)
        await response.write(_line("ERROR", error.status()))
        await response.write_eof()
        return response

    def encode(event: str, obj: Obj) -> bytes:
        if as_table:
            return _line(event, table.render(rt, [obj], obj["metadata"]["resourceVersion"]))
        return _line(event, obj)

    try:
        await response.prepare(request)
        for event, obj, previous in replay:
            seen = effective(event, obj, previous, matcher)
            if seen:
                await response.write(encode(seen, obj))
        deadline = loop.time() + timeout
        while not server.stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                event, obj, previous = await asyncio.wait_for(
                    queue.get(), timeout=min(remaining, server.bookmark_interval)
                )
            except TimeoutError:
                if bookmarks:
                    mark = {
                        "kind": rt.kind,
                        "apiVersion": rt.api_version,
                        "metadata": {"resourceVersion": server.store.resource_version},
                    }
                    await response.write(_line("BOOKMARK", mark))
                continue
            seen = effective(event, obj, previous, matcher)
            if seen:
                await response.write(encode(seen, obj))
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        unsubscribe()
    return response
