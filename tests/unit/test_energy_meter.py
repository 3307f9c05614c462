"""tradeoff.local.energy.EnergyMeter: the per-attempt CodeCarbon folder a trial's pod names."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tradeoff.economics import CpuEnergySnapshot, snapshot
from tradeoff.local import energy
from tradeoff.local.energy import CODECARBON_DIR, EnergyMeter


def _pod() -> dict[str, object]:
    return {
        "containers": [
            {"name": "side", "image": "x", "env": [{"name": "A", "value": "1"}]},
            {"name": "trial", "image": "x", "env": [{"name": "B", "value": "2"}]},
        ],
        "restartPolicy": "Never",
    }


def test_the_attempt_gets_an_empty_folder_of_its_own_and_the_given_pod_is_unchanged(
    tmp_path: Path,
) -> None:
    meter = EnergyMeter(tmp_path / "energy", powercap=tmp_path / "no-powercap")
    given = _pod()
    before = copy.deepcopy(given)
    pod = meter.begin("t-0001", 1, given, 1)
    folder = Path(pod["containers"][1]["env"][1]["value"])  # type: ignore[index]
    assert given == before
    assert pod["containers"][0] == before["containers"][0]  # type: ignore[index]
    assert pod["containers"][1]["env"] == [  # type: ignore[index]
        {"name": "B", "value": "2"},
        {"name": CODECARBON_DIR, "value": str(folder)},
    ]
    assert folder.parent == tmp_path / "energy"
    assert folder.is_dir() and list(folder.iterdir()) == []
    other = meter.begin("t-0002", 1, _pod(), 1)["containers"][1]["env"][1]["value"]
    assert other != str(folder), "attempts that run together never share a folder"


def test_a_folder_is_emptied_for_the_next_attempt_and_made_once(tmp_path: Path) -> None:
    (tmp_path / "energy" / "0").mkdir(parents=True)
    (tmp_path / "energy" / "0" / "emissions.csv").write_text("a killed run's")
    meter = EnergyMeter(tmp_path / "energy", powercap=tmp_path / "no-powercap")
    folders = set()
    for number in range(3):  # one attempt at a time: one folder
        pod = meter.begin(f"t-000{number}", 1, _pod(), 1)
        folder = Path(pod["containers"][1]["env"][1]["value"])  # type: ignore[index]
        assert list(folder.iterdir()) == [], "emptied before the attempt"
        (folder / "emissions.csv").write_text("energy_consumed\n0.5\n")
        (folder / "nested").mkdir()
        kwh, detail = meter.end(f"t-000{number}", 1.0)
        assert kwh == 0.5 and "CodeCarbon" in detail
        folders.add(folder)
    assert len(folders) == 1 and list(next(iter(folders)).iterdir()) == []
    meter.begin("t-0009", 1, _pod(), 1)
    meter.release("t-0009")  # an attempt that never started hands its folder on too
    assert meter.begin("t-0010", 1, _pod(), 1)["containers"][1]["env"][1]["value"] == str(
        next(iter(folders))
    )


def test_a_template_that_sets_the_folder_keeps_it(tmp_path: Path) -> None:
    meter = EnergyMeter(tmp_path / "energy", powercap=tmp_path / "no-powercap")
    given = _pod()
    given["containers"][1]["env"].append({"name": CODECARBON_DIR, "value": "/mine"})  # type: ignore[index]
    assert meter.begin("t-0002", 1, given, 1) is given


def test_a_machine_without_rapl_is_looked_at_once_and_one_with_it_per_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []

    def counted(root: Path, stat: Path) -> CpuEnergySnapshot:
        reads.append(root)
        return snapshot(root, stat)

    monkeypatch.setattr(energy, "snapshot", counted)
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    without = EnergyMeter(tmp_path / "energy", powercap=tmp_path / "no-powercap", stat=stat)
    for number in range(3):
        without.begin(f"t-000{number}", 1, _pod(), 1)
        kwh, detail = without.end(f"t-000{number}", 1.0)
        assert kwh is None and "no RAPL here" in detail
    assert len(reads) == 1

    reads.clear()
    zone = tmp_path / "powercap" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("1000000\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    meter = EnergyMeter(tmp_path / "energy2", powercap=tmp_path / "powercap", stat=stat)
    for number in range(3):
        meter.begin(f"t-000{number}", 1, _pod(), 1)
        meter.end(f"t-000{number}", 1.0)
    assert len(reads) == 6, "read before and after every attempt"
