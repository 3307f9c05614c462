"""What the Trials and pods informers tell the operator, and the informers themselves.

A Trial's event goes to the store (`cache.Store`), then wakes or makes its driver
(`drivers`); a pod's to the store, to the driver that waits on it (`podwatch`) and to the
ended pods' clean-up (`ended_pods`). The informers run on threads of their own, one per
resource and namespace (or cluster-wide); they pause while kopf's peering has another
replica act (`PeeringGate`), as kopf's own watches do, and list everything again when
they resume.
"""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from tradeoff.api.trial import FINISHED_STATES, STUDY_LABEL, TRIAL_LABEL
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.kube.context import Context
from tradeoff.kube.drivers import TrialDrivers
from tradeoff.kube.ended_pods import EndedPods
from tradeoff.kube.informer import Informer, Obj
from tradeoff.kube.listwatch import Sources, pod_source, scopes_of, trial_source
from tradeoff.kube.ownership import controller_of

log = logging.getLogger("tradeoff.operator")
PEERING_LOGGER = "kopf._core.engines.peering"
"""Where kopf says it pauses for another replica, or resumes (`PeeringGate`)."""


def runnable(body: Obj) -> bool:
    """An unfinished Trial that claims its Study as controller: no other gets a driver
    (the driver then checks the Study's uid). A trial a stop rule cancelled has no driver
    until its study resumes."""
    status, meta, spec = body.get("status"), body.get("metadata"), body.get("spec")
    state, reason = (status or {}).get("state"), (status or {}).get("reason")
    if state in FINISHED_STATES or waits_for_resume(state, reason):
        return False
    ref = controller_of({"metadata": {"ownerReferences": (meta or {}).get("ownerReferences")}})
    return (
        ref is not None
        and ref.get("kind") == "Study"
        and ref.get("name") == (spec or {}).get("study")
    )


Tombstone = tuple[str, str | None, str | None, str | None, str | None]
"""What a DELETED event needs of an object an informer saw, kept for each (`Mirror`):
its uid, study and trial labels, and its controller's kind and name. About 0.2 KiB."""


def tombstone(obj: Obj) -> Tombstone:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    owner = controller_of(obj) or {}

    def shared(value: Any) -> str | None:
        return sys.intern(value) if isinstance(value, str) else None

    return (
        str(meta.get("uid") or ""),
        shared(labels.get(STUDY_LABEL)),
        labels.get(TRIAL_LABEL),
        shared(owner.get("kind")),
        owner.get("name"),
    )


def deleted_body(key: tuple[str, str], stone: Tombstone) -> Obj:
    """The body of a DELETED event from an object's key and tombstone."""
    uid, study, trial, owner_kind, owner_name = stone
    labels = {k: v for k, v in ((STUDY_LABEL, study), (TRIAL_LABEL, trial)) if v is not None}
    owners = [{"kind": owner_kind, "name": owner_name, "controller": True}] if owner_kind else []
    meta = {"namespace": key[0], "name": key[1], "uid": uid, "labels": labels}
    return {"metadata": {**meta, "ownerReferences": owners}}


class Feeds:
    """The informers' handlers: Trials and the study-labelled pods."""

    def __init__(
        self,
        ctx: Context,
        drivers: TrialDrivers,
        ended: EndedPods | None,
        begun: Sources | None = None,
    ) -> None:
        self.ctx, self.drivers, self.ended = ctx, drivers, ended
        self.begun: Sources = dict(begun or {})
        """Sources whose first listings began before the informers (`listwatch.head_start`)."""
        # Deletions of ended pods on a thread of their own: the informers read on (a
        # restart that finds many to delete does not hold back the first listing).
        self._deleter = ThreadPoolExecutor(1, "ended-pods") if ended is not None else None

    def trial(self, kind: str | None, body: Obj) -> None:
        meta = body.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        gone = kind == "DELETED"
        self.ctx.store.trial(body, deleted=gone)
        if gone:
            self.drivers.trial_deleted(namespace, name)
        else:
            self.drivers.trial(body, runnable(body))
        if self.ended is not None:
            self._delete_ended(namespace, self.ended.trial(body, deleted=gone))

    def pod(self, kind: str | None, body: Obj) -> None:
        meta = body.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        gone = kind == "DELETED"
        self.ctx.store.pod(body, deleted=gone)
        trial = str((meta.get("labels") or {}).get(TRIAL_LABEL, ""))
        if self.ctx.pods.expected(namespace, name):  # a driver waits for it: wake it
            self.ctx.pods.seen(namespace, name, None if gone else body)
            self.drivers.pod(namespace, trial)
        elif trial:  # a pod a trial's workload made: its driver reads the pods itself
            self.drivers.pod(namespace, trial)
        if self.ended is not None:
            self._delete_ended(namespace, self.ended.pod(body, deleted=gone))

    def close(self) -> None:
        """The operator stops: deletions not begun are dropped (the next start redoes them)."""
        if self._deleter is not None:
            self._deleter.shutdown(wait=False, cancel_futures=True)

    def _delete_ended(self, namespace: str, names: list[str]) -> None:
        if names and self._deleter is not None:
            self._deleter.submit(self._delete_pods, namespace, names)

    def _delete_pods(self, namespace: str, names: list[str]) -> None:
        """Delete ended pods whose trials' ends are recorded; a failure leaves them."""
        for pod in names:
            try:
                self.ctx.kube.delete_pod(namespace, pod, 0)
            except (ApiException, HTTPError, OSError) as error:
                log.warning("%s/%s: the ended pod stays: %s", namespace, pod, error)

    def informers(self) -> list[Informer]:
        """The informers of Trials and pods for the operator's namespaces (not started)."""
        settings, store, begun = self.ctx.settings, self.ctx.store, self.begun
        made: list[Informer] = []
        for scope in scopes_of(settings):
            where = scope or "all namespaces"
            trials = begun.pop(("trials", scope), None) or trial_source(self.ctx.kube, scope)
            pods = begun.pop(("pods", scope), None) or pod_source(
                self.ctx.kube, scope, STUDY_LABEL, self.ended is not None
            )
            made.append(
                Informer(
                    f"Trials in {where}",
                    trials,
                    self.trial,
                    (tombstone, deleted_body),
                    lambda scope=scope: store.listed("trials", scope),  # type: ignore[misc]
                )
            )
            made.append(
                Informer(
                    f"pods in {where}",
                    pods,
                    self.pod,
                    (tombstone, deleted_body),
                    lambda scope=scope: store.listed("pods", scope),  # type: ignore[misc]
                )
            )
        return made


class PeeringGate(logging.Filter):
    """Pauses the informers and the trials' drivers while kopf's peering has another
    replica act.

    kopf starts paused when peering is on, and pauses or resumes its own watches as peers
    come and go. It says so in its log (its toggle is not reachable otherwise): "Pausing
    operations ..." or "Pausing all operators ..." when it pauses (only if it was not
    paused already), "Resuming operations ..." when it resumes. The records pass through
    unchanged.
    """

    def __init__(self, informers: list[Informer], drivers: TrialDrivers, paused: bool) -> None:
        super().__init__()
        self.informers, self.drivers = informers, drivers
        self.paused = paused

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Pausing ") and not self.paused:
            self.paused = True
            self.drivers.pause()
            for informer in self.informers:
                informer.pause()
        elif message.startswith("Resuming operations") and self.paused:
            self.paused = False
            self.drivers.resume()
            for informer in self.informers:
                informer.resume()
        return True


def start(informers: list[Informer], drivers: TrialDrivers, peering: bool) -> PeeringGate:
    """Start the informers, paused and resumed with kopf's peering (paused until kopf
    resumes, if `peering`); returns the gate."""
    gate = PeeringGate(informers, drivers, paused=peering)
    logger = logging.getLogger(PEERING_LOGGER)
    if not logger.isEnabledFor(logging.INFO):  # the gate must see kopf's INFO lines
        logger.setLevel(logging.INFO)
    logger.addFilter(gate)
    for informer in informers:
        if peering:
            informer.pause()
        informer.start()
    return gate


def stop(gate: PeeringGate) -> None:
    logging.getLogger(PEERING_LOGGER).removeFilter(gate)
    for informer in gate.informers:
        informer.stop()
