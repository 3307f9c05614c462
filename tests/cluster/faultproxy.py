"""`FaultInjectingProxy`: a test double between a client and the API emulator that fails.

It forwards every request to the emulator, but answers a seeded share of them with the
errors a real API server gives under load or in a failover, and cuts watch and log streams
now and then::

    with Cluster() as cluster, FaultInjectingProxy(cluster.url, rate=0.05, seed=7) as proxy:
        proxy.write_kubeconfig(path, cluster.namespace)  # the operator talks to the proxy
        ...
        proxy.injected  # Counter{("500", "GET"): 3, ("cut", "watch"): 2, ...}

Faults are the ones a client must survive without losing or doubling work:

- 500 before the request reaches the server (nothing happened) or after it (it happened,
  the answer was lost), for every verb;
- 429 Too Many Requests with `Retry-After: 1`, before the request reaches the server;
- 409 on a create, after it reached the server: the object exists (as when a retried
  create finds what the lost first one made); on PUT, 409 Conflict before it reaches it.
  Never on GET, DELETE or PATCH, where a real server does not answer 409 without a
  precondition;
- watches cut after a random 0.5-3 s, half of them cleanly (the server ends the
  response) and half mid-stream (the connection drops); followed logs cut the same way,
  but only mid-stream: a log stream that ends cleanly is how the kubelet says the
  container ended, and the operator takes it so.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from .errors import ApiError

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
    "upgrade",
}


def _is_stream(request: web.Request) -> bool:
    query = request.rel_url.query
    return any(query.get(key, "").lower() in ("true", "1") for key in ("watch", "follow"))


def _error(code: int, message: str, reason: str, details: dict[str, Any] | None = None) -> Any:
    return ApiError(code, message, reason=reason, details=details).status()


class FaultInjectingProxy:
    """Forwards to `upstream`, failing a seeded `rate` of the requests (see the module)."""

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.05,
        seed: int = 0,
        cut_after: tuple[float, float] = (0.5, 3.0),
        host: str = "127.0.0.1",
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.cut_after = cut_after
        self.host, self.port = host, 0
        self.injected: Counter[tuple[str, str]] = Counter()
        self.forwarded = 0
        self._random = random.Random(seed)
        self._cuts = random.Random(seed + 1)  # apart, so stream timing moves no request fault
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._streams: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- decisions (seeded: one draw sequence for requests, one for stream cuts) -----
    def _fault(self, method: str, stream: bool) -> str | None:
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            if stream:
                kinds = ["500-before", "429"]
            elif method == "POST":
                kinds = ["500-before", "500-after", "429", "409-after"]
            elif method == "PUT":
                kinds = ["500-before", "500-after", "429", "409-before"]
            elif method in ("PATCH", "DELETE"):
                kinds = ["500-before", "500-after", "429"]
            else:
                kinds = ["500-before", "429"]
            return self._random.choice(kinds)

    def _cut(self, watch: bool) -> tuple[float, bool]:
        """When to cut a stream, and whether abruptly (the connection drops)."""
        with self._lock:
            after = self._cuts.uniform(*self.cut_after)
            return after, self._cuts.random() < 0.5 or not watch

    def _count(self, kind: str, what: str) -> None:
        with self._lock:
            self.injected[(kind, what)] += 1

    # -- serving -------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        stream = _is_stream(request)
        fault = self._fault(request.method, stream)
        if fault == "429":
            self._count("429", request.method)
            body = _error(
                429, "the server is handling too many requests", "TooManyRequests",
                {"retryAfterSeconds": 1},
            )  # fmt: skip
            return web.json_response(body, status=429, headers={"Retry-After": "1"})
        if fault == "500-before":
            self._count("500", request.method)
            return web.json_response(
                _error(500, "etcdserver: leader changed", "InternalError"), status=500
            )
        if fault == "409-before":
            self._count("409", request.method)
            body = _error(
                409, "the object has been modified; please apply your changes", "Conflict"
            )
            return web.json_response(body, status=409)
        if stream:
            return await self._stream(request)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method, self.upstream + str(request.rel_url), headers=headers,
            data=await request.read(),
        ) as upstream:  # fmt: skip
            body = await upstream.read()
            status = upstream.status
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        with self._lock:
            self.forwarded += 1
        if fault == "500-after":
            self._count("500-after", request.method)
            return web.json_response(
                _error(500, "etcdserver: request timed out", "InternalError"), status=500
            )
        if fault == "409-after" and status in (200, 201):
            self._count("409-after", request.method)
            name = str((json.loads(body).get("metadata") or {}).get("name", ""))
            message = f'object "{name}" already exists'
            return web.json_response(
                _error(409, message, "AlreadyExists", {"name": name}), status=409
            )
        return web.Response(body=body, status=status, headers=kept)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """Forward a watch or a followed log, and cut it after a while."""
        assert self._session is not None
        kind = "watch" if "watch" in request.rel_url.query else "log"
        after, abrupt = self._cut(kind == "watch")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = await self._session.get(self.upstream + str(request.rel_url), headers=headers)
        try:
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            response = web.StreamResponse(status=upstream.status, headers=kept)
            await response.prepare(request)
            with self._lock:
                self.forwarded += 1
            loop = asyncio.get_running_loop()
            deadline = loop.time() + after
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    chunk = await asyncio.wait_for(upstream.content.readany(), left)
                except TimeoutError:
                    break
                if not chunk:
                    return response  # the server ended it
                try:
                    await response.write(chunk)
                except ConnectionError:  # the client went away
                    return response
            self._count("cut-abrupt" if abrupt else "cut", kind)
            if abrupt and request.transport is not None:
                request.transport.abort()  # no final chunk: the client sees a broken stream
            return response
        finally:
            upstream.close()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FaultInjectingProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="fault-injecting-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _serve(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
        self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = int(server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> FaultInjectingProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path | str, namespace: str = "default") -> Path:
        """A kubeconfig whose server is this proxy."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "faulty", "cluster": {"server": self.url}}],
            "users": [{"name": "faulty", "user": {}}],
            "contexts": [
                {
                    "name": "faulty",
                    "context": {"cluster": "faulty", "user": "faulty", "namespace": namespace},
                }
            ],
            "current-context": "faulty",
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config))
        return target
