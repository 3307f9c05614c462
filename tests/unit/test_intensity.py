"""Time-varying grid intensity: weighting over a window, the services' shapes, fallbacks."""

from __future__ import annotations

import json
import math
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.carbon_api import CarbonApi
from tradeoff.economics import (
    EconomicsConfig,
    IntensitySample,
    IntensitySettings,
    IntensitySettingsError,
    Resources,
    build_source,
    intensity_from_json,
    price_trial,
    read_intensity,
)
from tradeoff.economics._intensity import summarise, timespan_seconds, weighted_mean

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def ramp(zone: str, moment: datetime) -> float:
    """A zone-dependent intensity that changes every hour."""
    base = 100.0 if zone == "SE" else 400.0
    return base + 10.0 * (moment.hour % 24)


def expected_mean(api: CarbonApi, zone: str, start: datetime, end: datetime) -> float:
    """The time-weighted mean of what the server said, computed independently here."""
    total = 0.0
    for moment in api.grid(start, end):
        left, right = max(moment, start), min(moment + timedelta(seconds=api.step), end)
        total += max(0.0, (right - left).total_seconds()) * round(ramp(zone, moment))
    return total / (end - start).total_seconds()


def test_weighted_mean_spreads_energy_evenly_over_the_window() -> None:
    samples = [IntensitySample(T0, 100.0), IntensitySample(T0 + HOUR, 300.0)]
    assert weighted_mean(samples, T0 + HOUR / 2, T0 + HOUR * 1.5) == pytest.approx(200.0)
    # a quarter of the window before the first sample takes the first value
    assert weighted_mean(samples, T0 - HOUR / 2, T0 + HOUR * 1.5) == pytest.approx(
        (0.5 * 100 + 1 * 100 + 0.5 * 300) / 2
    )
    # after the last sample its value holds; an instant takes the value then
    assert weighted_mean(samples, T0 + HOUR * 3, T0 + HOUR * 4) == 300.0
    assert weighted_mean(samples, T0 + HOUR / 2, T0 + HOUR / 2) == 100.0


def test_a_run_of_days_records_at_most_24_points() -> None:
    samples = [IntensitySample(T0 + HOUR * i, float(i)) for i in range(24 * 5)]
    points = summarise(samples, T0, T0 + HOUR * 24 * 5)
    assert len(points) == 24
    mean_of_points = sum(p.grams_per_kwh for p in points) / 24
    assert mean_of_points == pytest.approx(weighted_mean(samples, T0, T0 + HOUR * 24 * 5))
    short = summarise(samples, T0 + HOUR * 2.5, T0 + HOUR * 4)
    assert [(p.time, p.grams_per_kwh) for p in short] == [
        ("2026-06-01T14:30:00Z", 2.0),
        ("2026-06-01T15:00:00Z", 3.0),
    ]


def test_dotnet_timespans() -> None:
    assert timespan_seconds("01:00:00") == 3600
    assert timespan_seconds("00:05:30.5") == 330.5
    assert timespan_seconds("1.02:00:00") == 26 * 3600


@pytest.fixture
def api() -> Iterator[CarbonApi]:
    with CarbonApi(ramp) as server:
        yield server


def settings(api: CarbonApi, provider: str = "electricitymaps", **extra: Any) -> IntensitySettings:
    fields: dict[str, Any] = {"token": "t0ken", "zones": {"eu-north-1": "SE"}, **extra}
    return IntensitySettings(provider=provider, url=api.url, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", ["electricitymaps", "carbon-aware-sdk"])
@pytest.mark.parametrize("hours_ago", [3, 30])  # /history, then /past-range for old windows
def test_service_intensity_over_a_run(api: CarbonApi, provider: str, hours_ago: int) -> None:
    config = settings(api, provider)
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    end = start + timedelta(minutes=100)
    reading = read_intensity(build_source(config), config, "eu-north-1", start, end, 475.0)
    assert reading.source.source == "measured"
    assert "zone SE" in (reading.source.detail or "")
    assert reading.grams_per_kwh == pytest.approx(expected_mean(api, "SE", start, end), rel=1e-3)
    assert 2 <= len(reading.points) <= 3
    paths = [path for path, _ in api.requests]
    if provider == "electricitymaps":
        wanted = "/v3/carbon-intensity/history" if hours_ago < 23 else "past-range"
        assert wanted in paths[-1]
        assert api.requests[-1][1]["zone"] == "SE"
    else:
        assert paths[-1] == "/emissions/bylocation"
        assert api.requests[-1][1]["location"] == "SE"


def test_latest_reading(api: CarbonApi) -> None:
    now = datetime.now(UTC)
    for provider in ("electricitymaps", "carbon-aware-sdk"):
        sample = build_source(settings(api, provider)).latest("DE")
        assert sample.grams_per_kwh == pytest.approx(round(ramp("DE", sample.start)))
        assert now - sample.start < timedelta(hours=2)


def test_an_unmapped_region_is_asked_under_its_own_name(api: CarbonApi) -> None:
    config = settings(api)
    now = datetime.now(UTC)
    reading = read_intensity(build_source(config), config, "DE", now - HOUR, now, 475.0)
    assert reading.source.source == "measured"
    assert api.requests[-1][1]["zone"] == "DE"


def fallback(config: IntensitySettings, region: str | None = "eu-north-1") -> Any:
    now = datetime.now(UTC)
    return read_intensity(build_source(config), config, region, now - HOUR, now, 8.8)


def test_fallbacks_keep_the_configured_figure_and_say_why(api: CarbonApi) -> None:
    wrong_token = fallback(settings(api, token="nope"))
    assert (wrong_token.grams_per_kwh, wrong_token.source.source) == (8.8, "configured")
    assert "HTTP 401" in (wrong_token.source.detail or "")
    assert "used the configured 8.8 g/kWh" in (wrong_token.source.detail or "")

    no_region = fallback(settings(api), region=None)
    assert "no topology.kubernetes.io/region label" in (no_region.source.detail or "")

    api.fail_status = 503
    assert "HTTP 503" in (fallback(settings(api, "carbon-aware-sdk")).source.detail or "")

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gone = IntensitySettings(provider="electricitymaps", url=f"http://127.0.0.1:{port}")
    assert "unreachable" in (fallback(gone).source.detail or "")


def test_a_slow_service_times_out() -> None:
    with CarbonApi(ramp, delay=2.0) as slow:
        reading = fallback(settings(slow, timeout=0.3))
    assert reading.source.source == "configured"
    assert "no answer within 0.3s" in (reading.source.detail or "")


class _Prometheus(BaseHTTPRequestHandler):
    """The documented shape of Prometheus' /api/v1/query and /api/v1/query_range."""

    queries: list[str] = []

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).queries.append(query["query"])
        if url.path == "/api/v1/query":
            result = [{"metric": {"zone": "SE"}, "value": [T0.timestamp(), "42"]}]
            body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        else:
            start = float(query["start"])
            values = [[start + 60 * i, str(10 * i)] for i in range(6)]
            result = [{"metric": {"zone": "SE"}, "values": values}]
            body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def test_prometheus_metric_source() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = IntensitySettings(
            provider="prometheus",
            url=f"http://127.0.0.1:{server.server_address[1]}",
            query='grid_intensity{zone="$zone"}',
            zones={"eu-north-1": "SE"},
        )
        source = build_source(config)
        assert source.latest("SE").grams_per_kwh == 42.0
        start = T0
        end = T0 + timedelta(minutes=5, seconds=300)  # the server's samples start 5 min early
        reading = read_intensity(source, config, "eu-north-1", start, end, 475.0)
    finally:
        server.shutdown()
        server.server_close()
    assert _Prometheus.queries[-1] == 'grid_intensity{zone="SE"}'
    quoted = source.expression('SE"} or vector(1) #')  # type: ignore[attr-defined]
    assert quoted == 'grid_intensity{zone="SE\\"} or vector(1) #"}'
    assert reading.source.source == "measured"
    assert reading.grams_per_kwh == pytest.approx((5 * 60 * 50 + 5 * 60 * 50) / 600)


def test_carbon_is_energy_times_the_mean_over_the_run() -> None:
    samples = [IntensitySample(T0, 100.0), IntensitySample(T0 + HOUR, 500.0)]
    config = IntensitySettings(provider="electricitymaps", url="http://unused")

    class Fixed:
        label = "fixed"

        def samples(self, zone: str, start: datetime, end: datetime) -> list[IntensitySample]:
            return samples

        def latest(self, zone: str) -> IntensitySample:
            return samples[-1]

    reading = read_intensity(Fixed(), config, "x", T0, T0 + HOUR * 2, 475.0)
    economics = price_trial(
        Resources(vcpu=1, memory_gib=1), 7200, EconomicsConfig(), intensity=reading
    )
    assert economics.grams_per_kwh == 300.0
    assert economics.carbon_grams == pytest.approx(economics.energy_kwh * 300.0)
    assert economics.sources is not None and economics.sources.intensity.source == "measured"
    assert [p.grams_per_kwh for p in economics.intensity_samples or []] == [100.0, 500.0]
    assert not math.isnan(economics.carbon_grams)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"provider": "watttime", "url": "http://x"}, "intensity.provider: must be one of"),
        ({"provider": "prometheus", "url": "x"}, "intensity.url: expected the service's base URL"),
        ({"provider": "prometheus", "url": "http://x", "timeoutSeconds": 0}, "timeoutSeconds"),
        ({"provider": "prometheus", "url": "http://x", "query": "up"}, "containing $zone"),
        ({"provider": "prometheus", "url": "http://x", "zones": {"a": 1}}, "intensity.zones"),
        ({"providr": "prometheus"}, "unknown field providr"),
    ],
)
def test_bad_intensity_settings_name_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(IntensitySettingsError, match=r"f\.json: intensity") as error:
        intensity_from_json(data, "f.json", {})
    assert message in str(error.value)


def test_intensity_settings_token_from_the_environment() -> None:
    data = {"provider": "electricitymaps", "url": "https://api.electricitymap.org"}
    parsed = intensity_from_json(data, "f.json", {"TRADEOFF_INTENSITY_TOKEN": "abc"})
    assert parsed is not None and parsed.token == "abc" and parsed.timeout == 5.0
    assert intensity_from_json({}, "f.json", {}) is None


def test_a_study_that_sets_its_intensity_is_never_priced_with_the_service() -> None:
    from tradeoff.api.economics import CarbonSettings, EconomicsSpec
    from tradeoff.economics import study_fixes_intensity

    assert study_fixes_intensity(EconomicsSpec(carbon=CarbonSettings(gramsPerKWh=120)))
    assert not study_fixes_intensity(None)
    assert not study_fixes_intensity(EconomicsSpec(carbon=CarbonSettings(pue=1.2)))
    assert not study_fixes_intensity(EconomicsSpec())
