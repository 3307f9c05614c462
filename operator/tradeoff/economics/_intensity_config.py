"""The carbon-intensity service's settings (``economics.intensity`` of the operator's
economics file, ``tradeoff run --intensity-config``) and the intensity now.

``{"provider": "electricitymaps" | "carbon-aware-sdk" | "prometheus", "url": ...,
"timeoutSeconds": 5, "pollSeconds": 60, "zones": {region: zone}, "query": "...$zone...",
"region": ...}``;
the Electricity Maps token comes from the environment variable ``TRADEOFF_INTENSITY_TOKEN``
(the chart fills it from a Secret), never from the ConfigMap.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from typing import Any

from tradeoff.api.economics import EconomicsSpec
from tradeoff.economics._intensity_sources import (
    PROVIDERS,
    IntensityError,
    IntensitySettings,
    IntensitySource,
)

__all__ = ["TOKEN_VARIABLE", "IntensitySettingsError", "current_intensity", "intensity_from_json"]

TOKEN_VARIABLE = "TRADEOFF_INTENSITY_TOKEN"
_KEYS = {
    "provider",
    "url",
    "timeoutSeconds",
    "pollSeconds",
    "zones",
    "query",
    "region",
    "tokenSecret",
}
"""tokenSecret is the chart's (the Secret it reads the token from) and ignored here."""


class IntensitySettingsError(ValueError):
    """``economics.intensity`` is invalid; the message is one line naming the field."""


def intensity_from_json(data: Any, where: str, env: Mapping[str, str]) -> IntensitySettings | None:
    """The ``intensity`` section of the economics settings; None when absent or empty."""
    if data is None or data == {}:
        return None
    where = f"{where}: intensity"
    if not isinstance(data, dict):
        raise IntensitySettingsError(f"{where} must be an object")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise IntensitySettingsError(f"{where}: unknown field {unknown[0]}")
    provider = data.get("provider")
    if not provider:
        return None
    if provider not in PROVIDERS:
        choices = ", ".join(PROVIDERS)
        raise IntensitySettingsError(
            f"{where}.provider: must be one of {choices}, got {provider!r}"
        )
    url = data.get("url")
    parsed = urllib.parse.urlparse(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise IntensitySettingsError(
            f"{where}.url: expected the service's base URL, e.g. https://api.electricitymap.org, "
            f"got {url!r}"
        )
    timeout = _seconds(data, "timeoutSeconds", 5, where)
    poll = _seconds(data, "pollSeconds", 60, where)
    zones = data.get("zones") or {}
    if not isinstance(zones, dict) or not all(isinstance(v, str) and v for v in zones.values()):
        raise IntensitySettingsError(f"{where}.zones: expected an object of region: zone name")
    query = data.get("query") or IntensitySettings.query
    if not isinstance(query, str) or "$zone" not in query:
        raise IntensitySettingsError(f"{where}.query: must be a PromQL query containing $zone")
    region = data.get("region") or None
    if region is not None and not (isinstance(region, str) and region):
        raise IntensitySettingsError(f"{where}.region: expected a region name, got {region!r}")
    return IntensitySettings(
        provider=provider,
        url=str(url),
        token=env.get(TOKEN_VARIABLE) or None,
        timeout=timeout,
        poll=poll,
        zones={str(k).lower(): v for k, v in zones.items()},
        query=query,
        region=region,
    )


def _seconds(data: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = data.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise IntensitySettingsError(f"{where}.{key}: expected seconds > 0, got {value!r}")
    return float(value)


def current_intensity(
    source: IntensitySource | None, settings: IntensitySettings | None, region: str | None
) -> tuple[float | None, str]:
    """The region's grid intensity now, or None and why there is none."""
    if source is None or settings is None:
        return None, "no carbon-intensity service is configured (economics.intensity)"
    if not region:
        return None, (
            "no region to read: set spec.schedule.carbonAware.region (or the intensity "
            "settings' region)"
        )
    try:
        return source.latest(settings.zone(region)).grams_per_kwh, ""
    except IntensityError as error:
        return None, str(error)


def study_fixes_intensity(economics: EconomicsSpec | None) -> bool:
    """A study that sets its own `carbon.gramsPerKWh` is priced with it: no service is
    asked over its trials' runs (both adapters follow this)."""
    carbon = economics.carbon if economics is not None else None
    return carbon is not None and carbon.grams_per_kwh is not None
