"""Patches copy only what they change: the target stays as it was, the result is the
same as patching a full copy, and the store's objects never change under a reader."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.cluster.jsondata import clone, decode, encode
from tests.cluster.patch import JSON_PATCH, MERGE, json_patch, merge_patch, strategic_merge_patch
from tests.cluster.store import Store

KEYS = st.sampled_from(["a", "b", "c", "name", "spec", "status"])
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
OBJECTS = st.dictionaries(KEYS, DOCS, max_size=4)


def reference_merge(target: Any, patch: Any) -> Any:
    """RFC 7386 on a full copy of the target (what the emulator did before)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = reference_merge(result.get(key), value)
    return result


@settings(max_examples=300, deadline=None)
@given(OBJECTS, OBJECTS)
def test_a_merge_patch_equals_patching_a_copy_and_leaves_the_target_alone(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    before = copy.deepcopy(target)
    patched = merge_patch(target, patch)
    assert patched == reference_merge(before, patch)
    assert target == before


@settings(max_examples=200, deadline=None)
@given(OBJECTS, OBJECTS)
@example({"b": []}, {"a": None, "b": [{"name": []}]})  # a name that is no merge key
def test_a_strategic_merge_patch_leaves_the_target_alone(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    before = copy.deepcopy(target)
    strategic_merge_patch(target, patch)
    assert target == before


def test_a_patch_shares_nothing_it_was_given() -> None:
    """Values taken from the patch are copies: changing the patch later changes nothing."""
    patch = {"spec": {"items": [{"x": 1}]}}
    patched = merge_patch({"spec": {"keep": {"y": 2}}}, patch)
    patch["spec"]["items"][0]["x"] = 99
    assert patched == {"spec": {"keep": {"y": 2}, "items": [{"x": 1}]}}


def test_json_patch_operations_change_only_the_result() -> None:
    target = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {"list": [{"v": 1}, {"v": 2}], "deep": {"x": {"y": 1}}},
        "status": {"phase": "Running"},
    }
    before = copy.deepcopy(target)
    operations = [
        {"op": "add", "path": "/status", "value": {"phase": "Succeeded"}},
        {"op": "replace", "path": "/spec/list/0/v", "value": 10},
        {"op": "remove", "path": "/spec/list/1"},
        {"op": "add", "path": "/spec/list/-", "value": {"v": 3}},
        {"op": "move", "from": "/spec/deep/x", "path": "/spec/moved"},
        {"op": "add", "path": "/spec/moved/z", "value": 2},
        {"op": "copy", "from": "/metadata/labels", "path": "/spec/labels"},
        {"op": "add", "path": "/spec/labels/b", "value": "2"},
        {"op": "test", "path": "/status/phase", "value": "Succeeded"},
    ]
    patched = json_patch(target, operations)
    assert target == before
    assert patched == {
        "metadata": {"labels": {"a": "1"}},
        "spec": {
            "list": [{"v": 10}, {"v": 3}],
            "deep": {},
            "moved": {"y": 1, "z": 2},
            "labels": {"a": "1", "b": "2"},
        },
        "status": {"phase": "Succeeded"},
    }


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_clone_is_a_deep_copy_and_the_codec_round_trips(doc: Any) -> None:
    copied = clone(doc)
    assert copied == doc
    assert encode(doc) == json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    assert decode(encode(doc)) == doc
    if isinstance(doc, dict | list) and doc:
        copied_text = json.dumps(copied)
        if isinstance(doc, dict):
            doc.clear()
        else:
            doc.pop()
        assert json.dumps(copied) == copied_text


def test_the_decoder_refuses_what_the_api_server_refuses() -> None:
    for text in (b'{"a": NaN}', b'{"a": Infinity}', b"{'a': 1}"):
        try:
            decode(text)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} was decoded")


def test_stored_objects_never_change_under_a_reader() -> None:
    """What `shared=True` hands out (to the HTTP layer, to watchers) stays as it was
    through later writes of every kind."""
    store = Store()
    pods = store.type("", "v1", "pods")
    body = {
        "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "c"}]},
    }
    created = store.create(pods, "default", body, shared=True)
    kept = copy.deepcopy(created)
    store.patch(pods, "default", "p", MERGE, {"metadata": {"labels": {"b": "2"}}})
    store.patch(pods, "default", "p", MERGE, {"status": {"phase": "Running"}}, subresource="status")
    shared = store.get(pods, "default", "p", shared=True)
    kept_shared = copy.deepcopy(shared)
    store.patch(
        pods, "default", "p", JSON_PATCH,
        [{"op": "add", "path": "/status/conditions", "value": [{"type": "Ready"}]}],
        subresource="status",
    )  # fmt: skip
    store.patch(pods, "default", "p", MERGE, {"metadata": {"labels": {"a": None}}})
    store.delete(pods, "default", "p")
    assert created == kept
    assert shared == kept_shared
    assert shared["metadata"]["labels"] == {"a": "1", "b": "2"}
