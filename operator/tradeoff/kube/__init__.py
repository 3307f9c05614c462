"""The Kubernetes operator: kopf handlers over the engine, pods built as data.

`pods` builds trial pods, `reconcile` plans a Study from its Trials, `status` writes
conditions, `attempts` judges ended pods, `trials` and `studies` do the API calls,
`handlers` registers them with kopf and `command` is `tradeoff operator`.
"""

from __future__ import annotations

from tradeoff.kube.pods import build_pod, harden, pod_name
from tradeoff.kube.reconcile import StudyPlan, plan_study
from tradeoff.kube.settings import Settings, SettingsError, settings_from

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
