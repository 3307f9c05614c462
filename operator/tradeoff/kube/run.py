"""Starting the operator: logging, peering, endpoints, then kopf (credentials: `credentials`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import kopf
from aiohttp import web
from kubernetes.client.exceptions import ApiException
from prometheus_client import CollectorRegistry

from tradeoff.kube.client import Kube
from tradeoff.kube.collector import settle_collector
from tradeoff.kube.context import Context
from tradeoff.kube.engines import Engines, load_or_create_key
from tradeoff.kube.handlers import operator_settings, register
from tradeoff.kube.health import EndpointError, serve_health, serve_metrics
from tradeoff.kube.listwatch import Sources
from tradeoff.kube.settings import Settings
from tradeoff.observe import NullObserver, StudyObserver

log = logging.getLogger("tradeoff.operator")
PEERING_GROUP, PEERING_VERSION = "kopf.dev", "v1"


def ensure_peering(kube: Kube, settings: Settings) -> bool:
    """Create the peering object(s) if missing; False if the peering CRDs are not installed."""
    name = settings.peering
    if name is None:
        return True
    targets: list[str | None] = [None] if settings.all_namespaces else [*settings.namespaces]
    for namespace in targets:
        try:
            if not _peering_exists(kube, name, namespace):
                _create_peering(kube, name, namespace)
        except ApiException as error:
            if error.status == 404:  # creating it failed too: the CRD is not there
                return False
            if error.status == 403:
                log.warning("may not read or create the peering object %r: it must exist", name)
            elif error.status != 409:
                raise
    return True


def _peering_exists(kube: Kube, name: str, namespace: str | None) -> bool:
    try:
        if namespace is None:
            kube.custom.get_cluster_custom_object(
                PEERING_GROUP, PEERING_VERSION, "clusterkopfpeerings", name
            )
        else:
            kube.custom.get_namespaced_custom_object(
                PEERING_GROUP, PEERING_VERSION, namespace, "kopfpeerings", name
            )
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def _create_peering(kube: Kube, name: str, namespace: str | None) -> None:
    body: dict[str, Any] = {
        "apiVersion": f"{PEERING_GROUP}/{PEERING_VERSION}",
        "metadata": {"name": name},
    }
    if namespace is None:
        body["kind"] = "ClusterKopfPeering"
        kube.custom.create_cluster_custom_object(
            PEERING_GROUP, PEERING_VERSION, "clusterkopfpeerings", body
        )
    else:
        body["kind"] = "KopfPeering"
        kube.custom.create_namespaced_custom_object(
            PEERING_GROUP, PEERING_VERSION, namespace, "kopfpeerings", body
        )


def _quiet_routine(record: logging.LogRecord) -> bool:
    """Drop kopf's per-run success lines of timers and handlers (one per second per study)."""
    message = str(record.msg)
    return not (record.levelno <= logging.INFO and message.endswith(" succeeded."))


def _observer(settings: Settings) -> tuple[StudyObserver, CollectorRegistry | None]:
    if settings.metrics_port is None:
        return NullObserver(), None
    from tradeoff.metrics import PrometheusObserver

    registry = CollectorRegistry()
    return PrometheusObserver(registry), registry


async def _serve_endpoints(
    settings: Settings, metrics_registry: CollectorRegistry | None, ready: asyncio.Event
) -> Callable[[], Awaitable[None]]:
    """Start the health and metrics endpoints that are asked for; returns their stopper."""
    runner: web.AppRunner | None = None
    stop_metrics: Callable[[], None] | None = None

    async def stop() -> None:
        if stop_metrics is not None:
            await asyncio.to_thread(stop_metrics)
        if runner is not None:
            await runner.cleanup()

    try:
        if settings.health_port is not None:
            address, port = settings.health_address, settings.health_port
            runner = await serve_health(address, port, ready.is_set)
            log.info("health: /healthz and /readyz on %s port %d", address, port)
        if metrics_registry is not None and settings.metrics_port is not None:
            address, port = settings.metrics_address, settings.metrics_port
            stop_metrics = serve_metrics(address, port, metrics_registry)
            log.info("metrics: /metrics on %s port %d", address, port)
    except EndpointError:
        await stop()
        raise
    return stop


async def run_operator(settings: Settings, api_client: Any, begun: Sources | None = None) -> None:
    """Run until SIGTERM/SIGINT. `begun`: the informers' sources whose first listings
    began already (`listwatch.head_start`), taken only if the operator runs standalone."""
    kopf.configure(
        verbose=settings.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
    )
    if not settings.verbose:
        logging.getLogger("kopf.objects").addFilter(_quiet_routine)
    kube = Kube(api_client)
    observer, metrics_registry = _observer(settings)
    key = await asyncio.to_thread(
        load_or_create_key, kube, settings.key_namespace, settings.signing_key_secret
    )
    ctx = Context(kube=kube, settings=settings, observer=observer, engines=Engines(key))
    standalone = settings.standalone
    if not standalone and not await asyncio.to_thread(ensure_peering, kube, settings):
        log.warning("the kopf peering CRDs are not installed: running standalone")
        standalone = True
    registry = kopf.OperatorRegistry()
    register(registry, ctx, peering=not standalone, begun=begun if standalone else None)
    ready = asyncio.Event()
    stop_endpoints = await _serve_endpoints(settings, metrics_registry, ready)
    where = "all namespaces" if settings.all_namespaces else ", ".join(settings.namespaces)
    peering = (
        "standalone" if standalone else f"peering {settings.peering} priority {settings.priority}"
    )
    settle_collector()
    log.info("Tradeoff operator watching %s (%s)", where, peering)
    log.info("Trial policy: %s", settings.trial_policy)
    if settings.prometheus_url:
        log.info("Energy and prices measured: Kepler and OpenCost at %s", settings.prometheus_url)
    try:
        await kopf.operator(
            registry=registry,
            settings=operator_settings(ctx),
            standalone=standalone,
            peering_name=None if standalone else settings.peering,
            priority=settings.priority,
            clusterwide=settings.all_namespaces,
            namespaces=list(settings.namespaces),
            ready_flag=ready,
        )
    finally:
        await stop_endpoints()
