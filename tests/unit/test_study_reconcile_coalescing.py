"""Concurrent requests to reconcile one Study coalesce into a few passes, none lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tradeoff.kube import studies
from tradeoff.kube.context import Context
from tradeoff.kube.settings import Settings


def _context() -> Context:
    return Context(kube=None, settings=Settings())  # type: ignore[arg-type]


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


def test_a_pass_that_raises_leaves_every_request_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request made while a pass fails is served by the next pass, not dropped."""
    ctx = _context()
    key = ("ns", "s")
    calls = 0

    def failing_then_fine(ctx_: Any, namespace: str, name: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # another trial ends meanwhile: its request coalesces into this pass
            t = threading.Thread(target=studies.reconcile_study, args=(ctx, "ns", "s"))
            t.start()
            t.join(5)
            raise RuntimeError("500 from the API")

    monkeypatch.setattr(studies, "_reconcile_once", failing_then_fine)
    with pytest.raises(RuntimeError):
        studies.reconcile_study(ctx, *key)
    assert calls == 1
    assert ctx.wanted(key) and ctx.due(key, interval=3600.0)
    studies.reconcile_study(ctx, *key)  # the retry (the failed handler's, or the timer's)
    assert calls == 2 and not ctx.wanted(key)


def test_the_caller_alone_wanted_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even with no other request, a failed pass is still owed (the trial that asked for
    it has ended and will not ask again)."""
    ctx = _context()

    def failing(ctx_: Any, namespace: str, name: str) -> None:
        raise RuntimeError("connection refused")

    monkeypatch.setattr(studies, "_reconcile_once", failing)
    with pytest.raises(RuntimeError):
        studies.reconcile_study(ctx, "ns", "s")
    assert ctx.due(("ns", "s"), interval=3600.0)


def test_a_pass_is_due_after_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context()
    key = ("ns", "s")
    assert ctx.due(key, interval=10.0)  # never passed
    monkeypatch.setattr(studies, "_reconcile_once", lambda ctx, ns, name: None)
    studies.reconcile_study(ctx, *key)
    assert not ctx.due(key, interval=10.0)
    assert ctx.due(key, interval=0.0)
    ctx.want(key)
    assert ctx.due(key, interval=10.0)
