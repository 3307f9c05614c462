"""The API calls on a trial's workloads: the kinds other controllers run (Job, JobSet, ...).

A workload's kind is only known from the Study's template (`apiVersion` and the plural
the operator looked up), so these calls go through the custom objects API with the
group and version of each object; a workload's pods are found by a label selector.
`Kube` inherits them; they read raw answers as its other calls do (`transport`).
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from tradeoff.kube.transport import REQUEST_TIMEOUT, decoded, found, read_through

Obj = dict[str, Any]


class WorkloadCalls:
    """Create, read, list and delete workloads of any kind, and select pods by label."""

    core: Any
    custom: Any

    def create_workload(self, plural: str, namespace: str, body: Obj) -> bool:
        """Create a workload (Job, PyTorchJob, ...); False if one of that name exists."""
        group, _, version = str(body["apiVersion"]).rpartition("/")
        try:
            response = self.custom.create_namespaced_custom_object(
                group, version, namespace, plural, body,
                _preload_content=False, _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status == 409:
                return False
            raise
        read_through(response)
        return True

    def get_workload(self, api_version: str, plural: str, namespace: str, name: str) -> Obj | None:
        group, _, version = api_version.rpartition("/")
        read = self.custom.get_namespaced_custom_object
        return found(read, group, version, namespace, plural, name)

    def list_workloads(
        self, api_version: str, plural: str, namespace: str, selector: str
    ) -> list[Obj]:
        """The workloads of one kind that match a label selector."""
        group, _, version = api_version.rpartition("/")
        response = self.custom.list_namespaced_custom_object(
            group, version, namespace, plural, label_selector=selector,
            _preload_content=False, _request_timeout=REQUEST_TIMEOUT,
        )  # fmt: skip
        found: Obj = decoded(response)
        items: list[Obj] = found.get("items") or []
        return items

    def delete_workload(self, api_version: str, plural: str, namespace: str, name: str) -> None:
        """Delete a workload and (in the background) the pods it made."""
        group, _, version = api_version.rpartition("/")
        try:
            response = self.custom.delete_namespaced_custom_object(
                group, version, namespace, plural, name,
                propagation_policy="Background", grace_period_seconds=0,
                _preload_content=False, _request_timeout=REQUEST_TIMEOUT,
            )  # fmt: skip
        except ApiException as error:
            if error.status != 404:
                raise
            return
        read_through(response)

    def select_pods(self, namespace: str, selector: str) -> list[Obj]:
        """The pods that match a label selector."""
        response = self.core.list_namespaced_pod(
            namespace,
            label_selector=selector,
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        items: list[Obj] = decoded(response).get("items") or []
        return items
