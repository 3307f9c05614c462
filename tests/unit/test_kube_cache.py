"""The operator's in-memory views: kopf index entries, recent writes, pods a driver awaits."""

from __future__ import annotations

import threading
from typing import Any

from tradeoff.kube.cache import Store, newer, trial_entry
from tradeoff.kube.pods import owner_reference
from tradeoff.kube.podwatch import UNSEEN, PodWatch


def trial_obj(number: int, rv: str, state: str = "Running", uid: str = "s-uid") -> dict[str, Any]:
    name = f"demo-{number:04d}"
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Trial",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"t-{number}",
            "resourceVersion": rv,
            "labels": {"tradeoff.dev/study": "demo"},
            "annotations": {"big": "x" * 1000},
            "ownerReferences": [owner_reference("Study", "demo", uid)],
        },
        "spec": {"study": "demo", "number": number, "parameters": {"x": 0.5}},
        "status": {"state": state, "attempts": 1},
    }


KEY = ("ns", "demo")


def test_a_trial_is_kept_by_study_parsed_and_without_its_annotations() -> None:
    entry = trial_entry(trial_obj(3, "10"))
    assert entry.record is not None and entry.record.number == 3
    assert entry.resource_version == "10" and entry.owned_by("s-uid")
    assert not entry.owned_by("other-uid")
    assert "annotations" not in entry.ref["metadata"]
    store = Store()
    store.trial({"metadata": {"name": "x", "labels": {}}})  # no study label: not kept
    store.trial(trial_obj(3, "10"))
    assert [e.name for e in store.trials(KEY)] == ["demo-0003"]


def test_a_trial_that_does_not_parse_is_kept_without_a_record() -> None:
    bad = trial_obj(1, "5")
    bad["spec"]["number"] = "not a number"
    entry = trial_entry(bad)
    assert entry.record is None and entry.owned_by("s-uid")


def test_the_newer_resource_version_wins_whatever_comes_first() -> None:
    store = Store()
    store.trial(trial_obj(1, "11", state="Succeeded"))  # the API's answer to a write
    store.trial(trial_obj(1, "10"))  # the watch's older event, late
    (entry,) = store.trials(KEY)
    assert entry.record is not None and entry.record.state == "Succeeded"
    store.trial(trial_obj(1, "12", state="Failed"))
    assert store.trials(KEY)[0].resource_version == "12"
    assert newer("12", "9") and not newer("9", "12") and newer("b", "a")


def test_a_deleted_trial_is_not_brought_back_by_an_older_event() -> None:
    store = Store()
    store.trial(trial_obj(1, "10"))
    store.trial(trial_obj(2, "10"))
    store.trial(trial_obj(1, "11"), deleted=True)
    store.trial(trial_obj(1, "10"))  # a listing's older copy, late
    assert [e.name for e in store.trials(KEY)] == ["demo-0002"]
    store.forget(KEY)
    assert store.trials(KEY) == []


def test_a_pass_waits_until_trials_and_pods_are_listed() -> None:
    """The informers' first listings complete (`listed`) before any pass reads the store;
    a cluster-wide listing serves every namespace."""
    store = Store()
    assert not store.wait_listed("ns", 0.01)
    store.listed("trials", "ns")
    assert not store.wait_listed("ns", 0.01)  # the pods not yet
    threading.Timer(0.05, store.listed, ("pods", "ns")).start()
    assert store.wait_listed("ns", 5.0)
    assert not store.wait_listed("other", 0.01)
    store.listed("trials", None)
    store.listed("pods", None)
    assert store.wait_listed("other", 0.01)


def pod(phase: str, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": "demo-0001-a2",
        "namespace": "ns",
        "labels": {"tradeoff.dev/study": "demo", "tradeoff.dev/attempt": "2"},
        "ownerReferences": [owner_reference("Trial", "demo-0001", "t-1")],
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase}}


def test_only_running_pods_are_kept() -> None:
    store = Store()
    store.pod(pod("Running"))
    (entry,) = store.active_pods(KEY)
    assert (entry.name, entry.owner_uid, entry.attempt) == ("demo-0001-a2", "t-1", 2)
    store.pod(pod("Succeeded"))
    assert store.active_pods(KEY) == []
    store.pod(pod("Running"))
    store.pod(pod("Running", deleting=True))
    assert store.active_pods(KEY) == []
    store.pod(pod("Running"))
    store.pod(pod("Running"), deleted=True)
    assert store.active_pods(KEY) == []


def test_a_study_is_kept_as_a_plain_copy() -> None:
    store = Store()
    body = {"metadata": {"name": "demo", "namespace": "ns"}, "status": {"state": "Running"}}
    store.study(body)
    body["status"]["state"] = "Succeeded"
    kept = store.study_obj(KEY)
    assert kept is not None and kept["status"]["state"] == "Running"
    store.study(body, deleted=True)
    assert store.study_obj(KEY) is None


def test_a_driver_is_woken_by_its_pods_events_only() -> None:
    watch = PodWatch()
    watch.seen("ns", "p", {"status": {"phase": "Running"}})  # nobody waits: not kept
    assert watch.latest("ns", "p") is UNSEEN
    watch.expect("ns", "p")
    assert watch.latest("ns", "p") is UNSEEN
    assert watch.wait("ns", "p", 0.01) is False
    threading.Timer(0.05, watch.seen, ("ns", "p", {"status": {"phase": "Succeeded"}})).start()
    assert watch.wait("ns", "p", 5.0) is True
    assert watch.latest("ns", "p") == {"status": {"phase": "Succeeded"}}
    watch.seen("ns", "p", None)  # deleted
    assert watch.latest("ns", "p") is None
    watch.drop("ns", "p")
    assert not watch.expected("ns", "p")
