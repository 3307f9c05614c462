"""Reading Studies and their Trials from a cluster, as kubectl would find them.

The current kubeconfig context and its namespace are used unless ``--context`` or
``-n/--namespace`` say otherwise (``KUBECONFIG`` is honoured, several files too). Only
Trials the operator made for the Study count (`tradeoff.kube.ownership`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import config
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError
from urllib3.exceptions import HTTPError

from tradeoff.api.status import StudyStatus
from tradeoff.api.study import GROUP, VERSION, StudySpec
from tradeoff.kube.cache import checked_record, study_records
from tradeoff.kube.client import Kube
from tradeoff.kube.ownership import owned_by
from tradeoff.results.source import CLUSTER_PREFIX, SourceError, StudyView

__all__ = ["ClusterTarget", "cluster_view", "connect", "list_studies"]

Obj = dict[str, Any]
T = TypeVar("T")
TIMEOUT = 15.0


@dataclass(frozen=True)
class ClusterTarget:
    """An API client and the namespace to read, from the kubeconfig."""

    kube: Kube
    namespace: str
    context: str


def connect(context: str | None, namespace: str | None) -> ClusterTarget:
    """The kubeconfig's client for ``context`` (default: the current one) and namespace."""
    try:
        contexts, current = config.list_kube_config_contexts()  # type: ignore[no-untyped-call,unused-ignore]
    except (config.ConfigException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise SourceError(
            f"no usable kubeconfig ({first}): set KUBECONFIG or write ~/.kube/config"
        ) from None
    chosen = current
    if context is not None:
        chosen = next((c for c in contexts or [] if c.get("name") == context), None)
        if chosen is None:
            names = ", ".join(c.get("name", "?") for c in contexts or []) or "none"
            raise SourceError(f"--context: no context {context!r} in the kubeconfig ({names})")
    if not chosen:
        raise SourceError("the kubeconfig has no current context: pass --context NAME")
    name = chosen.get("name", "")
    try:
        api = config.new_client_from_config(context=name)  # type: ignore[no-untyped-call,unused-ignore]
    except (config.ConfigException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise SourceError(f"kubeconfig context {name!r} cannot be used: {first}") from None
    ns = namespace or (chosen.get("context") or {}).get("namespace") or "default"
    return ClusterTarget(Kube(api), ns, name)


def _call(target: ClusterTarget, what: str, call: Callable[[], T]) -> T:
    """Run one API call; API and network errors become one-line SourceErrors."""
    try:
        return call()
    except ApiException as exc:
        where = f"namespace {target.namespace} (context {target.context})"
        if exc.status == 403:
            raise SourceError(f"{what}: forbidden in {where}; ask for read access") from None
        if exc.status == 404:
            raise SourceError(
                f"{what}: not served in {where}; are Tradeoff's CRDs installed?"
            ) from None
        raise SourceError(f"{what}: the API said {exc.status} {exc.reason} in {where}") from None
    except HTTPError as exc:
        host = target.kube.api_client.configuration.host
        raise SourceError(f"cannot reach the cluster at {host} ({type(exc).__name__})") from None


def cluster_view(ref: str, target: ClusterTarget) -> StudyView:
    """The Study ``study/NAME`` and the Trials the operator made for it."""
    name = ref[len(CLUSTER_PREFIX) :]
    if not name:
        raise SourceError(f"{ref}: name the Study, e.g. study/my-study")
    found = _call(target, ref, lambda: target.kube.get_object("studies", target.namespace, name))
    if found is None:
        raise SourceError(
            f"{ref}: no Study {name!r} in namespace {target.namespace} (context"
            f" {target.context}); `tradeoff list --cluster` lists them, -n picks another"
        )
    try:
        spec = StudySpec.model_validate(found.get("spec") or {})
        status = StudyStatus.model_validate(found.get("status") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        at = ".".join(str(p) for p in first["loc"])
        raise SourceError(f"{ref}: {at}: {first['msg']} (made by another version?)") from None
    uid = str((found.get("metadata") or {}).get("uid", ""))
    items = _call(target, ref, lambda: target.kube.list_trials(target.namespace, name))
    records = []
    for item in items:
        if not owned_by(item, uid):
            continue  # not made by the operator for this Study: never counted
        record, _ = checked_record(item)
        if record is not None:  # the operator leaves out what is no record of the Study
            records.append(record)
    records = study_records(records, len(spec.objectives))  # as the operator does
    records.sort(key=lambda r: r.number)
    reason = next(
        (c.reason for c in status.conditions if c.type == status.state and c.status == "True"),
        "",
    )
    return StudyView(
        name,
        f"study/{name} in namespace {target.namespace}",
        spec,
        status.algorithm,
        records,
        status.state,
        reason,
        status.message or "",
    )


def list_studies(target: ClusterTarget) -> list[Obj]:
    """The Study objects of the namespace, by name."""
    listed: Obj = _call(
        target,
        "studies",
        lambda: target.kube.custom.list_namespaced_custom_object(
            GROUP, VERSION, target.namespace, "studies", _request_timeout=TIMEOUT
        ),
    )
    items: list[Obj] = listed.get("items") or []
    return sorted(items, key=lambda s: str(s.get("metadata", {}).get("name", "")))
