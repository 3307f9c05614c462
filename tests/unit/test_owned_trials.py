"""A Study's view of its Trials kept in step with the watch store (`kube.owned`): after
any sequence of events and deletions, it reads exactly what a fresh split and sort of
every entry reads."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeoff.kube.cache import Store, study_records
from tradeoff.kube.owned import OwnedTrials, fresh, is_open
from tradeoff.kube.pods import owner_reference

KEY = ("ns", "demo")
STATES = [("Running", None), ("Pending", None), ("Succeeded", None), ("Pending", "Cancelled")]


def trial_obj(
    key: int,
    number: int,
    rv: int,
    owner: str,
    state: int,
    parses: bool,
    width: int | None = None,
    ensemble: bool = False,
) -> dict[str, Any]:
    phase, reason = STATES[state]
    status: dict[str, Any] = {"state": phase, "attempts": 1}
    if reason:
        status["reason"] = reason
    if width is not None:
        status["values"] = [0.5] * width
    obj = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Trial",
        "metadata": {
            # Named as its number says (a Trial named otherwise is no record: `cache`).
            "name": f"demo-{number if parses else key:04d}",
            "namespace": "ns",
            "uid": f"t-{key}",
            "resourceVersion": str(rv),
            "labels": {"tradeoff.dev/study": "demo"},
            "ownerReferences": [owner_reference("Study", "demo", owner)],
        },
        "spec": {"study": "demo", "number": number if parses else "x", "parameters": {}},
        "status": status,
    }
    if ensemble:  # named as the one Ensemble trial is, whatever its number
        obj["metadata"]["name"] = "demo-ensemble"
        obj["spec"]["kind"] = "Ensemble"
    return obj


trial_args = st.tuples(
    st.integers(0, 5),  # which Trial (its uid)
    st.integers(0, 5),  # its number: may repeat, change or go out of order
    st.sampled_from(["s-uid", "s-uid", "s-uid", "other"]),
    st.integers(0, len(STATES) - 1),
    st.sampled_from([True, True, True, False]),  # parses
    st.sampled_from([None, 2, 2, 2, 1, 3]),  # objective values held (the study has 2)
    st.sampled_from([False, False, False, True]),  # the Ensemble trial
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("event"), trial_args),
        st.tuples(st.just("event"), trial_args),
        st.tuples(st.just("read"), st.just("s-uid")),
        st.tuples(st.just("delete"), st.integers(0, 5)),
        st.tuples(st.just("read"), st.sampled_from(["s-uid", "s-uid", "s-uid2"])),
    ),
    min_size=4,
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(steps)
def test_the_kept_view_reads_what_a_fresh_one_reads(script: list[tuple[str, Any]]) -> None:
    store, owned, rv = Store(), OwnedTrials(), 1
    for op, arg in [*script, ("read", "s-uid")]:
        rv += 1
        if op == "event":
            store.trial(trial_obj(*arg[:1], arg[1], rv, *arg[2:]))
        elif op == "delete":
            store.trial(trial_obj(arg, 0, rv, "s-uid", 0, True), deleted=True)
        else:
            entries = store.trials(KEY)
            owned.follow(entries, arg)
            records, foreign = fresh(entries, arg)
            assert [id(r) for r in owned.records] == [id(r) for r in records]
            assert owned.foreign == foreign
            assert owned.open_records() == [r for r in records if is_open(r)]
            admitted = [id(r) for r in study_records(records, 2)]
            assert [id(r) for r in owned.admitted(2)] == admitted
            for entry in entries:
                mine = entry.owned_by(arg) and entry.record is not None
                assert owned.record(entry.uid) is (entry.record if mine else None)


def test_a_read_with_nothing_changed_touches_no_entry() -> None:
    store, owned = Store(), OwnedTrials()
    for k in range(5):
        store.trial(trial_obj(k, k, 10 + k, "s-uid", 0, True))
    owned.follow(store.trials(KEY), "s-uid")
    before = list(owned.records)
    store.trial(trial_obj(2, 2, 20, "s-uid", 2, True))  # trial 2 succeeded: a new entry
    owned.follow(store.trials(KEY), "s-uid")
    assert [r.state for r in owned.records] == ["Running"] * 2 + ["Succeeded"] + ["Running"] * 2
    assert [r is b for r, b in zip(owned.records, before, strict=True)] == [
        True, True, False, True, True,
    ]  # fmt: skip
    assert [r.number for r in owned.open_records()] == [0, 1, 3, 4]


def test_a_trial_that_changes_number_hands_or_parse_is_read_afresh() -> None:
    store, owned = Store(), OwnedTrials()
    for k in range(3):
        store.trial(trial_obj(k, k, 10 + k, "s-uid", 0, True))
    owned.follow(store.trials(KEY), "s-uid")
    changes = [
        trial_obj(0, 9, 20, "s-uid", 0, True),  # its number now after the others'
        trial_obj(1, 1, 21, "other", 0, True),  # no longer the Study's
        trial_obj(2, 2, 22, "s-uid", 0, False),  # no longer parses
        trial_obj(1, 1, 23, "s-uid", 0, True),  # the Study's again
        trial_obj(2, 2, 24, "s-uid", 3, True),  # parses again, cancelled
    ]
    for change in changes:
        store.trial(change)
        entries = store.trials(KEY)
        owned.follow(entries, "s-uid")
        records, foreign = fresh(entries, "s-uid")
        assert owned.records == records and owned.foreign == foreign
        assert owned.open_records() == [r for r in records if is_open(r)]
    assert [r.number for r in owned.records] == [1, 2, 9]
    assert [r.number for r in owned.open_records()] == [1, 9]
