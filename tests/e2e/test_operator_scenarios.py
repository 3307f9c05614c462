"""The scenario table (tests/scenarios.py) through the operator: one Study per scenario,
all applied at once to one operator on the API emulator, asserted like local mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, condition, trials
from tests.scenarios import SCENARIOS, Scenario, check

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def problems_of(cluster: Cluster, scenario: Scenario) -> list[str]:
    found = cluster.get("studies", scenario.name, group="tradeoff.dev")
    status = (found or {}).get("status") or {}
    state = status.get("state", "")
    ended = condition(found or {}, state) or {}
    study = (state, ended.get("reason"), ended.get("message"))
    by_number = {t["spec"]["number"]: t.get("status") or {} for t in trials(cluster, scenario.name)}
    failed = (status.get("trials") or {}).get("failed", -1)
    return check(scenario, study, by_number, failed)


def test_every_scenario_ends_as_the_table_says_in_the_operator(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    operator()
    for scenario in SCENARIOS:
        markers = tmp_path / scenario.name
        markers.mkdir()
        result = apply(cluster, scenario.manifest(str(markers)))
        assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 120
    problems: dict[str, list[str]] = {}
    pending: list[Any] = list(SCENARIOS)
    while pending and time.monotonic() < deadline:
        problems = {s.name: problems_of(cluster, s) for s in pending}
        pending = [s for s in pending if problems[s.name]]
        time.sleep(0.5)
    shown = [p for s in pending for p in problems[s.name]]
    assert not pending, "\n".join(shown)
    time.sleep(2.5)  # a few reconciles later, nothing has changed its mind
    again = [p for s in SCENARIOS for p in problems_of(cluster, s)]
    assert not again, "\n".join(again)
