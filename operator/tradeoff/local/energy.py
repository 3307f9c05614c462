"""Energy a local attempt used, measured where the machine allows (see
`tradeoff.economics._local_energy`): CodeCarbon's ``emissions.csv`` when the trial writes
one, else RAPL, else nothing and why (the estimate from CPU time then applies).

Each attempt gets its own folder for CodeCarbon (``CODECARBON_OUTPUT_DIR``, which
CodeCarbon reads as its default ``output_dir``), so parallel trials never share a CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradeoff.economics import (
    CpuEnergySnapshot,
    codecarbon_energy,
    rapl_energy,
    snapshot,
)
from tradeoff.economics._local_energy import POWERCAP, PROC_STAT
from tradeoff.local.artifacts import fresh_folder

__all__ = ["CODECARBON_DIR", "EnergyMeter"]

CODECARBON_DIR = "CODECARBON_OUTPUT_DIR"


class EnergyMeter:
    """``begin`` before an attempt starts, ``end`` when it ended."""

    def __init__(self, folder: Path, powercap: Path = POWERCAP, stat: Path = PROC_STAT) -> None:
        self.folder, self.powercap, self.stat = folder, powercap, stat
        self._started: dict[str, tuple[CpuEnergySnapshot, Path]] = {}

    def begin(self, trial: str, attempt: int, pod: dict[str, Any], primary: int) -> dict[str, Any]:
        """The pod with CodeCarbon's output folder set (unless the template sets it)."""
        folder = self.folder / f"{trial}.{attempt}"
        fresh_folder(folder)
        self._started[trial] = (snapshot(self.powercap, self.stat), folder)
        container = pod["containers"][primary]
        if any(e.get("name") == CODECARBON_DIR for e in container.get("env") or []):
            return pod
        # A new pod, container and env list; everything else is shared with `pod`.
        containers = list(pod["containers"])
        containers[primary] = {
            **container,
            "env": [*(container.get("env") or []), {"name": CODECARBON_DIR, "value": str(folder)}],
        }
        return {**pod, "containers": containers}

    def end(self, trial: str, cpu_seconds: float) -> tuple[float | None, str]:
        """(kWh, what was read) or (None, why nothing was measured)."""
        started = self._started.pop(trial, None)
        if started is None:
            return None, ""
        before, folder = started
        kwh, codecarbon = codecarbon_energy(folder)
        if kwh is not None:
            return kwh, codecarbon
        kwh, rapl = rapl_energy(before, snapshot(self.powercap, self.stat), cpu_seconds)
        return kwh, rapl if kwh is not None else f"{rapl}; {codecarbon}"
