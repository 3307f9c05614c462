"""Liveness and readiness endpoints (`/healthz`, `/readyz`) and the metrics endpoint.

kopf's own liveness endpoint serves a single path on a listener of its own, so it cannot
share one port with `/readyz`; the two paths are served here, and readiness is kopf's
`ready_flag` (raised once kopf has started and begins watching).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, start_http_server


class EndpointError(RuntimeError):
    """An endpoint cannot listen where it was told to; the message is one line naming it."""


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def serve_health(address: str, port: int, ready: Callable[[], bool]) -> web.AppRunner:
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
    try:
        await web.TCPSite(runner, address, port).start()
    except OSError as error:
        await runner.cleanup()
        raise EndpointError(
            f"--health-address/--health-port: cannot listen on {_where(address, port)}"
            f" ({error.strerror or error})"
        ) from None
    return runner


def serve_metrics(address: str, port: int, registry: CollectorRegistry) -> Callable[[], None]:
    """Serve Prometheus metrics on `address:port` (`/metrics`) from a background thread;
    returns a function that stops serving."""
    try:
        server, thread = start_http_server(port, addr=address, registry=registry)
    except OSError as error:
        raise EndpointError(
            f"--metrics-address/--metrics-port: cannot listen on {_where(address, port)}"
            f" ({error.strerror or error})"
        ) from None

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
