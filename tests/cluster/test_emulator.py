"""The API emulator through the official kubernetes client, over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.cluster.harness import Cluster

GROUP, VERSION, PLURAL = "example.dev", "v1", "widgets"
MERGE = "application/merge-patch+json"


def widget(name: str, size: Any = 2, **extra: Any) -> dict[str, Any]:
    meta = {"name": name, **extra.pop("metadata", {})}
    return {
        "apiVersion": "example.dev/v1",
        "kind": "Widget",
        "metadata": meta,
        "spec": {"size": size, **extra},
    }


@pytest.fixture
def custom(widgets: Cluster) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(widgets.client())


@pytest.fixture
def core(cluster: Cluster) -> client.CoreV1Api:
    return client.CoreV1Api(cluster.client())


def status_of(error: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(error.value.body)
    return body


def create(api: client.CustomObjectsApi, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, body, **kwargs
    )
    return result


def test_discovery_lists_builtins_crds_and_kopf_peerings(widgets: Cluster) -> None:
    groups = {g.name for g in client.ApisApi(widgets.client()).get_api_versions().groups}
    assert {"example.dev", "kopf.dev", "apiextensions.k8s.io", "coordination.k8s.io"} <= groups
    resources = client.CustomObjectsApi(widgets.client()).get_api_resources(GROUP, VERSION)
    names = {r.name: r for r in resources.resources}
    assert names["widgets"].kind == "Widget" and names["widgets"].short_names == ["wg"]
    assert "widgets/status" in names
    core = {r.name for r in client.CoreV1Api(widgets.client()).get_api_resources().resources}
    assert {"pods", "pods/log", "namespaces", "events", "nodes", "configmaps"} <= core


def test_namespaces_list_and_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    assert "default" in [ns.metadata.name for ns in core.list_namespace().items]
    with pytest.raises(ApiException) as error:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert (
        error.value.status == 404
        and status_of(error)["message"] == 'namespaces "nowhere" not found'
    )


def test_crud_conflicts_and_generate_name(custom: client.CustomObjectsApi) -> None:
    created = create(custom, widget("w1"))
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    assert created["spec"]["color"] == "green"  # schema default applied
    with pytest.raises(ApiException) as error:
        create(custom, widget("w1"))
    assert error.value.status == 409 and status_of(error)["reason"] == "AlreadyExists"
    generated = create(custom, {**widget(""), "metadata": {"generateName": "w-"}})
    assert (
        generated["metadata"]["name"].startswith("w-") and len(generated["metadata"]["name"]) == 7
    )
    stale = dict(created)
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w1", {"spec": {"size": 3}}
    )
    with pytest.raises(ApiException) as error:
        custom.replace_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1", stale)
    assert (
        error.value.status == 409 and "the object has been modified" in status_of(error)["message"]
    )
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == sorted(
        ["w1", generated["metadata"]["name"]]
    )
    everywhere = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    assert len(everywhere["items"]) == 2
    operations = [{"op": "replace", "path": "/spec/size", "value": 9}]
    json_patched = custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "w1",
        operations,
        _content_type="application/json-patch+json",
    )
    assert json_patched["spec"]["size"] == 9
    custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1")
    with pytest.raises(ApiException) as error:
        custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1")
    assert (
        error.value.status == 404
        and status_of(error)["message"] == 'widgets.example.dev "w1" not found'
    )


def test_watch_replays_from_resource_version_and_410_when_compacted(
    widgets: Cluster, custom: client.CustomObjectsApi
) -> None:
    start = create(custom, widget("w1"))["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w1", {"spec": {"size": 5}}
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1")
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL,
        resource_version=start, timeout_seconds=1,
    )  # fmt: skip
    events = [(e["type"], e["object"]["spec"]["size"]) for e in stream]
    assert events == [("MODIFIED", 5), ("DELETED", 5)]
    widgets.api.compact()
    with pytest.raises(ApiException) as error:
        for _ in watch.Watch().stream(
            custom.list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL,
            resource_version=start, timeout_seconds=1,
        ):  # fmt: skip
            pass
    assert error.value.status == 410


def test_watch_streams_live_events_with_selectors(
    widgets: Cluster, custom: client.CustomObjectsApi
) -> None:
    seen: list[str] = []
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, "default", PLURAL,
        label_selector="team=a", timeout_seconds=2,
    )  # fmt: skip
    create(custom, widget("other", metadata={"labels": {"team": "b"}}))
    create(custom, widget("mine", metadata={"labels": {"team": "a"}}))
    for event in stream:
        seen.append(f"{event['type']} {event['object']['metadata']['name']}")
        break
    assert seen == ["ADDED mine"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gold", ["a"]),
        ("tier==gold", ["a"]),
        ("tier!=gold", ["b", "c"]),
        ("tier in (gold,silver)", ["a", "b"]),
        ("tier notin (gold)", ["b", "c"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c"]),
        ("tier,zone=x", ["a"]),
    ],
)
def test_label_selectors(core: client.CoreV1Api, selector: str, expected: list[str]) -> None:
    labels = {"a": {"tier": "gold", "zone": "x"}, "b": {"tier": "silver"}, "c": {}}
    for name, label_set in labels.items():
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": name, "labels": label_set}}
        )
    found = core.list_namespaced_config_map("default", label_selector=selector).items
    assert sorted(cm.metadata.name for cm in found) == expected


def test_field_selectors(core: client.CoreV1Api) -> None:
    for name in ("a", "b"):
        core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    assert [
        c.metadata.name
        for c in core.list_namespaced_config_map("default", field_selector="metadata.name=b").items
    ] == ["b"]
    everywhere = core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace=default,metadata.name!=b"
    )
    assert [c.metadata.name for c in everywhere.items] == ["a"]


def test_status_subresource_and_generation(custom: client.CustomObjectsApi) -> None:
    created = create(custom, {**widget("w1"), "status": {"state": "Made-up"}})
    assert "status" not in created  # status is reset on create
    args = (GROUP, VERSION, "default", PLURAL, "w1")
    main = custom.patch_namespaced_custom_object(
        *args, {"status": {"state": "Ignored"}, "metadata": {"labels": {"a": "b"}}}
    )
    assert "status" not in main and main["metadata"]["generation"] == 1
    status = custom.patch_namespaced_custom_object_status(
        *args, {"status": {"state": "Ready"}, "spec": {"size": 7}}
    )
    assert status["status"] == {"state": "Ready"} and status["spec"]["size"] == 2
    assert status["metadata"]["generation"] == 1
    spec = custom.patch_namespaced_custom_object(*args, {"spec": {"size": 4}})
    assert spec["metadata"]["generation"] == 2 and spec["status"] == {"state": "Ready"}
    same = custom.patch_namespaced_custom_object(*args, {"spec": {"size": 4}})
    assert same["metadata"]["resourceVersion"] == spec["metadata"]["resourceVersion"]  # no-op


def test_finalizers_defer_deletion(widgets: Cluster, custom: client.CustomObjectsApi) -> None:
    create(custom, widget("w1", metadata={"finalizers": ["example.dev/cleanup"]}))
    args = (GROUP, VERSION, "default", PLURAL, "w1")
    custom.delete_namespaced_custom_object(*args)
    kept = custom.get_namespaced_custom_object(*args)
    assert kept["metadata"]["deletionTimestamp"] and kept["metadata"]["finalizers"] == [
        "example.dev/cleanup"
    ]
    with pytest.raises(ApiException) as error:
        body = {"metadata": {"finalizers": ["example.dev/cleanup", "late"]}}
        custom.patch_namespaced_custom_object(*args, body)
    assert "no new finalizers can be added" in status_of(error)["message"]
    custom.patch_namespaced_custom_object(*args, {"metadata": {"finalizers": None}})
    assert widgets.get("widgets", "w1", group=GROUP) is None


def test_owner_references_garbage_collection(
    widgets: Cluster, custom: client.CustomObjectsApi
) -> None:
    core = client.CoreV1Api(widgets.client())
    owner = create(custom, widget("owner"))
    ref = {"apiVersion": "example.dev/v1", "kind": "Widget", "name": "owner"}
    ref.update(uid=owner["metadata"]["uid"], controller=True, blockOwnerDeletion=True)
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "child", "ownerReferences": [ref]}}
    )
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "kept", "ownerReferences": [ref]}}
    )
    other = create(custom, widget("other"))
    second = {**ref, "name": "other", "uid": other["metadata"]["uid"], "controller": False}
    core.patch_namespaced_config_map(
        "kept", "default", {"metadata": {"ownerReferences": [ref, second]}}, _content_type=MERGE
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "owner")
    widgets.wait_for(lambda: widgets.get("configmaps", "child") is None, 5)
    assert widgets.get("configmaps", "kept") is not None  # another owner is still alive
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "other", propagation_policy="Orphan"
    )
    orphan = widgets.get("configmaps", "kept")
    assert orphan is not None and not orphan["metadata"].get("ownerReferences")


def test_schema_violations_are_422_with_api_server_wording(custom: client.CustomObjectsApi) -> None:
    minimum = "spec.size in body should be greater than or equal to 1"
    cases = [
        (f"spec.size: Invalid value: 0: {minimum}", widget("a", 0)),
        ('spec.size in body must be of type integer: "string"', widget("b", "x")),
        (
            'Unsupported value: "pink": supported values: "red", "green", "blue"',
            widget("c", color="pink"),
        ),
        ("spec.size: Required value", {**widget("d"), "spec": {}}),
        ("spec.tags in body should have at most 3 items", widget("e", tags=["a", "b", "c", "d"])),
        (
            "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
            widget("f", ratio=0),
        ),
        ('spec.quantity: Invalid value: "boolean"', widget("g", quantity=True)),
    ]
    for expected, body in cases:
        with pytest.raises(ApiException) as error:
            create(custom, body)
        assert error.value.status == 422, expected
        status = status_of(error)
        assert expected in status["message"], status["message"]
        assert status["reason"] == "Invalid" and status["details"]["causes"]
    assert create(custom, widget("h", quantity="50%", note=None))["spec"]["quantity"] == "50%"


def test_unknown_fields_are_pruned_or_refused_when_strict(custom: client.CustomObjectsApi) -> None:
    body = widget("w1", bogus=1, extra={"free": {"form": True}})
    pruned = create(custom, body)
    assert "bogus" not in pruned["spec"] and pruned["spec"]["extra"] == {"free": {"form": True}}
    with pytest.raises(ApiException) as error:
        create(custom, widget("w2", bogus=1), field_validation="Strict")
    assert (
        error.value.status == 400
        and 'strict decoding error: unknown field "spec.bogus"' in status_of(error)["message"]
    )


def test_crd_deletion_stops_serving(widgets: Cluster, custom: client.CustomObjectsApi) -> None:
    create(custom, widget("w1"))
    ext = client.ApiextensionsV1Api(widgets.client())
    ext.delete_custom_resource_definition("widgets.example.dev")
    with pytest.raises(ApiException) as error:
        custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert error.value.status == 404


def test_ten_thousand_objects_stay_fast(cluster: Cluster) -> None:
    configmaps = cluster.resource("configmaps")
    begin = time.perf_counter()
    for index in range(10_000):
        labels = {"bucket": str(index % 10)}
        cluster.api.create(
            configmaps, "default", {"metadata": {"name": f"cm-{index}", "labels": labels}}
        )
    core = client.CoreV1Api(cluster.client())
    assert len(core.list_namespaced_config_map("default", label_selector="bucket=3").items) == 1000
    for index in range(0, 10_000, 500):
        assert (
            core.read_namespaced_config_map(f"cm-{index}", "default").metadata.name == f"cm-{index}"
        )
    assert time.perf_counter() - begin < 20


def test_request_counts_by_verb_and_resource(
    widgets: Cluster, custom: client.CustomObjectsApi
) -> None:
    widgets.emulator.reset_request_counts()
    create(custom, widget("w1"))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w1", {"status": {"state": "x"}}
    )
    custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1")
    counts = widgets.request_counts()
    assert counts[("create", "widgets.example.dev")] == 1
    assert counts[("patch", "widgets.example.dev/status")] == 1
    assert counts[("get", "widgets.example.dev")] == 1


def test_selector_watch_sees_objects_enter_and_leave(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "cm", "labels": {"app": "x"}}}
    )
    start = core.list_namespaced_config_map("default").metadata.resource_version
    for labels in ({"app": "y"}, {"app": "x", "v": "2"}):
        body = {"metadata": {"labels": labels}}
        core.patch_namespaced_config_map("cm", "default", body, _content_type=MERGE)
    stream = watch.Watch().stream(
        core.list_namespaced_config_map, "default", label_selector="app=x",
        resource_version=start, timeout_seconds=1,
    )  # fmt: skip
    assert [event["type"] for event in stream] == ["DELETED", "ADDED"]


def test_list_pagination_with_limit_and_continue(core: client.CoreV1Api) -> None:
    for index in range(5):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"cm-{index}"}})
    first = core.list_namespaced_config_map("default", limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"]
    assert first.metadata.remaining_item_count == 3
    rest = core.list_namespaced_config_map("default", limit=10, _continue=first.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["cm-2", "cm-3", "cm-4"]
    assert rest.metadata._continue is None


def test_cluster_scoped_watch_and_apply_updates(cluster: Cluster, core: client.CoreV1Api) -> None:
    start = core.list_namespace().metadata.resource_version
    core.create_namespace({"metadata": {"name": "team-a"}})
    stream = watch.Watch().stream(core.list_namespace, resource_version=start, timeout_seconds=1)
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("ADDED", "team-a")]
    cluster.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    )
    cluster.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"x": "y"}}}
    )
    updated = cluster.get("configmaps", "c")
    assert (
        updated is not None
        and updated["metadata"]["labels"] == {"x": "y"}
        and "data" not in updated
    )


def test_pod_spec_is_immutable(core: client.CoreV1Api) -> None:
    spec = {
        "containers": [{"name": "c", "image": "a", "command": ["true"]}],
        "nodeName": "elsewhere",
    }
    core.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": spec})
    image = {"spec": {"containers": [{"name": "c", "image": "b", "command": ["true"]}]}}
    assert (
        core.patch_namespaced_pod("p", "default", image, _content_type=MERGE)
        .spec.containers[0]
        .image
        == "b"
    )
    with pytest.raises(ApiException) as error:
        command = {"spec": {"containers": [{"name": "c", "image": "b", "command": ["false"]}]}}
        core.patch_namespaced_pod("p", "default", command, _content_type=MERGE)
    assert (
        error.value.status == 422
        and "pod updates may not change fields" in status_of(error)["message"]
    )
