"""Concurrent requests to reconcile one Study coalesce into a few passes, none lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tradeoff.kube import studies
from tradeoff.kube.settings import Settings


def _context() -> studies.Context:
    return studies.Context(kube=None, settings=Settings())  # type: ignore[arg-type]


def test_simultaneous_requests_coalesce(monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[float] = []
    gate = threading.Event()

    def slow_pass(ctx: Any, namespace: str, name: str) -> None:
        passes.append(time.monotonic())
        gate.wait(5)

    monkeypatch.setattr(studies, "_reconcile_once", slow_pass)
    ctx = _context()
    first = threading.Thread(target=studies.reconcile_study, args=(ctx, "ns", "s"))
    first.start()
    while not passes:
        time.sleep(0.01)
    # Fifty trials end while the first pass runs: each asks for a pass and returns at once.
    others = [
        threading.Thread(target=studies.reconcile_study, args=(ctx, "ns", "s")) for _ in range(50)
    ]
    for t in others:
        t.start()
    for t in others:
        t.join(5)
        assert not t.is_alive()
    gate.set()
    first.join(5)
    # The first pass, then exactly one more for everything asked during it.
    assert len(passes) == 2


def test_a_request_during_the_last_pass_is_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context()
    calls = 0

    def pass_that_asks_again(ctx_: Any, namespace: str, name: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # a request arrives from another thread mid-pass
            t = threading.Thread(target=studies.reconcile_study, args=(ctx, "ns", "s"))
            t.start()
            t.join(5)

    monkeypatch.setattr(studies, "_reconcile_once", pass_that_asks_again)
    studies.reconcile_study(ctx, "ns", "s")
    assert calls == 2


def test_other_studies_do_not_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(studies, "_reconcile_once", lambda ctx, ns, name: seen.append(name))
    ctx = _context()
    studies.reconcile_study(ctx, "ns", "a")
    studies.reconcile_study(ctx, "ns", "b")
    assert seen == ["a", "b"]
