"""The emulator's object store: Kubernetes object semantics over plain dictionaries.

Thread-safe (one re-entrant lock). Stored objects are never mutated in place: every write
stores a new dictionary, so watch events and stored objects can be shared without copying.
Readers of watch events must not mutate them; `get`/`list` hand out copies, and so do the
writes, unless the caller (the HTTP layer, which only encodes them) asks for the stored
object itself with `shared=True`.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from . import admission
from .errors import ApiError, already_exists, bad_request, conflict, invalid, not_found
from .history import EventLog, Events, WatchCallback
from .jsondata import clone, encode
from .patch import APPLY, apply_patch
from .resources import (
    BUILTIN_TYPES,
    CRD_GROUP,
    CRD_PLURAL,
    ResourceType,
    check_crd,
    crd_status,
    types_from_crd,
)

Obj = dict[str, Any]
MAX_OBJECT_BYTES = 1_572_864  # etcd's default request limit
Key = tuple[str, str]
Warnings = list[str]
ObjList = list[Obj]


class Store:
    """All objects, the global resourceVersion, the event history and the watchers."""

    def __init__(self, history_size: int = 20000) -> None:
        self.lock = threading.RLock()
        self.history_size = history_size
        self.graceful_pod_deletion = False
        self.requests: Counter[tuple[str, str]] = Counter()
        self._rv = 0
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._objects: dict[Key, dict[str, dict[str, Obj]]] = defaultdict(dict)
        self._log = EventLog(history_size)
        self._by_uid: dict[str, tuple[Key, str, str]] = {}
        self._dependents: dict[str, set[tuple[Key, str, str]]] = defaultdict(set)
        for rt in BUILTIN_TYPES:
            self._types[(rt.group, rt.version, rt.plural)] = rt
        self.create(self.type("", "v1", "namespaces"), "", {"metadata": {"name": "default"}})

    # ----- resource types -------------------------------------------------------------
    def types(self) -> list[ResourceType]:
        with self.lock:
            return list(self._types.values())

    def type(self, group: str, version: str, plural: str) -> ResourceType:
        with self.lock:
            rt = self._types.get((group, version, plural))
        if rt is None:
            raise ApiError(404, "the server could not find the requested resource")
        return rt

    def type_for_kind(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        with self.lock:
            for rt in self._types.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        raise ApiError(404, f'no matches for kind "{kind}" in version "{api_version}"')

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    # ----- reads ----------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str, *, shared: bool = False) -> Obj:
        """The object (`shared`: the stored one itself, not a copy: do not mutate)."""
        with self.lock:
            found = self._current(rt, namespace, name)
        return found if shared else clone(found)

    def find(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        """The stored object (not a copy: do not mutate) or None."""
        with self.lock:
            return self._objects[rt.storage_key].get(namespace, {}).get(name)

    def iter_objects(self, rt: ResourceType, namespace: str | None) -> Iterator[Obj]:
        """Stored objects (not copies) of a type, in one namespace or all; hold `lock`."""
        spaces = self._objects[rt.storage_key]
        if namespace is not None:
            yield from spaces.get(namespace, {}).values()
            return
        for objects in spaces.values():
            yield from objects.values()

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        matcher: Callable[[Obj], bool] | None = None,
    ) -> tuple[ObjList, str]:
        """Copies of the matching objects and the list's resourceVersion."""
        with self.lock:
            items = [o for o in self.iter_objects(rt, namespace) if matcher is None or matcher(o)]
            return clone(items), self.resource_version

    def _current(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self._objects[rt.storage_key].get(namespace, {}).get(name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    # ----- writes ---------------------------------------------------------------------
    def create(
        self,
        rt: ResourceType,
        namespace: str,
        body: Obj,
        *,
        field_validation: str = "",
        warnings: Warnings | None = None,
        shared: bool = False,
    ) -> Obj:
        """POST: name or generateName, uid, timestamps, generation, then ADDED.

        `shared`: `body` is the store's to keep (the caller never uses it again) and the
        stored object itself is returned (not a copy: do not mutate)."""
        obj = body if shared else clone(body)
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        meta = obj.setdefault("metadata", {})
        with self.lock:
            if rt.namespaced:
                if meta.get("namespace") not in (None, "", namespace):
                    raise bad_request(
                        "the namespace of the provided object does not match the namespace "
                        "sent on the request"
                    )
                if self.find(self.type("", "v1", "namespaces"), "", namespace) is None:
                    raise not_found("namespaces", "", namespace)
                meta["namespace"] = namespace
            else:
                meta.pop("namespace", None)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = admission.generated_name(meta["generateName"])
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            admission.initial_status(rt, obj)
            admission.check_object(rt, obj, field_validation, warnings)
            admission.check_rules(rt, obj, None)
            if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
                self._admit_crd(obj)
            if self.find(rt, namespace if rt.namespaced else "", meta["name"]) is not None:
                raise already_exists(rt.plural, rt.group, meta["name"])
            for stale in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
                meta.pop(stale, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = admission.now()
            meta["generation"] = 1
            self._store(rt, obj, "ADDED")
            if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
                self._serve_crd(obj)
            return obj if shared else clone(obj)

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Obj,
        *,
        subresource: str = "",
        field_validation: str = "",
        warnings: Warnings | None = None,
        shared: bool = False,
    ) -> Obj:
        """PUT with optimistic concurrency on `metadata.resourceVersion` (`shared`: the
        stored object itself is returned, not a copy: do not mutate)."""
        with self.lock:
            current = self._current(rt, namespace, name)
            given = (body.get("metadata") or {}).get("resourceVersion")
            if not given and rt.custom:
                causes = [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "metadata.resourceVersion",
                        "message": "Invalid value: 0x0: must be specified for an update",
                    }
                ]
                raise invalid(rt.kind, rt.group, name, causes)
            if given and given != current["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            written = self._update(rt, current, body, subresource, field_validation, warnings)
        return written if shared else clone(written)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        body: Any,
        *,
        subresource: str = "",
        field_validation: str = "",
        warnings: Warnings | None = None,
        shared: bool = False,
    ) -> Obj:
        """PATCH (merge, JSON, strategic-as-merge, apply-as-merge) then the update rules
        (`shared`: the stored object itself is returned, not a copy: do not mutate)."""
        with self.lock:
            current = self.find(rt, namespace, name)
            if current is None and patch_type == APPLY and not subresource:
                return self.create(
                    rt, namespace, body, field_validation=field_validation, warnings=warnings,
                    shared=shared,
                )  # fmt: skip
            if current is None:
                raise not_found(rt.plural, rt.group, name)
            patched = apply_patch(patch_type, current, body)
            if not isinstance(patched, dict):
                raise bad_request("the patched object is not a JSON object")
            given = (patched.get("metadata") or {}).get("resourceVersion")
            if given and given != current["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            written = self._update(rt, current, patched, subresource, field_validation, warnings)
        return written if shared else clone(written)

    def _update(
        self,
        rt: ResourceType,
        current: Obj,
        body: Obj,
        subresource: str,
        field_validation: str,
        warnings: Warnings | None,
    ) -> Obj:
        """Store `body` as the new version of `current`; returns the stored object."""
        old_meta = current["metadata"]
        new = admission.updated_object(rt, current, body, subresource)
        meta = new["metadata"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        admission.check_object(rt, new, field_validation, warnings)
        admission.check_update(rt, current, new)
        if not subresource:
            admission.check_rules(rt, new, current)
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            self._admit_crd(new)
        if new == current:
            return current
        if admission.spec_changed(rt, current, new):
            meta["generation"] = old_meta.get("generation", 1) + 1
        if old_meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._store(rt, new, "MODIFIED")
            return self._remove(rt, new, "Background")
        self._store(rt, new, "MODIFIED")
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            self._serve_crd(new)
        return new

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation: str | None = None,
        grace_seconds: int | None = None,
        precondition_uid: str | None = None,
    ) -> Obj:
        """DELETE: finalizers defer removal; graceful pods wait for the kubelet; then GC."""
        with self.lock:
            current = self._current(rt, namespace, name)
            meta = current["metadata"]
            if precondition_uid and precondition_uid != meta["uid"]:
                raise conflict(rt.plural, rt.group, name)
            if propagation == "Foreground":
                self._collect(meta["uid"], "Foreground")
            if self._graceful_pod(rt, current, grace_seconds):
                grace = grace_seconds
                if grace is None:
                    grace = current.get("spec", {}).get("terminationGracePeriodSeconds", 30)
                return self._mark_deleted(rt, current, int(grace))
            if meta.get("finalizers"):
                return self._mark_deleted(rt, current, 0)
            return self._remove(rt, current, propagation or "Background")

    def _graceful_pod(self, rt: ResourceType, pod: Obj, grace: int | None) -> bool:
        return (
            self.graceful_pod_deletion
            and rt.group == ""
            and rt.plural == "pods"
            and grace != 0
            and bool(pod.get("spec", {}).get("nodeName"))
            and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        )

    def _mark_deleted(self, rt: ResourceType, current: Obj, grace: int) -> Obj:
        if current["metadata"].get("deletionTimestamp"):
            return clone(current)
        new = clone(current)
        new["metadata"]["deletionTimestamp"] = admission.now()
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        new["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        self._store(rt, new, "MODIFIED")
        return clone(new)

    def _remove(self, rt: ResourceType, current: Obj, propagation: str) -> Obj:
        meta = current["metadata"]
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        if rt.group == "" and rt.plural == "namespaces":
            self._empty_namespace(meta["name"])
        gone = clone(current)
        self._rv += 1
        gone["metadata"]["resourceVersion"] = str(self._rv)
        spaces = self._objects[rt.storage_key]
        del spaces[namespace][meta["name"]]
        if not spaces[namespace]:
            del spaces[namespace]
        self._by_uid.pop(meta["uid"], None)
        self._index_owners(rt, current, add=False)
        self._emit(rt, "DELETED", gone, None)
        if rt.group == CRD_GROUP and rt.plural == CRD_PLURAL:
            self._unserve_crd(current)
        self._collect(meta["uid"], propagation)
        return gone

    def _empty_namespace(self, namespace: str) -> None:
        for rt in {t.storage_key: t for t in self._types.values() if t.namespaced}.values():
            for obj in list(self._objects[rt.storage_key].get(namespace, {}).values()):
                if self.find(rt, namespace, obj["metadata"]["name"]) is not None:
                    self._remove(rt, obj, "Background")

    # ----- garbage collection ----------------------------------------------------------
    def _index_owners(self, rt: ResourceType, obj: Obj, *, add: bool) -> None:
        meta = obj["metadata"]
        entry = (rt.storage_key, meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        for ref in meta.get("ownerReferences") or ():
            if add:
                self._dependents[ref["uid"]].add(entry)
            else:
                self._dependents.get(ref["uid"], set()).discard(entry)

    def _collect(self, owner_uid: str, propagation: str) -> None:
        """Delete (or orphan) the dependents of an owner that is gone or going."""
        for key, namespace, name in sorted(self._dependents.pop(owner_uid, set())):
            rt = next(t for t in self._types.values() if t.storage_key == key)
            obj = self.find(rt, namespace, name)
            if obj is None:
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            alive = [r for r in refs if r["uid"] != owner_uid and r["uid"] in self._by_uid]
            if propagation == "Orphan" or alive:
                # orphaned, or other owners remain: drop only the reference to this owner
                kept = [r for r in refs if r["uid"] != owner_uid]
                meta = {**obj["metadata"], "ownerReferences": kept}
                self._update(rt, obj, {**obj, "metadata": meta}, "", "Ignore", None)
            else:
                self.delete(rt, namespace, name, propagation="Background")

    # ----- events and watches ----------------------------------------------------------
    def _store(self, rt: ResourceType, obj: Obj, event: str) -> None:
        meta = obj["metadata"]
        if len(encode(obj)) > MAX_OBJECT_BYTES:
            raise ApiError(500, "etcdserver: request is too large")
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        previous = self._objects[rt.storage_key].get(namespace, {}).get(meta["name"])
        if previous is not None:
            self._index_owners(rt, previous, add=False)
        self._objects[rt.storage_key].setdefault(namespace, {})[meta["name"]] = obj
        self._by_uid[meta["uid"]] = (rt.storage_key, namespace, meta["name"])
        self._index_owners(rt, obj, add=True)
        self._emit(rt, event, obj, previous)

    def _emit(self, rt: ResourceType, event: str, obj: Obj, previous: Obj | None) -> None:
        self._log.record(rt.storage_key, self._rv, event, obj, previous)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        resource_version: str | None,
        callback: WatchCallback,
    ) -> tuple[Events, Callable[[], None]]:
        """Events since `resource_version` (or ADDED for all when unset/"0"), then live ones.

        Returns the replayed events and an unsubscribe function; raises 410 when the
        requested version was compacted away. Callbacks run under the store lock.
        """
        key = rt.storage_key
        namespace = namespace if rt.namespaced else None
        with self.lock:
            if resource_version in (None, "", "0"):
                replay: Events = [("ADDED", o, None) for o in self.iter_objects(rt, namespace)]
            else:
                replay = self._log.since(key, namespace, str(resource_version), self._rv)
            watcher = self._log.subscribe(key, namespace, callback)

        def unsubscribe() -> None:
            with self.lock:
                self._log.unsubscribe(key, watcher)

        return replay, unsubscribe

    def compact(self) -> None:
        """Forget the event history, so watches from any older version get 410 Gone."""
        with self.lock:
            self._log.compact(self._rv)

    # ----- built-in behaviour ----------------------------------------------------------
    def _admit_crd(self, crd: Obj) -> None:
        causes = check_crd(crd)
        if causes:
            raise invalid(
                "CustomResourceDefinition", CRD_GROUP, crd["metadata"].get("name", ""), causes
            )
        crd["status"] = crd_status(crd, admission.now())

    def _serve_crd(self, crd: Obj) -> None:
        group = crd["spec"]["group"]
        plural = crd["spec"]["names"]["plural"]
        for key in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[key]
        for rt in types_from_crd(crd):
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def _unserve_crd(self, crd: Obj) -> None:
        group = crd["spec"]["group"]
        plural = crd["spec"]["names"]["plural"]
        served = [self._types.pop(k) for k in list(self._types) if k[0] == group and k[2] == plural]
        if served:
            for obj in list(self.iter_objects(served[0], None)):
                self._remove(served[0], obj, "Background")
