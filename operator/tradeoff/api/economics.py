"""Economics on the wire: per-study overrides and what each trial cost.

``EconomicsSpec`` is the optional ``spec.economics`` of a Study; ``TrialEconomics`` is
recorded in a Trial's status (a study's sums are ``tradeoff.api.status.Totals``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tradeoff.api._base import ApiModel

__all__ = [
    "CarbonSettings",
    "EconomicsSources",
    "EconomicsSpec",
    "IntensityPoint",
    "Pricing",
    "QuantitySource",
    "TrialEconomics",
]


class Pricing(ApiModel):
    """Prices that override the operator's defaults (unset fields keep the default)."""

    cpu_hour: float | None = Field(
        None, ge=0, description="USD per vCPU-hour (default 0.031611, OpenCost's default)."
    )
    memory_gib_hour: float | None = Field(
        None,
        ge=0,
        alias="memoryGiBHour",
        description="USD per GiB of memory per hour (default 0.004237, OpenCost's default).",
    )
    gpu_hour: float | None = Field(
        None, ge=0, description="USD per GPU-hour (default 0.95, OpenCost's default)."
    )


class CarbonSettings(ApiModel):
    """Carbon settings that override the operator's defaults and the node's region."""

    grams_per_kwh: float | None = Field(
        None,
        ge=0,
        alias="gramsPerKWh",
        description=(
            "Grid carbon intensity in gCO2e per kWh. Wins over the region of the node "
            "(default 475, the IEA world average)."
        ),
    )
    pue: float | None = Field(
        None,
        ge=1.0,
        description="Power usage effectiveness of the data centre, >= 1 (default 1.135).",
    )


class EconomicsSpec(ApiModel):
    """Per-study overrides of the economics defaults; explicit values win over node labels."""

    pricing: Pricing | None = Field(None, description="Prices per resource-hour.")
    carbon: CarbonSettings | None = Field(None, description="Grid intensity and PUE.")


class QuantitySource(ApiModel):
    """Where one input of a trial's economics came from, and why when it fell back."""

    source: Literal["estimated", "configured", "measured"] = Field(
        ...,
        description=(
            "measured: read from the trial's own run (Kepler, OpenCost, a carbon-intensity "
            "service, RAPL, what the trial reported); configured: the operator's or the "
            "study's settings; estimated: the model from requests and duration."
        ),
    )
    detail: str | None = Field(
        None,
        max_length=300,
        description="What was read (metric, zones, service), or why the measurement was missing.",
    )


class EconomicsSources(ApiModel):
    """The source of each quantity a trial's economics rest on."""

    energy: QuantitySource
    prices: QuantitySource
    intensity: QuantitySource


class IntensityPoint(ApiModel):
    """The grid's carbon intensity from one time on (until the next point or the end)."""

    time: str = Field(..., description="Start of the interval, RFC 3339 UTC.")
    grams_per_kwh: float = Field(
        ..., ge=0, alias="gramsPerKWh", description="gCO2e per kWh over the interval."
    )


class TrialEconomics(ApiModel):
    """Energy, carbon and cost of one trial, with the inputs used to compute them."""

    duration_seconds: float = Field(..., ge=0, description="Wall-clock run time in seconds.")
    cpu_seconds: float | None = Field(
        None, ge=0, description="Measured CPU time in seconds, when known."
    )
    energy_kwh: float = Field(
        ...,
        ge=0,
        alias="energyKWh",
        description="Energy in kWh, data-centre overhead (PUE) included.",
    )
    carbon_grams: float = Field(..., ge=0, description="Emissions in grams of CO2e.")
    cost_usd: float = Field(..., ge=0, alias="costUSD", description="Cost in USD.")
    source: Literal["estimated", "measured"] = Field(
        ...,
        description=(
            "measured when CPU time, energy or prices were measured (see sources), "
            "estimated when only requests and duration were known."
        ),
    )
    vcpu: float = Field(
        ...,
        ge=0,
        description="Requested vCPU; billed vCPU is max(vcpu, cpuSeconds / durationSeconds).",
    )
    memory_gib: float = Field(
        ...,
        ge=0,
        alias="memoryGiB",
        description="Requested GiB; billed is max(memoryGiB, the measured peak) where measured.",
    )
    gpus: int = Field(0, ge=0, description="GPUs requested.")
    gpu_model: str | None = Field(None, description="GPU model whose power figures were used.")
    grams_per_kwh: float = Field(
        ..., ge=0, alias="gramsPerKWh", description="Grid intensity used, gCO2e per kWh."
    )
    intensity_samples: list[IntensityPoint] | None = Field(
        None,
        max_length=24,
        description=(
            "The grid intensity over the trial's run as read from a carbon-intensity "
            "service (gramsPerKWh is their energy-weighted mean); a long run is summarised "
            "in at most 24 equal slices."
        ),
    )
    pue: float | None = Field(None, ge=1.0, description="PUE used.")
    region: str | None = Field(None, description="Region of the node that ran the trial.")
    sources: EconomicsSources | None = Field(
        None, description="Where energy, prices and grid intensity came from."
    )
