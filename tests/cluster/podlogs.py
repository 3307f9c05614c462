"""`GET pods/{name}/log`: plain or followed, with tailLines, sinceTime and limitBytes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web

from .errors import bad_request, not_found
from .logs import ContainerLog, LogRegistry
from .resources import ResourceType
from .store import Store

POLL_SECONDS = 0.05
READ_BYTES = 256 * 1024
"""Bytes a followed log sends at a time."""


def _since(query: Mapping[str, str]) -> str | None:
    """The earliest timestamp wanted, as a comparable RFC 3339 string."""
    if query.get("sinceTime"):
        return query["sinceTime"].replace("Z", "").ljust(19, "0")
    if query.get("sinceSeconds"):
        start = datetime.now(UTC) - timedelta(seconds=int(query["sinceSeconds"]))
        return start.strftime("%Y-%m-%dT%H:%M:%S")
    return None


def _render(log: ContainerLog, offset: int, data: bytes, timestamps: bool) -> bytes:
    """`data` (read at `offset`) as sent: with timestamps, each line that starts in it is
    prefixed with the time it was written, as `kubectl logs --timestamps` shows."""
    if not timestamps:
        return data
    out = bytearray()
    position = offset
    for piece in data.splitlines(keepends=True):
        if position == 0 or log.read(position - 1, 1)[0] == b"\n":
            out += log.stamp_at(position).encode() + b" "
        out += piece
        position += len(piece)
    return bytes(out)


async def serve_pod_log(
    request: web.Request,
    store: Store,
    logs: LogRegistry,
    rt: ResourceType,
    namespace: str,
    name: str,
) -> web.StreamResponse:
    pod = store.find(rt, namespace, name)
    if pod is None:
        raise not_found(rt.plural, rt.group, name)
    query = request.query
    containers = [c["name"] for c in pod.get("spec", {}).get("containers") or ()]
    container = query.get("container") or (containers[0] if containers else "")
    if container not in containers:
        raise bad_request(f"container {container} is not valid for pod {name}")
    if query.get("previous", "").lower() in ("true", "1"):
        raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    log = logs.get(namespace, name, container)
    if log is None:
        raise bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
        )
    since = _since(query)
    timestamps = query.get("timestamps", "").lower() in ("true", "1")
    limit = int(query["limitBytes"]) if query.get("limitBytes") else None
    tail = int(query["tailLines"]) if query.get("tailLines") else None
    position = log.start_of(since, max(tail, 0) if tail is not None else None)
    follow = query.get("follow", "").lower() in ("true", "1")
    if not follow:
        # limitBytes counts from the start of what would be sent, like the kubelet's.
        want = max(0, log.size - position) if limit is None else limit
        data, _ = log.read(position, want)
        rendered = _render(log, position, data, timestamps)
        return web.Response(
            body=rendered[:limit] if limit is not None else rendered, content_type="text/plain"
        )
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    try:
        while True:
            data, closed = log.read(position, READ_BYTES)
            rendered = _render(log, position, data, timestamps)
            position += len(data)
            if limit is not None:
                rendered = rendered[: max(0, limit - sent)]
            if rendered:
                await response.write(rendered)
                sent += len(rendered)
            if limit is not None and sent >= limit:
                break
            if len(data) == READ_BYTES:
                continue  # more is waiting: no pause
            if closed and position >= log.size:
                break
            if store.find(rt, namespace, name) is None and not data:
                break
            await asyncio.sleep(POLL_SECONDS)
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response
