"""The Prometheus carbon-intensity source against a real Prometheus server.

An exporter on loopback serves the chart's default gauge (`grid_intensity_grams_per_kwh`)
for two zones; Debian's `prometheus` scrapes it every second; `PrometheusIntensity` reads
it with the instant and range queries the operator makes. What only a real server shows:
the reply shapes, the zone mapping, and that a zone crafted to escape its string literal
stays a string to PromQL's own parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from tests.e2e.prometheus_server import (
    free_port,
    http_ok,
    query,
    require_prometheus,
    start_prometheus,
    stop_prometheus,
    wait_for,
)
from tradeoff.economics import IntensityError, IntensitySettings, build_source, read_intensity

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.xdist_group("prometheus"),
]

GRAMS = {"SE": 42.0, "DE": 380.0}
CONFIGURED = 475.0


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus that has scraped the gauge of both zones five times."""
    require_prometheus()
    registry = CollectorRegistry()
    gauge = Gauge(
        "grid_intensity_grams_per_kwh", "Grid carbon intensity", ["zone"], registry=registry
    )
    for zone, grams in GRAMS.items():
        gauge.labels(zone=zone).set(grams)
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    process, url = start_prometheus(Path(tmp_path_factory.mktemp("intensity")), {"grid": port})
    try:
        wait_for(lambda: http_ok(f"{url}/-/ready"), 30, "prometheus to be ready")
        wait_for(
            lambda: query(url, 'count_over_time(grid_intensity_grams_per_kwh{zone="DE"}[1m]) >= 5'),
            30,
            "five scrapes of the gauge",
        )
        yield url
    finally:
        stop_prometheus(process)
        server.shutdown()


def settings(url: str) -> IntensitySettings:
    return IntensitySettings(provider="prometheus", url=url, zones={"eu-north-1": "SE"})


def test_latest_reads_each_zone_through_the_mapping(prometheus: str) -> None:
    source = build_source(settings(prometheus))
    assert source.latest("SE").grams_per_kwh == GRAMS["SE"]
    assert source.latest("DE").grams_per_kwh == GRAMS["DE"]
    now = datetime.now(UTC)
    assert abs(source.latest("SE").start - now) < timedelta(seconds=30)


def test_a_run_is_priced_with_its_regions_intensity(prometheus: str) -> None:
    config = settings(prometheus)
    end = datetime.now(UTC)
    start = end - timedelta(seconds=2)  # a short run: the series is only seconds old
    reading = read_intensity(build_source(config), config, "eu-north-1", start, end, CONFIGURED)
    assert reading.source.source == "measured", reading.source.detail
    assert reading.grams_per_kwh == pytest.approx(GRAMS["SE"])
    assert "zone SE" in (reading.source.detail or "")
    assert reading.points and {p.grams_per_kwh for p in reading.points} == {GRAMS["SE"]}


def test_a_zone_without_a_series_falls_back_with_the_reason(prometheus: str) -> None:
    config = settings(prometheus)
    end = datetime.now(UTC)
    reading = read_intensity(
        build_source(config), config, "FR", end - timedelta(seconds=2), end, CONFIGURED
    )
    assert reading.grams_per_kwh == CONFIGURED
    assert reading.source.source == "configured"
    assert "no series for zone FR" in (reading.source.detail or "")


def test_a_crafted_zone_stays_inside_its_string_literal(prometheus: str) -> None:
    """Unescaped, this zone would make the query `...{zone="SE"} or vector(1) #"}`: an
    answer of 1 g/kWh for any zone. Prometheus's parser sees one odd zone name instead."""
    source = build_source(settings(prometheus))
    crafted = 'SE"} or vector(1) #'
    with pytest.raises(IntensityError, match="no series for zone"):
        source.latest(crafted)
    raw = f'grid_intensity_grams_per_kwh{{zone="{crafted}"}}'
    assert sorted(series["value"][1] for series in query(prometheus, raw)) == ["1", "42"]
