"""Carbon-aware scheduling: the Study field and the engine's hold rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.test_api_models import problems, study
from tradeoff.api.schedule import CarbonAware
from tradeoff.engine.schedule import carbon_hold

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
RULE = CarbonAware(max_intensity=200, max_delay="2h")


def test_schedule_field_round_trips_and_validates() -> None:
    spec = study(schedule={"carbonAware": {"maxIntensity": 250, "maxDelay": "6h"}}).spec
    assert spec.schedule is not None and spec.schedule.carbon_aware is not None
    assert spec.schedule.carbon_aware.max_delay_seconds == 6 * 3600
    assert spec.schedule.wire() == {"carbonAware": {"maxIntensity": 250.0, "maxDelay": "6h"}}
    found = problems(schedule={"carbonAware": {"maxIntensity": 0, "maxDelay": "soon"}})
    joined = "\n".join(found)
    assert "spec.schedule.carbonAware.maxIntensity" in joined
    assert "spec.schedule.carbonAware.maxDelay" in joined
    assert "spec.schedule.carbonAware.maxDelay" in "\n".join(
        problems(schedule={"carbonAware": {"maxIntensity": 100}})
    )


@pytest.mark.parametrize(
    ("intensity", "waited", "hold", "words"),
    [
        (350.0, 0, True, "above maxIntensity 200; waiting for a cleaner grid until"),
        (350.0, 7199, True, "2026-06-01T14:00:00Z at the latest (maxDelay 2h)"),
        (350.0, 7200, False, "started after waiting maxDelay 2h"),
        (200.0, 0, False, "within maxIntensity 200"),
        (120.0, 3600, False, "120 g/kWh is within"),
        (None, 0, False, "not deferred: service down"),
    ],
)
def test_the_hold_rule(intensity: float | None, waited: int, hold: bool, words: str) -> None:
    now = T0 + timedelta(seconds=waited)
    decision = carbon_hold(
        RULE, intensity, T0, now, region="eu-north-1", unknown="service down", poll=60
    )
    assert decision.hold is hold
    assert words in decision.message
    if hold:
        assert decision.recheck == min(60, 7200 - waited)
        assert "in eu-north-1" in decision.message


def test_no_rule_never_holds() -> None:
    assert not carbon_hold(None, 9999.0, T0, T0).hold
