"""The informers: whatever the order of list pages, watch events, cuts and 410s, the store
ends as a listing of the final state would build it, and passes wait for the listing."""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeoff.kube.cache import Store
from tradeoff.kube.feeds import PEERING_LOGGER, PeeringGate, deleted_body, tombstone
from tradeoff.kube.informer import Gone, Informer, Page
from tradeoff.kube.pods import owner_reference

Obj = dict[str, Any]
KEY = ("ns", "demo")
STUDY_UID = "s-uid"


def trial(number: int, uid: str, state: str) -> Obj:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Trial",
        "metadata": {
            "name": f"demo-{number:04d}",
            "namespace": "ns",
            "uid": uid,
            "labels": {"tradeoff.dev/study": "demo"},
            "ownerReferences": [owner_reference("Study", "demo", STUDY_UID)],
        },
        "spec": {"study": "demo", "number": number, "parameters": {"x": 0.5}},
        "status": {"state": state, "attempts": 1},
    }


class FakeApi:
    """TEST DOUBLE of the API server for one resource: objects, a global resourceVersion,
    the event history (compactable: older watches get 410), paged consistent listings."""

    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.rv = 1
        self.history: list[tuple[int, str, Obj]] = []
        self.compacted = 0
        self.uids = 0

    def write(self, number: int, state: str | None) -> None:
        """Create or update trial `number` (`state`), or delete it (None)."""
        name = f"demo-{number:04d}"
        self.rv += 1
        if state is None:
            if name not in self.objects:
                return
            gone = self.objects.pop(name)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.history.append((self.rv, "DELETED", gone))
            return
        if name in self.objects:
            obj, kind = copy.deepcopy(self.objects[name]), "MODIFIED"
            obj["status"]["state"] = state
        else:
            self.uids += 1
            obj, kind = trial(number, f"u{self.uids}", state), "ADDED"
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[name] = obj
        self.history.append((self.rv, kind, copy.deepcopy(obj)))

    def compact(self) -> None:
        self.compacted = self.rv


class FakeSource:
    """TEST DOUBLE of `listwatch.KubeSource` over a `FakeApi`: pages of `size`, watches cut
    (a ConnectionError) after the events the test says, 410 Gone as the server gives it."""

    def __init__(self, api: FakeApi, size: int) -> None:
        self.api, self.size = api, size
        self.snapshots: dict[str, tuple[int, list[Obj]]] = {}
        self.cuts: list[int] = []

    def page(self, token: str | None) -> Page:
        if token is None:
            token = str(len(self.snapshots))
            listed = [copy.deepcopy(o) for _, o in sorted(self.api.objects.items())]
            self.snapshots[token] = (self.api.rv, listed)
        version, items = self.snapshots[token]
        if version < self.api.compacted:  # the token expired with the history
            raise Gone("continue token expired")
        start = int(token.split(":")[1]) if ":" in token else 0
        base = token.split(":")[0]
        rest = items[start + self.size :]
        following = f"{base}:{start + self.size}" if rest else None
        if following:
            self.snapshots[following] = (version, items)
        return Page(items[start : start + self.size], str(version), following)

    def watch(self, version: str) -> Iterator[tuple[str, Obj]]:
        if int(version) < self.api.compacted:
            raise Gone("too old")
        cut = self.cuts.pop(0) if self.cuts else None
        sent = 0
        for rv, kind, obj in list(self.api.history):
            if rv <= int(version):
                continue
            if cut is not None and sent >= cut:
                break
            sent += 1
            yield kind, copy.deepcopy(obj)
        if cut is not None:
            raise ConnectionError("cut")
        yield "BOOKMARK", {"metadata": {"resourceVersion": str(self.api.rv)}}

    def close(self) -> None:
        pass


def fed_store(source: FakeSource) -> tuple[Store, Informer]:
    store = Store()

    def handler(kind: str | None, obj: Obj) -> None:
        store.trial(obj, deleted=kind == "DELETED")

    informer = Informer(
        "Trials", source, handler, (tombstone, deleted_body), lambda: store.listed("trials", "ns")
    )
    return store, informer


def seen(store: Store) -> set[tuple[str, str, str, str | None]]:
    return {
        (e.name, e.uid, e.resource_version, e.record.state if e.record else None)
        for e in store.trials(KEY)
    }


ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"),
            st.integers(0, 5),
            st.sampled_from(["Running", "Succeeded", "Failed", None]),
        ),
        st.tuples(st.just("step")),
        st.tuples(st.just("cut"), st.integers(0, 3)),
        st.tuples(st.just("compact")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ACTIONS, st.integers(1, 4))
def test_the_store_ends_as_the_final_state_lists_whatever_the_interleaving(
    actions: list[tuple[Any, ...]], page_size: int
) -> None:
    api = FakeApi()
    source = FakeSource(api, page_size)
    store, informer = fed_store(source)
    for action in actions:
        if action[0] == "write":
            api.write(action[1], action[2])
        elif action[0] == "step":
            with contextlib.suppress(ConnectionError):  # cut: the thread backs off, then
                informer.step()  # watches again from its last version
        elif action[0] == "cut":
            source.cuts.append(action[1])
        else:
            api.compact()
    source.cuts.clear()
    for _ in range(3 * (len(api.objects) // page_size + 3)):  # no more faults: catch up
        informer.step()
        if informer.version == str(api.rv):
            break
    assert informer.version == str(api.rv)
    fresh, fresh_informer = fed_store(FakeSource(api, 100))
    fresh_informer.step()
    assert seen(store) == seen(fresh)
    assert store.wait_listed("ns", 0) is False  # the pods' informer has not listed


def test_a_relisting_reports_what_was_deleted_while_the_watch_was_down() -> None:
    api = FakeApi()
    for number in range(3):
        api.write(number, "Running")
    source = FakeSource(api, 2)
    events: list[tuple[str | None, str]] = []
    informer = Informer(
        "Trials",
        source,
        lambda k, o: events.append((k, o["metadata"]["name"])),
        (tombstone, deleted_body),
    )
    informer.step()
    informer.step()  # two pages: listed
    assert informer.version == str(api.rv) and len(events) == 3
    api.write(1, None)  # deleted, then the history is compacted: the watch gets 410
    api.compact()
    events.clear()
    informer.step()  # 410: a listing is due
    informer.step()
    assert ("DELETED", "demo-0001") in events
    assert [k for k, _ in events].count(None) == 2


def test_a_paused_informer_lists_again_when_it_resumes() -> None:
    api = FakeApi()
    api.write(0, "Running")
    source = FakeSource(api, 10)
    store, informer = fed_store(source)
    informer.step()
    informer.pause()
    api.write(0, None)
    api.write(1, "Running")
    informer.resume()
    informer.step()  # the new listing
    assert {e.name for e in store.trials(KEY)} == {"demo-0001"}


def test_the_thread_backs_off_after_errors_and_stops() -> None:
    api = FakeApi()
    api.write(0, "Running")
    source = FakeSource(api, 10)
    slept: list[float] = []
    done = threading.Event()
    store, informer = fed_store(source)

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            informer.stop()
            done.set()

    informer._sleep = sleep  # the backoff, recorded instead of slept
    source.cuts.extend([0, 0, 0])
    informer.step()  # listed
    informer.run()  # three cut watches, then stopped
    assert done.is_set() and slept == [0.2, 0.5, 1.0]
    assert store.wait_listed("ns", 0) is False and [e.name for e in store.trials(KEY)] == [
        "demo-0000"
    ]


def test_the_informers_pause_and_resume_with_kopfs_peering() -> None:
    """kopf starts paused when peering is on and pauses its own watches for a replica of
    higher priority, saying so in its log only when it was not paused already; the
    informers and the drivers start paused with it (so a standby replica drives no
    trial), and the informers list everything when it resumes."""
    api = FakeApi()
    api.write(0, "Running")
    _, informer = fed_store(FakeSource(api, 10))
    drivers = RecordedDrivers()
    informer.pause()  # as `feeds.start` does with peering, without the threads
    gate = PeeringGate([informer], drivers, paused=True)  # type: ignore[arg-type]
    peering = logging.getLogger(PEERING_LOGGER)
    peering.setLevel(logging.INFO)
    peering.addFilter(gate)
    try:
        assert not informer._active.is_set()
        peering.info("Resuming operations after the pause. Conflicting operators ...")
        assert not gate.paused and informer._active.is_set() and informer._listing
        assert drivers.calls == ["resume"]
        informer.step()  # listed
        peering.info("Pausing operations in favour of [Peer(...)].")
        assert gate.paused and not informer._active.is_set()
        peering.info("Pausing all operators, including self: [...]")  # already paused
        assert drivers.calls == ["resume", "pause"]
        peering.info("Resuming operations after the pause.")
        assert not gate.paused and informer._active.is_set()
        assert informer._listing  # a new listing is due
        assert drivers.calls == ["resume", "pause", "resume"]
    finally:
        peering.removeFilter(gate)


class RecordedDrivers:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")
