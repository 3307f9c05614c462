"""The operator's health and metrics endpoints listen only where they are told to."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Gauge

from tradeoff.kube.health import EndpointError, serve_health, serve_metrics
from tradeoff.kube.settings import LOCAL_ADDRESS, SettingsError, settings_from

OTHER = "127.0.0.2"
"""A loopback address other than 127.0.0.1: Linux routes all of 127.0.0.0/8 to lo."""


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def refused(address: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((address, port)) != 0


def test_health_listens_on_the_given_address_and_readyz_follows_the_flag() -> None:
    async def scenario() -> None:
        ready = asyncio.Event()
        port = free_port(OTHER)
        runner = await serve_health(OTHER, port, ready.is_set)
        try:
            assert await asyncio.to_thread(get, f"http://{OTHER}:{port}/healthz") == (200, "ok\n")
            before = await asyncio.to_thread(get, f"http://{OTHER}:{port}/readyz")
            assert before == (503, "starting\n")
            ready.set()
            after = await asyncio.to_thread(get, f"http://{OTHER}:{port}/readyz")
            assert after == (200, "ready\n")
            assert refused("127.0.0.1", port)  # not on every address
        finally:
            await runner.cleanup()
        assert refused(OTHER, port)

    asyncio.run(scenario())


def test_metrics_listen_on_the_given_address_and_stop() -> None:
    registry = CollectorRegistry()
    Gauge("tradeoff_probe", "A probe.", registry=registry).set(3)
    port = free_port(OTHER)
    stop = serve_metrics(OTHER, port, registry)
    try:
        code, text = get(f"http://{OTHER}:{port}/metrics")
        assert code == 200 and "tradeoff_probe 3.0" in text
        assert refused("127.0.0.1", port)
    finally:
        stop()
    assert refused(OTHER, port)


def test_an_address_in_use_is_one_line_naming_the_flags() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EndpointError) as caught:
            serve_metrics("127.0.0.1", port, CollectorRegistry())
        message = str(caught.value)
        expected = f"--metrics-address/--metrics-port: cannot listen on 127.0.0.1:{port} ("
        assert message.startswith(expected)
        assert "\n" not in message

        async def health() -> None:
            await serve_health("127.0.0.1", port, lambda: True)

        with pytest.raises(EndpointError, match=r"^--health-address/--health-port: cannot listen"):
            asyncio.run(health())


def test_addresses_default_to_this_machine_and_come_from_flags_or_the_environment() -> None:
    default = settings_from(namespaces=["a"], env={})
    assert default.health_address == default.metrics_address == LOCAL_ADDRESS == "127.0.0.1"
    env = {"TRADEOFF_HEALTH_ADDRESS": "0.0.0.0", "TRADEOFF_METRICS_ADDRESS": "::"}
    from_env = settings_from(namespaces=["a"], env=env)
    assert (from_env.health_address, from_env.metrics_address) == ("0.0.0.0", "::")
    flags = settings_from(namespaces=["a"], health_address="10.1.2.3", env=env)
    assert (flags.health_address, flags.metrics_address) == ("10.1.2.3", "::")
    with pytest.raises(SettingsError, match=r"^--metrics-address: expected an IP address"):
        settings_from(namespaces=["a"], metrics_address="example.com", env={})
    with pytest.raises(SettingsError, match=r"^TRADEOFF_HEALTH_ADDRESS: expected an IP address"):
        settings_from(namespaces=["a"], env={"TRADEOFF_HEALTH_ADDRESS": "0.0.0.0:80"})
