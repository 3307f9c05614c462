"""The Kubernetes operator: kopf handlers over the engine, pods built as data.

`pods` builds trial pods, `reconcile` plans a Study from its Trials, `status` writes
conditions, `attempts` judges ended pods, `trials` and `studies` do the API calls,
`handlers` registers them with kopf and `command` is `tradeoff operator`.

The names below are imported when first asked for (PEP 562), so importing a module of
this package (`command`, at the operator's start) does not import them all first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradeoff.kube.pods import build_pod, harden, pod_name
    from tradeoff.kube.reconcile import StudyPlan, plan_study
    from tradeoff.kube.settings import Settings, SettingsError, settings_from

_WHERE = {
    "build_pod": "tradeoff.kube.pods",
    "harden": "tradeoff.kube.pods",
    "pod_name": "tradeoff.kube.pods",
    "StudyPlan": "tradeoff.kube.reconcile",
    "plan_study": "tradeoff.kube.reconcile",
    "Settings": "tradeoff.kube.settings",
    "SettingsError": "tradeoff.kube.settings",
    "settings_from": "tradeoff.kube.settings",
}

__all__ = [
    "Settings",
    "SettingsError",
    "StudyPlan",
    "build_pod",
    "harden",
    "plan_study",
    "pod_name",
    "settings_from",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(where), name)
