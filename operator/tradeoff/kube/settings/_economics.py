"""The operator-wide economics defaults: `--economics-config FILE` (JSON) read and checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tradeoff.economics import (
    EconomicsConfig,
    IntensitySettings,
    IntensitySettingsError,
    intensity_from_json,
)
from tradeoff.kube.settings._model import SettingsError


def _number(section: Mapping[str, Any], key: str, where: str) -> float | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


def _section(data: Mapping[str, Any], key: str, known: set[str], where: str) -> dict[str, Any]:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{where}: {key} must be an object")
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown field {key}.{unknown[0]}")
    return section


def economics_from_json(data: Any, where: str) -> EconomicsConfig:
    """The operator-wide economics defaults in the documented JSON shape.

    `{"pricing": {"cpuHour", "memoryGiBHour", "gpuHour"}, "carbon": {"gramsPerKWh", "pue"},
    "regions": {name: gCO2e/kWh}, "instancePrices": {type: USD/h}, "spotDiscount": x}`.
    """
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: expected a JSON object")
    known = {"pricing", "carbon", "regions", "instancePrices", "spotDiscount", "intensity"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown field {unknown[0]}")
    pricing = _section(data, "pricing", {"cpuHour", "memoryGiBHour", "gpuHour"}, where)
    carbon = _section(data, "carbon", {"gramsPerKWh", "pue"}, where)
    changes: dict[str, Any] = {}
    for key, attr in (("cpuHour", "cpu_hour"), ("memoryGiBHour", "memory_gib_hour")):
        if (value := _number(pricing, key, f"{where}: pricing")) is not None:
            changes[attr] = value
    if (value := _number(pricing, "gpuHour", f"{where}: pricing")) is not None:
        changes["gpu_hour"] = value
    if (value := _number(carbon, "gramsPerKWh", f"{where}: carbon")) is not None:
        changes["grams_per_kwh"] = value
    if (value := _number(carbon, "pue", f"{where}: carbon")) is not None:
        changes["pue"] = value
    if (value := _number(data, "spotDiscount", where)) is not None:
        changes["spot_discount"] = value
    base = EconomicsConfig.default()
    for key, attr in (("regions", "region_intensity"), ("instancePrices", "instance_prices")):
        table = data.get(key) or {}
        if not isinstance(table, dict):
            raise SettingsError(f"{where}: {key} must be an object of name: number")
        numbers = {str(k).lower(): _number(table, k, f"{where}: {key}") for k in table}
        merged = {**getattr(base, attr), **numbers} if attr == "region_intensity" else numbers
        changes[attr] = merged
    try:
        return replace(base, **changes)
    except ValueError as error:
        raise SettingsError(f"{where}: {error}") from None


def load_economics_config(
    path: str, env: Mapping[str, str] | None = None
) -> tuple[EconomicsConfig, IntensitySettings | None]:
    """Read `--economics-config FILE`: the defaults and the carbon-intensity service."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"--economics-config {path}: cannot read ({error.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SettingsError(f"--economics-config {path}: not valid JSON ({error})") from None
    where = f"--economics-config {path}"
    config = economics_from_json(data, where)
    try:
        intensity = intensity_from_json(data.get("intensity"), where, env or {})
    except IntensitySettingsError as error:
        raise SettingsError(str(error)) from None
    return config, intensity
