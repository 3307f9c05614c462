"""Failed handlers are retried within seconds, with backoff; finished Studies rest."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from tradeoff.api.trial import STUDY_LABEL
from tradeoff.kube import handlers
from tradeoff.kube.context import Context
from tradeoff.kube.listwatch import pod_source
from tradeoff.kube.settings import Settings


class FailingKube:
    """Every call answers like a busy or broken API server."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status, self.headers, self.calls = status, headers, 0

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            error = ApiException(status=self.status, reason="injected")
            error.headers = self.headers
            raise error

        return fail


def registered(kube: Any) -> tuple[Context, dict[str, Any]]:
    ctx = Context(kube=kube, settings=Settings(reconcile_interval=10.0))
    registry = kopf.OperatorRegistry()
    handlers.register(registry, ctx, peering=False)
    found = {h.id: h for h in registry._spawning.get_all_handlers()}
    found |= {h.id: h for h in registry._changing.get_all_handlers()}
    return ctx, found


def test_the_delay_doubles_from_half_a_second_to_thirty() -> None:
    assert [handlers.retry_delay(r) for r in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert handlers.retry_delay(10_000) == 30


def test_the_server_may_ask_for_longer_but_not_forever() -> None:
    busy = ApiException(status=429)
    busy.headers = {"Retry-After": "3"}
    assert handlers.retry_delay(0, busy) == 3
    assert handlers.retry_delay(4, busy) == 8  # the backoff is longer by then
    busy.headers = {"Retry-After": "86400"}
    assert handlers.retry_delay(0, busy) == 30
    busy.headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}  # not seconds: ignored
    assert handlers.retry_delay(0, busy) == 0.5


@pytest.mark.parametrize("hid", ["study-resumed", "study-created", "study-spec/spec"])
def test_a_failed_study_handler_is_retried_in_half_a_second(hid: str) -> None:
    kube = FailingKube(500)
    ctx, found = registered(kube)
    with pytest.raises(kopf.TemporaryError) as raised:
        found[hid].fn(namespace="ns", name="s", retry=0)
    assert raised.value.delay == 0.5  # not kopf's default of 60 s
    assert kube.calls == 1 and ctx.wanted(("ns", "s"))
    with pytest.raises(kopf.TemporaryError) as raised:
        found[hid].fn(namespace="ns", name="s", retry=3)
    assert raised.value.delay == 4


def test_the_timer_retries_a_failed_pass_and_obeys_retry_after() -> None:
    kube = FailingKube(429, {"Retry-After": "2"})
    ctx, found = registered(kube)
    assert not ctx.wanted(("ns", "s"))
    timer = found["study-timer"]
    assert timer.interval == handlers.TIMER_TICK and timer.backoff is None
    with pytest.raises(kopf.TemporaryError) as raised:
        timer.fn(namespace="ns", name="s", retry=0)
    assert raised.value.delay == 2 and ctx.wanted(("ns", "s"))
    with pytest.raises(kopf.TemporaryError):  # still owed: the next tick passes again
        timer.fn(namespace="ns", name="s", retry=0)
    assert kube.calls == 2


def test_the_timer_passes_only_when_a_pass_is_due(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, found = registered(None)
    passes: list[str] = []
    monkeypatch.setattr(handlers, "reconcile_study", lambda ctx, ns, name: passes.append(name))
    timer = found["study-timer"].fn
    timer(namespace="ns", name="s", retry=0)  # never passed: due
    ctx.passing(("ns", "s"))
    timer(namespace="ns", name="s", retry=0)  # passed a moment ago, nothing asked
    assert passes == ["s"]
    ctx.want(("ns", "s"))  # a request a failed pass left
    timer(namespace="ns", name="s", retry=0)
    timer(namespace="ns", name="t", retry=1)  # the timer's own retry always passes
    assert passes == ["s", "s", "t"]


@pytest.mark.parametrize(
    ("status", "generation", "open_"),
    [
        ({}, 1, True),
        ({"state": "Pending", "observedGeneration": 1}, 1, True),
        ({"state": "Running", "observedGeneration": 1}, 1, True),
        ({"state": "Succeeded", "observedGeneration": 1}, 1, False),
        ({"state": "Failed", "observedGeneration": 3}, 3, False),  # invalid, or out of budget
        ({"state": "Succeeded", "observedGeneration": 1}, 2, True),  # the spec was edited
        ({"state": "Failed", "observedGeneration": 2}, 3, True),
    ],
)
def test_finished_and_invalid_studies_rest_until_their_spec_changes(
    status: dict[str, Any], generation: int, open_: bool
) -> None:
    _, found = registered(None)
    when = found["study-timer"].when
    assert when(status=status, meta={"generation": generation}, spec={}) is open_


def test_workloads_are_watched_by_the_api_servers_label_selector() -> None:
    """Workloads without the study and trial labels (the namespace's other work) never
    reach kopf, and kopf lists what it watches a page at a time. Trials and pods are not
    kopf's: the operator's informers read them, pods by the study label too."""
    from kopf._cogs.structs.references import Resource

    kinds = {("batch/v1", "Job"): "jobs"}
    ctx = Context(kube=None, settings=Settings(workload_resources=kinds))  # type: ignore[arg-type]
    watching = handlers.operator_settings(ctx).watching
    assert watching.chunk_size == 500  # kopf's initial listings, a page at a time
    jobs = Resource("batch", "v1", "jobs", kind="Job", namespaced=True)
    assert watching.label_selectors.collect(jobs) == ["tradeoff.dev/study,tradeoff.dev/trial"]
    registry = kopf.OperatorRegistry()
    handlers.register(registry, ctx, peering=False).close()
    watched = {h.selector.any_name for h in registry._watching.get_all_handlers()}
    assert watched == {"studies", "jobs"}
    listed: list[dict[str, Any]] = []
    source = pod_source(ListingKube(listed), "ns", STUDY_LABEL)
    assert source.page(None).items == []
    assert listed == [{"namespace": "ns", "label_selector": STUDY_LABEL, "limit": 500}]


class ListingKube:
    """TEST DOUBLE of the API client's pod listing: records what it is asked, lists none."""

    def __init__(self, asked: list[dict[str, Any]]) -> None:
        self.core = self
        self.asked = asked

    def list_namespaced_pod(self, namespace: str, **kwargs: Any) -> Any:
        picked = {k: v for k, v in kwargs.items() if k in ("label_selector", "limit", "_continue")}
        self.asked.append({"namespace": namespace, **{k: v for k, v in picked.items() if v}})
        return RawAnswer(b'{"items": [], "metadata": {"resourceVersion": "7"}}')


class RawAnswer:
    """TEST DOUBLE of a raw (undecoded) urllib3 answer."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def release_conn(self) -> None:
        pass
