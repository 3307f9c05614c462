"""Local mode measures energy: a CodeCarbon emissions.csv the trial writes, RAPL where
readable (a fake sysfs the trial's run advances), else the estimate with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_local_run import _python_trial, _study
from tests.unit.test_energy_readers import CODECARBON_HEADER, codecarbon_row, zone
from tradeoff.local import FileStore, StudyRunner

WRITES_CODECARBON = (
    "folder = os.environ['CODECARBON_OUTPUT_DIR']\n"
    "with open(os.path.join(folder, 'emissions.csv'), 'w') as f:\n"
    f"    f.write({CODECARBON_HEADER!r} + {codecarbon_row(0.004, 0.001)!r})\n"
    "report(accuracy=P['x'])\n"
)
BURNS_RAPL = (
    "root = os.environ['FAKE_RAPL']\n"
    "path = os.path.join(root, 'intel-rapl:0', 'energy_uj')\n"
    "value = int(open(path).read())\n"
    "t = time.process_time()\n"
    "while time.process_time() - t < 0.3:\n"
    "    pass\n"
    "open(path, 'w').write(str(value + 50_000_000))\n"  # 50 J
    "report(accuracy=P['x'])\n"
)


def spec(code: str, **template: Any) -> dict[str, Any]:
    return {
        "objectives": [{"name": "accuracy", "direction": "maximize"}],
        "parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}],
        "algorithm": {"name": "random", "seed": 3},
        "budget": {"maxTrials": 2, "parallelism": 1},
        "trialTemplate": _python_trial(code, **template),
    }


def test_codecarbon_csv_is_read_as_measured(tmp_path: Path) -> None:
    study = _study("cc", spec(WRITES_CODECARBON))
    result = StudyRunner(study, FileStore(tmp_path / "w"), grace_seconds=1.0).run()
    assert result.state == "Succeeded"
    for record in result.records:
        economics = record.status.economics
        assert economics is not None and economics.sources is not None
        assert economics.sources.energy.source == "measured"
        assert economics.sources.energy.detail == (
            "CodeCarbon emissions.csv (1 run(s); its own carbon estimate 1 g)"
        )
        assert economics.energy_kwh == pytest.approx(0.004 * economics.pue)  # PUE on top
        assert economics.carbon_grams == pytest.approx(
            economics.energy_kwh * economics.grams_per_kwh
        )


def test_rapl_where_readable(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    zone(root, "intel-rapl:0", 1_000_000)
    code = BURNS_RAPL
    template_env = [{"name": "FAKE_RAPL", "value": str(root)}]
    document = spec(code)
    document["trialTemplate"]["pod"]["containers"][0]["env"] = template_env
    study = _study("rapl", document)
    result = StudyRunner(study, FileStore(tmp_path / "w"), grace_seconds=1.0, powercap=root).run()
    assert result.state == "Succeeded"
    for record in result.records:
        economics = record.status.economics
        assert economics is not None and economics.sources is not None
        assert economics.sources.energy.source == "measured", economics.sources.energy
        detail = economics.sources.energy.detail or ""
        assert detail.startswith("RAPL packages intel-rapl:0: 50.0 J over the run")
        share = float(detail.split(", ")[1].split("%")[0]) / 100
        assert 0 < share <= 1
        half_a_percent = 50 * 0.005 / 3.6e6 * economics.pue  # the detail rounds the share
        expected = 50 * share / 3.6e6 * economics.pue
        assert economics.energy_kwh == pytest.approx(expected, abs=half_a_percent)


def test_without_rapl_the_estimate_says_why(tmp_path: Path) -> None:
    study = _study("plain", spec("report(accuracy=P['x'])\n"))
    missing = tmp_path / "no-powercap"
    result = StudyRunner(
        study, FileStore(tmp_path / "w"), grace_seconds=1.0, powercap=missing
    ).run()
    economics = result.records[0].status.economics
    assert economics is not None and economics.sources is not None
    assert economics.sources.energy.source == "estimated"
    assert economics.sources.energy.detail == (
        f"power model from measured CPU time; RAPL: no {missing} (no RAPL here: a VM, or "
        "not Linux); no CodeCarbon emissions.csv"
    )
