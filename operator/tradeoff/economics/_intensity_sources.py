"""Carbon-intensity services: Electricity Maps, the Carbon Aware SDK WebAPI, Prometheus.

Each source answers ``samples(zone, start, end)`` (the intensity over a window) and
``latest(zone)`` (the intensity now). Any failure (unreachable, timeout, HTTP error, a
reply of the wrong shape, no data) raises ``IntensityError`` with a one-line reason;
``read_intensity`` turns that into the configured figure with the reason recorded.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from tradeoff.api.economics import QuantitySource
from tradeoff.economics._intensity import (
    IntensityReading,
    IntensitySample,
    summarise,
    timespan_seconds,
    weighted_mean,
)

__all__ = [
    "PROVIDERS",
    "CarbonAwareSdk",
    "ElectricityMaps",
    "IntensityError",
    "IntensitySettings",
    "IntensitySource",
    "PrometheusIntensity",
    "build_source",
    "read_intensity",
]

Provider = Literal["electricitymaps", "carbon-aware-sdk", "prometheus"]
PROVIDERS: tuple[Provider, ...] = ("electricitymaps", "carbon-aware-sdk", "prometheus")
_HISTORY_HOURS = 24  # Electricity Maps' /history covers the last 24 hours


class IntensityError(Exception):
    """The service gave no usable intensity; the message says why in one line."""


class IntensitySource(Protocol):
    """A carbon-intensity service for grid zones."""

    label: str
    """What the records name as the source, e.g. ``Electricity Maps (http://...)``."""

    def samples(self, zone: str, start: datetime, end: datetime) -> list[IntensitySample]: ...

    def latest(self, zone: str) -> IntensitySample: ...


@dataclass(frozen=True)
class IntensitySettings:
    """The cluster's carbon-intensity service (``economics.intensity`` of the settings)."""

    provider: Provider
    url: str
    token: str | None = None
    timeout: float = 5.0
    zones: Mapping[str, str] = field(default_factory=dict)
    """Region (node label value) -> the service's zone or location; unlisted: the region."""
    query: str = 'grid_intensity_grams_per_kwh{zone="$zone"}'
    """Prometheus only: the query, with ``$zone`` replaced by the zone."""
    region: str | None = None
    """The region carbon-aware scheduling reads when a study names none."""
    poll: float = 60.0
    """Seconds between readings while trials wait for a cleaner grid."""

    def zone(self, region: str) -> str:
        return self.zones.get(region.lower(), region)


def _parse_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise IntensityError(f"expected a time string, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise IntensityError(f"not an ISO 8601 time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _grams(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise IntensityError(f"expected a number of gCO2e/kWh, got {value!r}")
    if value < 0:
        raise IntensityError(f"negative intensity {value!r}")
    return float(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Http:
    def __init__(self, settings: IntensitySettings, name: str) -> None:
        self.base = settings.url.rstrip("/")
        self.timeout = settings.timeout
        self.token = settings.token
        self.label = f"{name} at {self.base}"

    def get(self, path: str, params: Mapping[str, str], headers: Mapping[str, str]) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                body = reply.read(4_000_000)
        except urllib.error.HTTPError as error:
            raise IntensityError(f"{self.label}: HTTP {error.code} for {path}") from None
        except TimeoutError:
            raise IntensityError(f"{self.label}: no answer within {self.timeout:g}s") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise IntensityError(f"{self.label}: no answer within {self.timeout:g}s") from None
            raise IntensityError(f"{self.label}: unreachable ({reason})") from None
        try:
            return json.loads(body)
        except ValueError:
            raise IntensityError(f"{self.label}: {path} did not answer JSON") from None


class ElectricityMaps(_Http):
    """Electricity Maps API v3: ``/v3/carbon-intensity/latest``, ``/history`` (the last 24
    hours) and ``/past-range`` (older windows), token in the ``auth-token`` header."""

    def __init__(self, settings: IntensitySettings) -> None:
        super().__init__(settings, "Electricity Maps")

    def _headers(self) -> dict[str, str]:
        return {"auth-token": self.token} if self.token else {}

    @staticmethod
    def _sample(item: Any) -> IntensitySample:
        if not isinstance(item, dict):
            raise IntensityError(f"expected an object with carbonIntensity, got {item!r:.80}")
        moment = _parse_time(item.get("datetime"))
        return IntensitySample(moment, _grams(item.get("carbonIntensity")))

    def samples(self, zone: str, start: datetime, end: datetime) -> list[IntensitySample]:
        now = datetime.now(UTC)
        if start >= now - timedelta(hours=_HISTORY_HOURS - 1):
            data = self.get("/v3/carbon-intensity/history", {"zone": zone}, self._headers())
        else:
            params = {"zone": zone, "start": _iso(start - timedelta(hours=1)), "end": _iso(end)}
            data = self.get("/v3/carbon-intensity/past-range", params, self._headers())
        key = "history" if isinstance(data, dict) and "history" in data else "data"
        items = data.get(key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise IntensityError(f"{self.label}: expected {{{key}: [...]}} for zone {zone}")
        return [self._sample(item) for item in items]

    def latest(self, zone: str) -> IntensitySample:
        data = self.get("/v3/carbon-intensity/latest", {"zone": zone}, self._headers())
        return self._sample(data)


class CarbonAwareSdk(_Http):
    """The Green Software Foundation Carbon Aware SDK WebAPI: ``GET /emissions/bylocation
    ?location=&time=&toTime=`` answers ``[{location, time, rating, duration}]``."""

    def __init__(self, settings: IntensitySettings) -> None:
        super().__init__(settings, "Carbon Aware SDK")

    def samples(self, zone: str, start: datetime, end: datetime) -> list[IntensitySample]:
        params = {"location": zone, "time": _iso(start - timedelta(hours=1)), "toTime": _iso(end)}
        data = self.get("/emissions/bylocation", params, {})
        if not isinstance(data, list):
            raise IntensityError(f"{self.label}: expected a list of emissions for {zone}")
        found = []
        for item in data:
            if not isinstance(item, dict):
                raise IntensityError(f"{self.label}: expected emissions objects, got {item!r:.80}")
            try:
                seconds = timespan_seconds(str(item.get("duration") or "0:0:0")) or None
            except ValueError:
                seconds = None
            moment = _parse_time(item.get("time"))
            found.append(IntensitySample(moment, _grams(item.get("rating")), seconds))
        return found

    def latest(self, zone: str) -> IntensitySample:
        now = datetime.now(UTC)
        found = self.samples(zone, now - timedelta(hours=1), now)
        if not found:
            raise IntensityError(f"{self.label}: no emissions data for {zone} in the last 2 hours")
        return max(found, key=lambda s: s.start)


class PrometheusIntensity(_Http):
    """A Prometheus gauge of gCO2e/kWh per zone (instant and range queries of the HTTP API)."""

    def __init__(self, settings: IntensitySettings) -> None:
        super().__init__(settings, "Prometheus")
        self.query = settings.query

    def expression(self, zone: str) -> str:
        """The query for ``zone``, escaped as inside a PromQL string literal."""
        return self.query.replace("$zone", json.dumps(zone)[1:-1])

    def _result(self, data: Any, zone: str) -> list[Any]:
        if not isinstance(data, dict) or data.get("status") != "success":
            raise IntensityError(f"{self.label}: the query for {zone} did not succeed")
        result = (data.get("data") or {}).get("result")
        if not isinstance(result, list) or not result:
            raise IntensityError(f"{self.label}: no series for zone {zone}")
        return result

    def samples(self, zone: str, start: datetime, end: datetime) -> list[IntensitySample]:
        step = max(15.0, (end - start).total_seconds() / 200)
        params = {
            "query": self.expression(zone),
            "start": f"{(start - timedelta(minutes=5)).timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step:g}",
        }
        result = self._result(self.get("/api/v1/query_range", params, {}), zone)
        return [
            IntensitySample(datetime.fromtimestamp(float(t), UTC), _grams(float(v)))
            for t, v in result[0].get("values") or []
        ]

    def latest(self, zone: str) -> IntensitySample:
        params = {"query": self.expression(zone)}
        result = self._result(self.get("/api/v1/query", params, {}), zone)
        moment, value = result[0].get("value") or (0, "nan")
        return IntensitySample(datetime.fromtimestamp(float(moment), UTC), _grams(float(value)))


def build_source(settings: IntensitySettings) -> IntensitySource:
    """The client for ``settings.provider``."""
    if settings.provider == "electricitymaps":
        return ElectricityMaps(settings)
    if settings.provider == "carbon-aware-sdk":
        return CarbonAwareSdk(settings)
    return PrometheusIntensity(settings)


def read_intensity(
    source: IntensitySource | None,
    settings: IntensitySettings | None,
    region: str | None,
    start: datetime,
    end: datetime,
    configured: float,
) -> IntensityReading:
    """The intensity over [start, end] in ``region``, else ``configured`` and why."""
    if source is None or settings is None:
        return IntensityReading(configured, QuantitySource(source="configured"))
    if not region:
        why = f"{source.label} not asked: the node has no topology.kubernetes.io/region label"
        return IntensityReading(configured, QuantitySource(source="configured", detail=why))
    zone = settings.zone(region)
    try:
        found = source.samples(zone, start, end)
        if not found:
            raise IntensityError(f"{source.label}: no samples for zone {zone}")
    except IntensityError as error:
        why = f"{error}; used the configured {configured:g} g/kWh"
        return IntensityReading(configured, QuantitySource(source="configured", detail=why[:300]))
    mean = weighted_mean(found, start, end)
    points = summarise(found, start, end)
    detail = f"{source.label}, zone {zone}, {len(points)} point(s) over the run"
    return IntensityReading(mean, QuantitySource(source="measured", detail=detail[:300]), points)
