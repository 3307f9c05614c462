"""Which ended pods may go: those of finished trials (``TRADEOFF_DELETE_ENDED_PODS``).

A trial's pod is deleted once the watches have shown both that the pod ended and that
its Trial is finished: the Trial's end (its result, read from that pod's log) is then in
the API, so nothing is lost if the operator dies at any point. The two events may come
in either order (after a restart, kopf lists Trials and pods side by side), so what one
of them found is kept until the other comes: the ended pods of trials not yet finished
(a few: the trials that run) and the finished trials (one name each). Only the pods a
Trial controls are considered (a workload's pods are its controller's to keep).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from tradeoff.api.trial import FINISHED_STATES
from tradeoff.kube.attempts import phase
from tradeoff.kube.ownership import controller_of

Key = tuple[str, str]
"""(namespace, trial name)."""


class EndedPods:
    """Pairs ended pods with finished trials; each call returns the pods to delete now."""

    def __init__(self) -> None:
        self._pods: dict[Key, set[str]] = {}
        self._finished: set[Key] = set()
        self._guard = threading.Lock()

    def trial(self, body: Mapping[str, Any], deleted: bool = False) -> list[str]:
        """A Trial's event; the names of its ended pods to delete now."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        done = (body.get("status") or {}).get("state") in FINISHED_STATES
        with self._guard:
            if deleted:  # its pods go with it (owner references)
                self._finished.discard(key)
                self._pods.pop(key, None)
                return []
            if not done:
                return []
            self._finished.add(key)
            return sorted(self._pods.pop(key, ()))

    def pod(self, body: Mapping[str, Any], deleted: bool = False) -> list[str]:
        """A pod's event; [its name] if it is to be deleted now."""
        owner = controller_of(dict(body)) or {}
        if owner.get("kind") != "Trial":
            return []
        meta = body.get("metadata") or {}
        name = str(meta.get("name") or "")
        key = (str(meta.get("namespace") or ""), str(owner.get("name") or ""))
        ended = phase(dict(body)) == "ended" and not meta.get("deletionTimestamp")
        with self._guard:
            if deleted or not ended:
                kept = self._pods.get(key)
                if kept is not None:
                    kept.discard(name)
                    if not kept:
                        del self._pods[key]
                return []
            if key in self._finished:
                return [name]
            self._pods.setdefault(key, set()).add(name)
            return []
