"""The operator begins its Trials and pods listings before kopf starts only when it runs
standalone: with peering nothing is read until kopf's peering says this replica acts."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from tradeoff.kube import command, credentials, listwatch, run


def parsed(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(["--namespace", "ns", *flags])


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """TEST DOUBLES of the credentials, the head start and the operator's run: what
    `command.main` hands the operator is recorded, nothing reaches an API."""
    seen: dict[str, Any] = {"head_starts": 0}

    def head_start(kube: Any, settings: Any) -> listwatch.Sources:
        seen["head_starts"] += 1
        return {("trials", "ns"): listwatch.trial_source(kube, "ns")}

    async def run_operator(settings: Any, api_client: Any, begun: Any = None) -> None:
        seen["begun"] = begun

    monkeypatch.setattr(credentials, "load_credentials", lambda: object())
    monkeypatch.setattr(listwatch, "head_start", head_start)
    monkeypatch.setattr(run, "run_operator", run_operator)
    return seen


def test_standalone_the_listings_begin_before_kopf(recorded: dict[str, Any]) -> None:
    assert command.main(parsed("--standalone")) == command.EXIT_OK
    assert recorded["head_starts"] == 1
    assert list(recorded["begun"]) == [("trials", "ns")]


def test_with_peering_nothing_is_listed_before_kopf(recorded: dict[str, Any]) -> None:
    assert command.main(parsed("--peering", "tradeoff")) == command.EXIT_OK
    assert recorded["head_starts"] == 0
    assert recorded["begun"] is None
