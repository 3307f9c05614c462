"""Energy a local attempt used, measured where the machine allows (see
`tradeoff.economics._local_energy`): CodeCarbon's ``emissions.csv`` when the trial writes
one, else RAPL, else nothing and why (the estimate from CPU time then applies).

Each running attempt has a folder of its own for CodeCarbon (``CODECARBON_OUTPUT_DIR``,
which CodeCarbon reads as its default ``output_dir`` and needs to exist), so parallel
trials never share a CSV. The folders are made once per run, as many as run at a time
(``energy/0``, ``energy/1``, ...), each emptied when taken first and after every attempt
that left something in it, and handed to the next attempt: no folder made or removed per
attempt.
"""

from __future__ import annotations

import os
import shutil
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
        self._free: list[Path] = []  # empty folders no attempt holds
        self._made = 0
        self._without_rapl: CpuEnergySnapshot | None = None
        """The snapshot of a machine without RAPL (no powercap folder), read once."""

    def begin(self, trial: str, attempt: int, pod: dict[str, Any], primary: int) -> dict[str, Any]:
        """The pod with CodeCarbon's output folder set (unless the template sets it)."""
        self.release(trial)  # an attempt of this trial that never ended (a start error)
        folder = self._free.pop() if self._free else self._new_folder()
        self._started[trial] = (self._snapshot(), folder)
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
        started = self._started.get(trial)
        if started is None:
            return None, ""
        before, folder = started
        kwh, codecarbon = codecarbon_energy(folder)
        self.release(trial)
        if kwh is not None:
            return kwh, codecarbon
        kwh, rapl = rapl_energy(before, self._snapshot(), cpu_seconds)
        return kwh, rapl if kwh is not None else f"{rapl}; {codecarbon}"

    def _snapshot(self) -> CpuEnergySnapshot:
        """The counters now; on a machine without RAPL (a VM, say), the same answer as at
        the first attempt, without looking again before and after each one."""
        if self._without_rapl is not None:
            return self._without_rapl
        taken = snapshot(self.powercap, self.stat)
        if not taken.zones and not self.powercap.is_dir():
            self._without_rapl = taken
        return taken

    def _new_folder(self) -> Path:
        folder = self.folder / str(self._made)
        self._made += 1
        fresh_folder(folder)  # a killed run may have left files in it
        return folder

    def release(self, trial: str) -> None:
        """Done with the trial's attempt (``end`` calls it): its folder is emptied, if it
        holds anything, for the next attempt."""
        started = self._started.pop(trial, None)
        if started is None:
            return
        folder = started[1]
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        Path(entry.path).unlink()
        except FileNotFoundError:
            fresh_folder(folder)  # the trial removed it
        except OSError:
            return  # cannot be emptied: not handed on
        self._free.append(folder)
