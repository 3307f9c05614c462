"""tradeoff.local.energy.EnergyMeter: the per-attempt CodeCarbon folder a trial's pod names."""

from __future__ import annotations

import copy
from pathlib import Path

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
    folder = tmp_path / "energy" / "t-0001.1"
    assert given == before
    assert pod["containers"][0] == before["containers"][0]  # type: ignore[index]
    assert pod["containers"][1]["env"] == [  # type: ignore[index]
        {"name": "B", "value": "2"},
        {"name": CODECARBON_DIR, "value": str(folder)},
    ]
    assert folder.is_dir() and list(folder.iterdir()) == []
    (folder / "emissions.csv").write_text("stale")
    meter.begin("t-0001", 1, given, 1)  # the same attempt again (a resumed run)
    assert list(folder.iterdir()) == []


def test_a_template_that_sets_the_folder_keeps_it(tmp_path: Path) -> None:
    meter = EnergyMeter(tmp_path / "energy", powercap=tmp_path / "no-powercap")
    given = _pod()
    given["containers"][1]["env"].append({"name": CODECARBON_DIR, "value": "/mine"})  # type: ignore[index]
    assert meter.begin("t-0002", 1, given, 1) is given
