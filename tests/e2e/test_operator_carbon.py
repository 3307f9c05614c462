"""The operator prices each trial with the grid intensity a carbon-intensity service
reported over the trial's run (a loopback server in the services' documented shapes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from tests.carbon_api import CarbonApi
from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, study_manifest, trials, wait_study


def seconds_trace(zone: str, moment: datetime) -> float:
    """Changes every second, so a 2-second trial sees several values."""
    return (100.0 if zone == "SE" else 900.0) + 20.0 * (moment.second % 10)


@pytest.mark.parametrize("provider", ["electricitymaps", "carbon-aware-sdk"])
def test_trials_are_priced_with_the_intensity_over_their_run(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path, provider: str
) -> None:
    with CarbonApi(seconds_trace, step=1.0) as api:
        economics = tmp_path / "economics.json"
        intensity = {"provider": provider, "url": api.url, "zones": {"eu-north-1": "SE"}}
        economics.write_text(json.dumps({"intensity": intensity}))
        operator("--economics-config", str(economics), env={"TRADEOFF_INTENSITY_TOKEN": "t0ken"})
        manifest = study_manifest("carbon", env={"SLEEP": "2.5"}, budget={"maxTrials": 2})
        assert apply(cluster, manifest).returncode == 0
        done = wait_study(cluster, "carbon", timeout=90)
    assert done["status"]["state"] == "Succeeded", done["status"]
    for trial in trials(cluster, "carbon"):
        econ = trial["status"]["economics"]
        assert econ["sources"]["intensity"]["source"] == "measured", econ["sources"]
        assert "zone SE" in econ["sources"]["intensity"]["detail"]
        points = econ["intensitySamples"]
        assert len(points) >= 2, points  # the intensity changed during the run
        for point in points:  # each point is what the service said at that second
            moment = datetime.fromisoformat(point["time"].replace("Z", "+00:00"))
            assert point["gramsPerKWh"] == seconds_trace("SE", moment)
        # one-second points over a whole-second window: the mean is their plain mean
        mean = sum(p["gramsPerKWh"] for p in points) / len(points)
        assert econ["gramsPerKWh"] == pytest.approx(mean)
        assert econ["carbonGrams"] == pytest.approx(econ["energyKWh"] * econ["gramsPerKWh"])
    asked = {query.get("zone") or query.get("location") for _, query in api.requests}
    assert asked == {"SE"}


def test_an_unreachable_service_falls_back_with_the_reason(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    with CarbonApi(seconds_trace, step=1.0) as api:
        api.fail_status = 503
        economics = tmp_path / "economics.json"
        intensity = {"provider": "carbon-aware-sdk", "url": api.url}
        economics.write_text(json.dumps({"intensity": intensity, "regions": {"eu-north-1": 7}}))
        operator("--economics-config", str(economics))
        assert apply(cluster, study_manifest("carbonless", budget={"maxTrials": 1})).returncode == 0
        done = wait_study(cluster, "carbonless", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    (trial,) = trials(cluster, "carbonless")
    econ = trial["status"]["economics"]
    assert econ["gramsPerKWh"] == 7
    assert econ["sources"]["intensity"]["source"] == "configured"
    assert "HTTP 503" in econ["sources"]["intensity"]["detail"]
    assert "intensitySamples" not in econ
