"""Carbon-aware scheduling: carbon saved against delay added, on a synthetic 48-hour grid.

The trace (5-minute steps, seeded, ``trace()``): intensity(t) = BASE + DAILY x cos(2 pi
(h - 19) / 24) - SOLAR_k x exp(-((h - 13) / 2.5)^2) + noise, with h the hour of day, an
evening peak at 19:00, a midday solar dip (full on day 1, SOLAR_k scaled by 0.6 on day 2,
a cloudier day) and AR(1) noise (phi 0.9, sigma 12 g/kWh); floored at 20 g/kWh. With the
defaults it runs from about 130 (sunny noon) to about 390 g/kWh (evening), the shape
Electricity Maps shows for grids with solar and gas peakers (e.g. California, Germany in
summer).

The workload: a study of TRIALS trials of TRIAL_MINUTES each, PARALLELISM at a time, each
drawing POWER_W (energy spread evenly over its run), started at each of 12 times of day
(every 2 hours over day 1, so no result hangs on a lucky start). Each new trial goes
through the engine's rule (``tradeoff.engine.schedule.carbon_hold``) with simulated time:
it is read every POLL_MINUTES against the trace's latest value and starts when the rule
lets it (the grid is within maxIntensity, or maxDelay has passed). Its carbon is energy x
the time-weighted intensity over its run (``tradeoff.economics`` weighting, as trials are
priced). Compared with the same study without the rule: carbon saved, the mean wait per
trial and the longer wall-clock time of the study.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import numpy as np

from tradeoff.api.schedule import CarbonAware
from tradeoff.economics import IntensitySample
from tradeoff.economics._intensity import weighted_mean
from tradeoff.engine.schedule import carbon_hold

NAME = "carbon_aware"
T0 = datetime(2026, 6, 1, tzinfo=UTC)
STEP_MINUTES = 5
BASE, DAILY, SOLAR = 300.0, 60.0, 170.0
TRIALS, PARALLELISM, TRIAL_MINUTES, POWER_W, POLL_MINUTES = 24, 2, 30, 60.0, 5
SETTINGS = [(250, "1h"), (250, "4h"), (250, "12h"), (200, "4h"), (200, "12h"), (300, "4h")]
QUICK_SETTINGS = [(250, "4h")]


def trace(seed: int, hours: int = 48) -> list[IntensitySample]:
    """The synthetic grid (see the module's docstring), one sample per 5 minutes."""
    rng = np.random.default_rng(seed)
    samples, noise = [], 0.0
    for i in range(hours * 60 // STEP_MINUTES):
        minutes = i * STEP_MINUTES
        hour = (minutes / 60) % 24
        day = minutes // (24 * 60)
        solar = SOLAR * (1.0 if day % 2 == 0 else 0.6)
        noise = 0.9 * noise + rng.normal(0.0, 12.0)
        value = (
            BASE
            + DAILY * math.cos(2 * math.pi * (hour - 19) / 24)
            - solar * math.exp(-(((hour - 13) / 2.5) ** 2))
            + noise
        )
        samples.append(IntensitySample(T0 + timedelta(minutes=minutes), max(20.0, value)))
    return samples


def latest(samples: Sequence[IntensitySample], now: datetime) -> float:
    index = int((now - T0).total_seconds() // (STEP_MINUTES * 60))
    return samples[min(max(index, 0), len(samples) - 1)].grams_per_kwh


def run_study(
    samples: Sequence[IntensitySample], start: datetime, rule: CarbonAware | None
) -> dict[str, float]:
    """Simulated time: slots free up as trials end; new trials wait as the rule says."""
    run = timedelta(minutes=TRIAL_MINUTES)
    poll = timedelta(minutes=POLL_MINUTES)
    kwh = POWER_W * TRIAL_MINUTES / 60 / 1000
    slots = [start] * PARALLELISM  # when each slot is free
    grams = waited = 0.0
    end = start
    for _ in range(TRIALS):
        slots.sort()
        created = now = slots[0]  # the trial is created when a slot frees
        while carbon_hold(rule, latest(samples, now), created, now, poll=POLL_MINUTES * 60).hold:
            now += poll
        waited += (now - created).total_seconds()
        grams += kwh * weighted_mean(samples, now, now + run)
        slots[0] = now + run
        end = max(end, now + run)
    return {
        "grams": grams,
        "wait_minutes": waited / TRIALS / 60,
        "hours": (end - start).total_seconds() / 3600,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = c.parse_args(argv, __doc__.splitlines()[0])
    seeds = args.seeds or (1 if args.quick else 5)
    settings = QUICK_SETTINGS if args.quick else SETTINGS
    starts = [T0 + timedelta(hours=2 * k) for k in range(2 if args.quick else 12)]
    runs: list[dict[str, Any]] = []
    for seed in range(seeds):
        samples = trace(seed)
        values = [s.grams_per_kwh for s in samples]
        for start in starts:
            base = run_study(samples, start, None)
            for bound, delay in settings:
                rule = CarbonAware(max_intensity=bound, max_delay=delay)
                got = run_study(samples, start, rule)
                runs.append(
                    {
                        "seed": seed,
                        "start_hour": start.hour,
                        "max_intensity": bound,
                        "max_delay": delay,
                        "trace_min": min(values),
                        "trace_max": max(values),
                        "saved_percent": 100 * (1 - got["grams"] / base["grams"]),
                        "wait_minutes": got["wait_minutes"],
                        "extra_hours": got["hours"] - base["hours"],
                        "baseline_grams": base["grams"],
                        "grams": got["grams"],
                    }
                )
    rows = []
    for bound, delay in settings:
        mine = [r for r in runs if (r["max_intensity"], r["max_delay"]) == (bound, delay)]
        saved = c.stats([r["saved_percent"] for r in mine])
        wait = c.stats([r["wait_minutes"] for r in mine])
        extra = c.stats([r["extra_hours"] for r in mine])
        rows.append(
            [
                bound,
                delay,
                c.show(saved, 3),
                c.show(wait, 3),
                c.show(extra, 2),
                len(mine),
            ]
        )
    c.print_table(
        f"Carbon saved against delay added ({TRIALS} trials of {TRIAL_MINUTES} min, "
        f"{PARALLELISM} at a time, {len(starts)} start times x {seeds} traces)",
        [
            "maxIntensity",
            "maxDelay",
            "carbon saved %",
            "mean wait per trial (min)",
            "study longer by (h)",
            "runs",
        ],
        rows,
    )
    c.write_results(
        args.out,
        NAME,
        {
            "trace": {"base": BASE, "daily": DAILY, "solar": SOLAR, "step_minutes": STEP_MINUTES},
            "workload": {
                "trials": TRIALS,
                "parallelism": PARALLELISM,
                "trial_minutes": TRIAL_MINUTES,
                "power_w": POWER_W,
                "poll_minutes": POLL_MINUTES,
            },
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
