"""Grid carbon intensity that changes with time, weighted over a trial's run (pure).

A source returns samples: an intensity from a start time on, for ``seconds`` or, when
that is unknown, until the next sample. The energy of a run is spread evenly over its
window, so its carbon is energy x the time-weighted mean intensity over the window: the
sum over the window of each slice's energy share x that slice's intensity. Before the
first sample the first value holds, after the last the last value holds (a service
publishes with a delay); gaps between samples keep the earlier value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradeoff.api.economics import IntensityPoint, QuantitySource

__all__ = ["MAX_POINTS", "IntensityReading", "IntensitySample", "summarise", "weighted_mean"]

MAX_POINTS = 24
"""The most intensity points a trial records; longer runs are averaged into equal slices."""


@dataclass(frozen=True)
class IntensitySample:
    """gCO2e per kWh from ``start`` on, for ``seconds`` (None: until the next sample)."""

    start: datetime
    grams_per_kwh: float
    seconds: float | None = None


@dataclass(frozen=True)
class IntensityReading:
    """The intensity a trial is priced with, where it came from and what was read."""

    grams_per_kwh: float
    source: QuantitySource
    points: tuple[IntensityPoint, ...] = ()


def _intervals(
    samples: Sequence[IntensitySample], end: datetime
) -> list[tuple[datetime, datetime, float]]:
    """Each sample as [from, to) up to ``end``; the last one, and gaps, keep their value."""
    ordered = sorted(samples, key=lambda s: s.start)
    spans = []
    for i, sample in enumerate(ordered):
        following = ordered[i + 1].start if i + 1 < len(ordered) else max(end, sample.start)
        stop = following  # a gap keeps the earlier value: intensity is never unknown
        spans.append((sample.start, stop, sample.grams_per_kwh))
    return spans


def weighted_mean(samples: Sequence[IntensitySample], start: datetime, end: datetime) -> float:
    """Time-weighted mean intensity over [start, end]; at one instant, the value then."""
    if not samples:
        raise ValueError("no intensity samples")
    spans = _intervals(samples, end)
    first_start, _, first_value = spans[0]
    if end <= start:
        value = first_value
        for begin, _, grams in spans:
            if begin <= start:
                value = grams
        return value
    total = 0.0
    weight = 0.0
    if start < first_start:  # before the first sample the first value holds
        covered = (min(end, first_start) - start).total_seconds()
        total += covered * first_value
        weight += covered
    for begin, stop, grams in spans:
        overlap = (min(stop, end) - max(begin, start)).total_seconds()
        if overlap > 0:
            total += overlap * grams
            weight += overlap
    if weight <= 0:  # the window lies after every sample: the last value holds
        return spans[-1][2]
    return total / weight


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summarise(
    samples: Sequence[IntensitySample], start: datetime, end: datetime
) -> tuple[IntensityPoint, ...]:
    """The samples that cover [start, end] as points, at most ``MAX_POINTS`` of them.

    When more samples cover the window, it is cut into ``MAX_POINTS`` equal slices and
    each slice records its weighted mean, so the record stays small for a run of days.
    """
    spans = _intervals(samples, end)
    inside = [s for s in spans if s[1] > start and s[0] < end] or [
        max((s for s in spans if s[0] <= start), key=lambda s: s[0], default=spans[0])
    ]
    if len(inside) <= MAX_POINTS:
        return tuple(
            IntensityPoint(time=_stamp(max(begin, start)), grams_per_kwh=grams)
            for begin, _, grams in inside
        )
    step = (end - start) / MAX_POINTS
    points = []
    for i in range(MAX_POINTS):
        left = start + step * i
        right = end if i == MAX_POINTS - 1 else left + step
        points.append(
            IntensityPoint(time=_stamp(left), grams_per_kwh=weighted_mean(samples, left, right))
        )
    return tuple(points)


def timespan_seconds(text: str) -> float:
    """A .NET TimeSpan (``[d.]hh:mm:ss[.fff]``, as the Carbon Aware SDK writes durations)."""
    days = 0
    body = text.strip()
    if "." in body.split(":")[0]:
        day_text, _, body = body.partition(".")
        days = int(day_text)
    hours, minutes, seconds = body.split(":")
    return timedelta(
        days=days, hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    ).total_seconds()
