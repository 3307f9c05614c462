"""The replica that started last acts: a restart never waits for its dead predecessor."""

from __future__ import annotations

import time

from tradeoff.kube.settings import settings_from


def test_a_later_start_has_the_higher_priority() -> None:
    before = settings_from(namespaces=["a"], env={})
    time.sleep(0.002)
    after = settings_from(namespaces=["a"], env={})
    assert before.peering == after.peering == "tradeoff"
    assert after.priority > before.priority
    assert abs(after.priority - time.time() * 1000) < 60_000  # milliseconds since the epoch


def test_a_given_priority_wins() -> None:
    assert settings_from(namespaces=["a"], priority=5, env={}).priority == 5
