"""`GET pods/{name}/log`: plain or followed, with tailLines, sinceTime and limitBytes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web

from .errors import bad_request, not_found
from .logs import LogRegistry
from .resources import ResourceType
from .store import Store

POLL_SECONDS = 0.05


def _since(query: Mapping[str, str]) -> str | None:
    """The earliest timestamp wanted, as a comparable RFC 3339 string."""
    if query.get("sinceTime"):
        return query["sinceTime"].replace("Z", "").ljust(19, "0")
    if query.get("sinceSeconds"):
        start = datetime.now(UTC) - timedelta(seconds=int(query["sinceSeconds"]))
        return start.strftime("%Y-%m-%dT%H:%M:%S")
    return None


def _render(lines: list[tuple[str, bytes]], timestamps: bool) -> bytes:
    if timestamps:
        return b"".join(stamp.encode() + b" " + line for stamp, line in lines)
    return b"".join(line for _, line in lines)


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
    lines, closed = log.read(0)
    position = len(lines)
    if since is not None:
        lines = [entry for entry in lines if entry[0][:19] >= since[:19]]
    if query.get("tailLines"):
        tail = int(query["tailLines"])
        lines = lines[-tail:] if tail > 0 else []
    follow = query.get("follow", "").lower() in ("true", "1")
    if not follow:
        data = _render(lines, timestamps)
        return web.Response(
            body=data[:limit] if limit is not None else data, content_type="text/plain"
        )
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    sent = 0
    try:
        while True:
            data = _render(lines, timestamps)
            if limit is not None:
                data = data[: max(0, limit - sent)]
            if data:
                await response.write(data)
                sent += len(data)
            if closed or (limit is not None and sent >= limit):
                break
            await asyncio.sleep(POLL_SECONDS)
            lines, closed = log.read(position)
            position += len(lines)
            if store.find(rt, namespace, name) is None and not lines:
                break
        await response.write_eof()
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response
