"""Local mode: carbon-aware waits and the grid intensity over each trial's run, read from a
loopback server in Electricity Maps' documented shape."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.carbon_api import CarbonApi
from tests.cli import tradeoff
from tests.integration.test_local_run import _python_trial, _study
from tradeoff.economics import IntensitySettings
from tradeoff.local import FileStore, StudyRunner
from tradeoff.local.display import NullDisplay

TRIAL = "time.sleep(0.3)\nreport(accuracy=P['x'])\n"


class Grid:
    def __init__(self, level: float) -> None:
        self.level = level

    def __call__(self, zone: str, moment: datetime) -> float:
        return self.level


class Said(NullDisplay):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warn(self, message: str) -> None:
        self.lines.append(message)


def spec(max_delay: str) -> dict[str, Any]:
    return {
        "objectives": [{"name": "accuracy", "direction": "maximize"}],
        "parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}],
        "algorithm": {"name": "random", "seed": 3},
        "budget": {"maxTrials": 2, "parallelism": 2},
        "schedule": {"carbonAware": {"maxIntensity": 300, "maxDelay": max_delay}},
        "trialTemplate": _python_trial(TRIAL),
    }


def run(tmp_path: Path, api: CarbonApi, max_delay: str) -> tuple[Any, Said]:
    said = Said()
    settings = IntensitySettings(
        provider="electricitymaps", url=api.url, token="t0ken", zones={"eu-north-1": "SE"}
    )
    runner = StudyRunner(
        _study("green", spec(max_delay)),
        FileStore(tmp_path / "work"),
        region="eu-north-1",
        intensity=settings,
        carbon_poll=0.2,
        display=said,
        grace_seconds=1.0,
    )
    return runner.run(), said


def test_new_trials_wait_for_a_cleaner_grid(tmp_path: Path) -> None:
    grid = Grid(450.0)
    with CarbonApi(grid, step=1.0) as api:
        began = datetime.now(UTC)
        flip = threading.Timer(1.5, lambda: setattr(grid, "level", 120.0))
        flip.start()
        result, said = run(tmp_path, api, "1h")
        flip.join()
    assert result.state == "Succeeded"
    assert said.lines[0].startswith("CarbonDeferred: grid intensity in eu-north-1 450 g/kWh")
    assert said.lines[-1] == (
        "CarbonReleased: grid intensity in eu-north-1 120 g/kWh is within maxIntensity 300"
    )
    for record in result.records:
        assert record.status.start_time is not None
        assert (record.status.start_time - began).total_seconds() >= 1.4
        economics = record.status.economics
        assert economics is not None and economics.sources is not None
        assert economics.sources.intensity.source == "measured"
        assert economics.grams_per_kwh == pytest.approx(120.0)


def test_max_delay_bounds_the_local_wait(tmp_path: Path) -> None:
    with CarbonApi(Grid(450.0), step=1.0) as api:
        began = datetime.now(UTC)
        result, said = run(tmp_path, api, "1s")
    assert result.state == "Succeeded"
    assert any("started after waiting maxDelay 1s" in line for line in said.lines)
    for record in result.records:
        assert record.status.start_time is not None
        assert (record.status.start_time - began).total_seconds() >= 1.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "--intensity-config"),
        (json.dumps({"provider": "nope", "url": "http://x"}), "intensity.provider: must be"),
        (json.dumps({"url": "http://x"}), "intensity.provider: name the service"),
    ],
)
def test_a_bad_intensity_config_is_one_line_and_exit_2(
    tmp_path: Path, content: str, message: str
) -> None:
    manifest = tmp_path / "study.yaml"
    document = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "green"},
        "spec": spec("1h"),
    }
    manifest.write_text(json.dumps(document))
    config = tmp_path / "intensity.json"
    config.write_text(content)
    result = tradeoff("run", str(manifest), "--intensity-config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
