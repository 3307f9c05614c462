"""Energy measured on the machine that ran a local trial: RAPL and CodeCarbon's CSV.

RAPL (Running Average Power Limit) counters live under ``/sys/class/powercap``: each
top-level zone ``intel-rapl:N`` (also on AMD) counts the microjoules of one CPU package
in ``energy_uj`` and wraps around at ``max_energy_range_uj``. Only package zones are
summed: their subzones (``intel-rapl:N:M``: cores, uncore, DRAM) are parts of a package,
and ``psys`` (the whole platform) overlaps the packages, so adding either would count
energy twice. A package's energy belongs to every process on it, so a trial is given the
share of it that its CPU time is of the machine's busy CPU time over its run (from
``/proc/stat``), as Scaphandre and Kepler attribute energy. Since Linux 5.10 ``energy_uj``
is readable by root only (CVE-2020-8694); where it cannot be read the reason is returned.

CodeCarbon writes ``emissions.csv`` (one row per tracked run; ``energy_consumed`` in kWh,
``emissions`` in kg CO2e); the rows a trial wrote are summed.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "POWERCAP",
    "PROC_STAT",
    "CpuEnergySnapshot",
    "codecarbon_energy",
    "rapl_energy",
    "snapshot",
]

POWERCAP = Path("/sys/class/powercap")
PROC_STAT = Path("/proc/stat")
_USER_HZ = 100  # /proc/stat counts clock ticks of 1/100 s on Linux
_J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class CpuEnergySnapshot:
    """The RAPL package counters (zone -> (energy_uj, max_energy_range_uj)) and the
    machine's busy CPU seconds at one moment, or why RAPL could not be read."""

    zones: Mapping[str, tuple[int, int]]
    busy_seconds: float | None
    problem: str | None = None


def _packages(root: Path) -> list[Path]:
    zones = []
    for path in sorted(root.glob("intel-rapl:*")):
        if path.name.count(":") != 1:  # a subzone of a package
            continue
        name = (path / "name").read_text().strip() if (path / "name").exists() else ""
        if name != "psys":
            zones.append(path)
    return zones


def _busy_seconds(stat: Path) -> float | None:
    try:
        first = stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not first or first[0] != "cpu":
        return None
    ticks = [int(v) for v in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    guests = sum(ticks[8:10])  # guest time is already counted in user and nice
    return (sum(ticks) - idle - guests) / _USER_HZ


def snapshot(root: Path = POWERCAP, stat: Path = PROC_STAT) -> CpuEnergySnapshot:
    """Read the package counters now; ``problem`` says why they cannot be used."""
    if not root.is_dir():
        return CpuEnergySnapshot({}, None, f"no {root} (no RAPL here: a VM, or not Linux)")
    packages = _packages(root)
    if not packages:
        return CpuEnergySnapshot({}, None, f"no RAPL package zones under {root}")
    zones: dict[str, tuple[int, int]] = {}
    for path in packages:
        try:
            energy = int((path / "energy_uj").read_text())
            limit = int((path / "max_energy_range_uj").read_text())
        except PermissionError:
            why = "permission denied: readable by root only since Linux 5.10 (CVE-2020-8694)"
            return CpuEnergySnapshot({}, None, f"{path / 'energy_uj'}: {why}")
        except (OSError, ValueError) as error:
            return CpuEnergySnapshot({}, None, f"{path / 'energy_uj'}: unreadable ({error})")
        zones[path.name] = (energy, limit)
    return CpuEnergySnapshot(zones, _busy_seconds(stat))


def rapl_energy(
    before: CpuEnergySnapshot, after: CpuEnergySnapshot, cpu_seconds: float
) -> tuple[float | None, str]:
    """(kWh of the trial, what was read) between two snapshots; (None, why) if RAPL is out."""
    problem = before.problem or after.problem
    if problem:
        return None, f"RAPL: {problem}"
    joules = 0.0
    for zone, (start, limit) in before.zones.items():
        if zone not in after.zones:
            return None, f"RAPL: zone {zone} disappeared during the run"
        end = after.zones[zone][0]
        delta = end - start if end >= start else end + limit - start  # wrapped around once
        joules += delta / 1e6
    busy = None
    if before.busy_seconds is not None and after.busy_seconds is not None:
        busy = after.busy_seconds - before.busy_seconds
    if not busy or busy <= 0 or not math.isfinite(cpu_seconds):
        return None, "RAPL: no busy CPU time measured over the run (/proc/stat)"
    share = min(1.0, max(0.0, cpu_seconds / busy))
    zones = ", ".join(sorted(before.zones))
    detail = (
        f"RAPL packages {zones}: {joules:.1f} J over the run, {share:.0%} of it "
        f"(the trial's share of the machine's busy CPU time)"
    )
    return joules * share / _J_PER_KWH, detail


def codecarbon_energy(folder: Path) -> tuple[float | None, str]:
    """(kWh, what was read) from ``folder/emissions.csv``; (None, why) without one."""
    path = folder / "emissions.csv"
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        return None, f"no CodeCarbon {path.name}"
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return None, f"CodeCarbon {path}: unreadable ({error})"
    if not rows or "energy_consumed" not in rows[0]:
        return None, f"CodeCarbon {path}: no energy_consumed column"
    kwh = grams = 0.0
    for number, row in enumerate(rows, 2):
        try:
            energy = float(row["energy_consumed"])
            emitted = float(row.get("emissions") or 0.0)
        except ValueError:
            return None, f"CodeCarbon {path}:{number}: energy_consumed is not a number"
        if not (math.isfinite(energy) and energy >= 0):
            return None, f"CodeCarbon {path}:{number}: energy_consumed must be >= 0"
        kwh += energy
        grams += emitted * 1000 if math.isfinite(emitted) else 0.0
    runs = f"{len(rows)} run(s)"
    return kwh, f"CodeCarbon emissions.csv ({runs}; its own carbon estimate {grams:.3g} g)"
