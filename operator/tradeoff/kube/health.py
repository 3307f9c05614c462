"""Liveness and readiness endpoints (`/healthz`, `/readyz`) and the metrics endpoint."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, start_http_server


async def serve_health(port: int, ready: Callable[[], bool]) -> web.AppRunner:
    """Serve `/healthz` (the event loop answers) and `/readyz` (the operator is watching)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="starting\n")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    return runner


def serve_metrics(port: int, registry: CollectorRegistry) -> None:
    """Serve Prometheus metrics on `port` (`/metrics`) from a background thread."""
    start_http_server(port, registry=registry)
