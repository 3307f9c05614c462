"""A thin layer over the official kubernetes client: objects in and out as plain dicts.

Every call reads or writes the API directly; what the operator reads often (Trials, the
study's pods, Studies) comes from watches instead (`informer`, kopf's; kept in `cache`).
Answers are read raw (`_preload_content=False`) and decoded with `json` only where the
caller uses them: the client's own decoding (into `V1Pod` models for core calls) costs
more CPU than the request. Every answer is read to its end, so its connection goes back
to the pool: an unread answer's connection is dropped, and the next request opens one.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tradeoff.api.study import GROUP, VERSION
from tradeoff.api.trial import STUDY_LABEL
from tradeoff.kube.transport import (
    LOG_READ_TIMEOUT,
    REQUEST_TIMEOUT,
    configure,
    decoded,
    found,
    read_through,
    retry_after,
    transport_retries,
)
from tradeoff.kube.workload_calls import WorkloadCalls

__all__ = [
    "COMPONENT",
    "Kube",
    "Obj",
    "configure",
    "now_utc",
    "retry_after",
    "rfc3339",
    "transport_retries",
]

Obj = dict[str, Any]
COMPONENT = "tradeoff-operator"


def now_utc() -> datetime:
    return datetime.now(UTC)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kube(WorkloadCalls):
    """The API calls the operator makes (those on workloads: `WorkloadCalls`)."""

    def __init__(self, api_client: Any = None) -> None:
        self.api_client = api_client or client.ApiClient()
        # Typed as Any: dicts go in and raw responses come out, not the generated models.
        self.core: Any = client.CoreV1Api(self.api_client)
        self.custom: Any = client.CustomObjectsApi(self.api_client)

    # -- custom objects ----------------------------------------------------------------
    def get_object(self, plural: str, namespace: str, name: str) -> Obj | None:
        read = self.custom.get_namespaced_custom_object
        return found(read, GROUP, VERSION, namespace, plural, name)

    def list_studies(self, namespace: str) -> list[Obj]:
        response = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "studies",
            _preload_content=False, _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip
        listed = decoded(response)
        items: list[Obj] = listed.get("items") or []
        return items

    def list_trials_at(self, namespace: str, study: str) -> tuple[list[Obj], str]:
        """The Study's Trials and the listing's resourceVersion."""
        listed = decoded(
            self.custom.list_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                "trials",
                label_selector=f"{STUDY_LABEL}={study}",
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        )
        items: list[Obj] = listed.get("items") or []
        return items, str((listed.get("metadata") or {}).get("resourceVersion") or "")

    def list_trials(self, namespace: str, study: str) -> list[Obj]:
        return self.list_trials_at(namespace, study)[0]

    def create_trial(self, namespace: str, body: Obj) -> Obj | None:
        """Create a Trial and return it as created; None if one of that name exists."""
        try:
            response = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "trials", body,
                _preload_content=False, _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status == 409:
                return None
            raise
        created: Obj = decoded(response)
        return created

    def replace_status(self, plural: str, namespace: str, name: str, status: Obj) -> Obj:
        """Replace the whole status subresource (a JSON patch, so no stale keys survive);
        returns the object as written."""
        response = self.custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            [{"op": "add", "path": "/status", "value": status}],
            _content_type="application/json-patch+json",
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        written: Obj = decoded(response)
        return written

    # -- pods and nodes ----------------------------------------------------------------
    def get_pod(self, namespace: str, name: str) -> Obj | None:
        return found(self.core.read_namespaced_pod, name, namespace)

    def list_pods(self, namespace: str, study: str, running: bool = False) -> list[Obj]:
        """The Study's pods (`running`: only those that have not ended)."""
        response = self.core.list_namespaced_pod(
            namespace,
            label_selector=f"{STUDY_LABEL}={study}",
            field_selector="status.phase!=Succeeded,status.phase!=Failed" if running else None,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        items: list[Obj] = decoded(response).get("items") or []
        return items

    def create_pod(self, namespace: str, body: Obj) -> bool:
        """Create a Pod; False if one of that name exists already."""
        try:
            response = self.core.create_namespaced_pod(
                namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        read_through(response)
        return True

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None = None) -> None:
        try:
            response = self.core.delete_namespaced_pod(
                name,
                namespace,
                grace_period_seconds=grace_seconds,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if error.status != 404:
                raise
            return
        read_through(response)

    def get_secret(self, namespace: str, name: str) -> Obj | None:
        return found(self.core.read_namespaced_secret, name, namespace)

    def create_secret(self, namespace: str, body: Obj) -> None:
        read_through(
            self.core.create_namespaced_secret(
                namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def get_node(self, name: str) -> Obj | None:
        """The Node, or None when it is gone or the operator may not read nodes."""
        try:
            response = self.core.read_node(
                name, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as error:
            if error.status in (401, 403, 404):
                return None
            raise
        node: Obj = decoded(response)
        return node

    def read_log(
        self, namespace: str, pod: str, container: str, *, tail_lines: int, limit: int
    ) -> Any:
        """A streaming HTTP response of the last `tail_lines` lines of a container's log,
        at most `limit` bytes of them (the caller closes it); None when it has no log."""
        try:
            return self.core.read_namespaced_pod_log(
                pod,
                namespace,
                container=container,
                tail_lines=tail_lines,
                limit_bytes=limit,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if error.status in (400, 404):
                return None
            raise

    def follow_log(self, namespace: str, pod: str, container: str) -> Any:
        """A streaming HTTP response of the container's log (the caller closes it).

        A read that waits longer than `LOG_READ_TIMEOUT` ends the stream with an error, so
        a stream that hangs (a lost node, a proxy) never holds the follower forever.
        """
        return self.core.read_namespaced_pod_log(
            pod,
            namespace,
            container=container,
            follow=True,
            _preload_content=False,
            _request_timeout=(REQUEST_TIMEOUT, LOG_READ_TIMEOUT),
        )

    # -- events ------------------------------------------------------------------------
    def event(self, obj: Obj, type: str, reason: str, message: str) -> None:
        """Record a core/v1 Event about `obj` (best effort: failures are ignored)."""
        meta = obj.get("metadata") or {}
        stamp = rfc3339(now_utc())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta.get('name')}.{uuid.uuid4().hex[:12]}",
                "namespace": meta.get("namespace"),
            },
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
            },
            "type": type,
            "reason": reason,
            "message": message[:1024],
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
        }
        with contextlib.suppress(ApiException, ValueError):
            response = self.core.create_namespaced_event(
                meta.get("namespace"),
                body,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            read_through(response)
