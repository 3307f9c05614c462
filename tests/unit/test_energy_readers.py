"""RAPL and CodeCarbon readers, on a fake sysfs and CSVs in CodeCarbon's columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeoff.economics import codecarbon_energy, rapl_energy, snapshot

CODECARBON_HEADER = (
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,"
    "cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,"
    "country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,"
    "codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"
    "ram_total_size,tracking_mode,on_cloud,pue\n"
)


def codecarbon_row(energy: float, emissions_kg: float) -> str:
    return (
        f"2026-12-01T02:00:00,codecarbon,run-1,exp,12.5,{emissions_kg},0.0001,42.5,0,3.0,"
        f"0.0001,0,0.00001,{energy},Sweden,SWE,,,,Linux,3.11.7,2.8.0,8,Intel,0,,18.0,59.3,"
        "16,machine,N,1.0\n"
    )


def zone(root: Path, name: str, energy: int, limit: int = 262143328850, label: str = "") -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "energy_uj").write_text(f"{energy}\n")
    (path / "max_energy_range_uj").write_text(f"{limit}\n")
    (path / "name").write_text(label or f"package-{name[-1]}")
    return path


def stat(path: Path, busy_ticks: int) -> Path:
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    path.write_text(f"cpu  {busy_ticks} 0 0 5000 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
    return path


def test_packages_are_summed_subzones_and_psys_are_not(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", 1_000_000)
    zone(root, "intel-rapl:1", 2_000_000)
    zone(root, "intel-rapl:0:0", 500_000, label="core")  # part of package 0
    zone(root, "intel-rapl:2", 9_000_000, label="psys")  # the platform: overlaps both
    proc = stat(tmp_path / "stat", 1000)
    before = snapshot(root, proc)
    assert set(before.zones) == {"intel-rapl:0", "intel-rapl:1"}
    (root / "intel-rapl:0" / "energy_uj").write_text("31000000")  # +30 J
    (root / "intel-rapl:1" / "energy_uj").write_text("12000000")  # +10 J
    (root / "intel-rapl:0:0" / "energy_uj").write_text("99000000")  # ignored
    after = snapshot(root, stat(proc, 1000 + 400))  # 4 busy CPU-seconds
    kwh, detail = rapl_energy(before, after, cpu_seconds=1.0)  # the trial: a quarter
    assert kwh == pytest.approx(40.0 * 0.25 / 3.6e6)
    assert detail.startswith("RAPL packages intel-rapl:0, intel-rapl:1: 40.0 J over the run, 25%")


def test_a_counter_that_wrapped_around(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", 999_000_000, limit=1_000_000_000)
    proc = stat(tmp_path / "stat", 0)
    before = snapshot(root, proc)
    (root / "intel-rapl:0" / "energy_uj").write_text("4000000")  # wrapped: +5 J
    kwh, _ = rapl_energy(before, snapshot(root, stat(proc, 200)), cpu_seconds=2.0)
    assert kwh == pytest.approx(5.0 / 3.6e6)


def test_why_rapl_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = snapshot(tmp_path / "nothing", tmp_path / "stat")
    assert missing.problem is not None and "no RAPL here" in missing.problem
    kwh, why = rapl_energy(missing, missing, 1.0)
    assert kwh is None and why.startswith("RAPL: no ")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no RAPL package zones" in (snapshot(empty).problem or "")
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", 5)
    original = Path.read_text

    def root_only(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", root_only)
    denied = snapshot(root, tmp_path / "stat")
    assert denied.problem is not None
    assert "permission denied: readable by root only since Linux 5.10" in denied.problem


def test_codecarbon_csv(tmp_path: Path) -> None:
    assert codecarbon_energy(tmp_path) == (None, "no CodeCarbon emissions.csv")
    csv = tmp_path / "emissions.csv"
    csv.write_text(CODECARBON_HEADER + codecarbon_row(0.002, 0.0005) + codecarbon_row(0.001, 0))
    kwh, detail = codecarbon_energy(tmp_path)
    assert kwh == pytest.approx(0.003)
    assert detail == "CodeCarbon emissions.csv (2 run(s); its own carbon estimate 0.5 g)"
    csv.write_text("timestamp,emissions\n2026,0.1\n")
    assert "no energy_consumed column" in codecarbon_energy(tmp_path)[1]
    csv.write_text(CODECARBON_HEADER + codecarbon_row(0.002, 0).replace(",0.002,", ",lots,"))
    assert "emissions.csv:2: energy_consumed is not a number" in codecarbon_energy(tmp_path)[1]
