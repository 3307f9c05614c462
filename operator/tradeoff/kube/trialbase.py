"""What every trial driver shares: reading its Trial, Study and pod, and writing status.

Where kopf runs, the Study and the pod come from its watches (`cache`, `podwatch`) and the
Trial from its watch event or the API's answer to the driver's own last write, so a trial
costs few reads; outside kopf (unit tests) they are read from the API. Where kopf runs, a
driver never waits in a thread: a step that must wait raises `Park` (for an event of its
Trial or pod, or a time) and `TrialDrivers` runs it again when one comes (`advance`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, NoReturn

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial, TrialStatus
from tradeoff.economics import current_intensity, read_intensity
from tradeoff.engine.schedule import CARBON_DEFERRED, carbon_hold
from tradeoff.kube import attempts, pod_price
from tradeoff.kube.attemptlog import AttemptLog, Park
from tradeoff.kube.cache import newer, plain
from tradeoff.kube.client import Obj, now_utc
from tradeoff.kube.context import Context
from tradeoff.kube.events import object_ref, trial_outcome_events
from tradeoff.kube.measure import measurer
from tradeoff.kube.podwatch import UNSEEN
from tradeoff.kube.settings import crash_point
from tradeoff.kube.status import set_condition, values_summary
from tradeoff.kube.studies import reconcile_study

log = logging.getLogger("tradeoff.operator")
PENDING_POLL = 0.4
"""Seconds between reads of a pending pod where no pods watch runs (outside kopf)."""
IDLE_RECHECK = 300.0
"""Seconds a driver that waits for events only looks again anyway; a pod its watch last
reported longer ago than this is read from the API (a watch outage may hide a deletion)."""
INVALID_RECHECK = 10.0
"""Seconds before a driver whose Study is invalid looks again (an edit wakes it sooner)."""
MAX_STEPS = 50
"""Steps one `advance` takes at most before it lets other drivers run."""
STARTED_GRACE = 0.5
"""Seconds a driver waits for news of a pod it sees running before it records the trial
Running: a trial that ends within them is recorded once, as ended."""
FIRST_EVENT_WAIT = 10.0
"""Seconds a driver waits for the first event of a pod it created before it reads it
(the watch reports every pod it creates; a loaded operator may see it seconds later)."""
QUOTA_RETRY = 5.0
"""Seconds before creating a pod a ResourceQuota refused is tried again."""
QUOTA_EXCEEDED = "QuotaExceeded"
"""Reason of a trial whose next pod a ResourceQuota refused: that pod is still due."""
TERMINAL = ("Succeeded", "Failed")


class Stopped(Exception):
    """The driver must stop (operator shutting down or paused): write nothing more."""


def park(seconds: float) -> NoReturn:
    """`sleep` of a driver run by events: wait for news of the trial or `seconds`."""
    raise Park(seconds)


class TrialBase:
    """One Trial's driver: what it reads and writes (the steps are `TrialDriver`'s)."""

    def __init__(
        self,
        ctx: Context,
        namespace: str,
        name: str,
        stopped: Callable[[], bool],
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.ctx, self.kube = ctx, ctx.kube
        self.namespace, self.name = namespace, name
        self.stopped, self.sleep = stopped, sleep
        self._study_uid = ""
        self._algorithm = ""
        self._obj: Obj | None = None
        """The Trial as the API answered the driver's last write (no re-read needed)."""
        self._expected: set[str] = set()
        self._created: tuple[str, float] | None = None
        """The pod this driver created last, and when (`time.monotonic()`)."""
        self._grace: tuple[str, float] | None = None
        """A pod seen running, and until when its driver waits before it says Running."""
        self.wake: Callable[[], object] = lambda: None
        """Runs the driver again soon (set by `TrialDrivers`): news of its followed log."""
        self.stopping = False
        """Set when the Trial was deleted or the operator stops (`TrialDrivers`)."""
        self.study_name = ""
        self.failures = 0
        """Steps that raised in a row (their retry backs off)."""
        self.done = False
        self.log = AttemptLog(self.kube, namespace, stopped, sleep, self._pod)

    def step(self) -> bool:
        """Act once on what is; False when there is nothing more to do."""
        raise NotImplementedError

    def run(self) -> None:
        """Step until the trial is done, sleeping where a step waits (outside kopf)."""
        try:
            while not self.stopped():
                try:
                    if not self.step():
                        break
                except Park as parked:
                    self.sleep(PENDING_POLL if parked.seconds is None else parked.seconds)
        except Stopped:
            return
        finally:
            self.release()

    def advance(self) -> float | None:
        """Step until the trial must wait (where kopf runs): the seconds until it looks
        again by itself, or None when it is done (`done`)."""
        try:
            for _ in range(MAX_STEPS):
                if self.stopped() or not self.step():
                    self.release()
                    return None
            return 0.0
        except Park as parked:
            return IDLE_RECHECK if parked.seconds is None else parked.seconds
        except Stopped:
            self.release()
            return None

    def seen(self, obj: Mapping[str, Any]) -> bool:
        """A watch event of the Trial: kept if newer than what the driver knows (its own
        last write, say); True if it was (news worth a step)."""
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        known = str(((self._obj or {}).get("metadata") or {}).get("resourceVersion", ""))
        if self._obj is not None and not newer(version, known):
            return False
        self._obj = plain(obj)
        return True

    def release(self) -> None:
        """The driver is done: let go of its pods' watch slots and its log stream."""
        self.done = True
        self.log.close()
        for pod in self._expected:
            self.ctx.pods.drop(self.namespace, pod)
        self._expected.clear()

    # -- reading (from the watches where kopf runs) ------------------------------------
    def _study(self, name: str) -> Obj | None:
        """The Study from the studies watch; read from the API when it has none or says
        it ended (a reopened Study must not stop a trial the index does not know yet)."""
        if self.ctx.watching:
            found = self.ctx.store.study_obj((self.namespace, name))
            if found is not None and (found.get("status") or {}).get("state") not in TERMINAL:
                return found
        return self.kube.get_object("studies", self.namespace, name)

    def _pod(self, name: str) -> Obj | None:
        """The pod as the pods watch last reported it (within `IDLE_RECHECK` seconds);
        read from the API if it has not. A pod just created has its first event awaited
        for `FIRST_EVENT_WAIT` seconds (the driver parks) before it is read."""
        if not self.ctx.watching:
            return self.kube.get_pod(self.namespace, name)
        self.ctx.pods.expect(self.namespace, name)
        self._expected.add(name)
        seen = self.ctx.pods.latest(self.namespace, name, max_age=IDLE_RECHECK)
        if seen is not UNSEEN:
            return seen
        if self._created is not None and self._created[0] == name:  # its event is due
            left = self._created[1] + FIRST_EVENT_WAIT - time.monotonic()
            if left > 0:
                raise Park(left)
        pod = self.kube.get_pod(self.namespace, name)
        self.ctx.pods.seen(self.namespace, name, pod)
        return pod

    def _await_pod(self, pod: Obj) -> None:
        """Until the pending pod changes (its next event), or its pull timeout is due."""
        if not self.ctx.watching:
            self.sleep(PENDING_POLL)
            return
        due = attempts.pull_due(pod, now_utc(), self.ctx.settings.pending_timeout)
        raise Park(None if due is None else due + 0.1)

    def _settle(self, name: str) -> None:
        """Where kopf runs, park until the pod seen running has been so `STARTED_GRACE`
        seconds (its events wake the driver sooner): a trial that ends within them is
        recorded once, as ended, not first as Running."""
        if not self.ctx.watching:
            return
        now = time.monotonic()
        if self._grace is None or self._grace[0] != name:
            self._grace = (name, now + STARTED_GRACE)
        if now < self._grace[1]:
            raise Park(self._grace[1] - now)

    # -- writing -----------------------------------------------------------------------
    def _end(self, study: Study, trial: Trial, status: TrialStatus) -> None:
        now = now_utc()
        status.completion_time = now
        status.summary = values_summary(study.spec.objective_names, status.values)
        status.conditions = set_condition(
            status.conditions,
            status.state,
            "True",
            status.reason or status.state,
            status.message or "",
            generation=None,
            now=now,
        )
        self._write(status)
        crash_point(self.ctx.settings, "after-trial-finish")
        if status.state == "Pruned":
            crash_point(self.ctx.settings, "after-trial-pruned")
        trial.status = status
        log.info("Trial %s/%s %s %s", self.namespace, self.name, status.state, status.reason or "")
        self.ctx.observer.trial_finished(self.namespace, study.metadata.name, trial)
        for ref, event in trial_outcome_events(study, trial, self.namespace):
            self.kube.event(ref, event.type, event.reason, event.message)
        reconcile_study(self.ctx, self.namespace, study.metadata.name)

    def _waiting(self, trial: Trial, reason: str, message: str) -> None:
        """Say why the trial is still Pending (shown by `kubectl describe trial`)."""
        status = trial.status.model_copy(deep=True)
        status.state, status.reason, status.message = "Pending", reason, message
        self._write(status)
        trial.status = status
        log.info("Trial %s/%s waits: %s", self.namespace, self.name, message)

    def _carbon_wait(self, study: Study, trial: Trial, created: datetime | None) -> bool:
        """Hold the trial's first pod while the engine's carbon rule says so; True: held."""
        rule = study.spec.schedule.carbon_aware if study.spec.schedule else None
        if rule is None:
            return False
        settings = self.ctx.settings
        region = rule.region or (settings.intensity.region if settings.intensity else None)
        value, why = current_intensity(settings.intensity_source, settings.intensity, region)
        now = now_utc()
        decision = carbon_hold(
            rule, value, created or now, now, region=region, unknown=why, poll=settings.carbon_poll
        )
        ref = object_ref(trial, self.namespace)
        if not decision.hold:
            if trial.status.reason == CARBON_DEFERRED:
                self.kube.event(ref, "Normal", "CarbonReleased", decision.message)
            return False
        if trial.status.reason != CARBON_DEFERRED:
            self.kube.event(ref, "Normal", CARBON_DEFERRED, decision.message)
        if trial.status.message != decision.message:
            self._waiting(trial, CARBON_DEFERRED, decision.message)
        self.sleep(decision.recheck)
        return True

    def _write(self, status: TrialStatus) -> None:
        if self.stopped():
            raise Stopped
        written = self.kube.replace_status("trials", self.namespace, self.name, status.wire())
        self.ctx.store.trial(written)
        self._obj = written if isinstance(written, dict) else None

    def _price(
        self, study: Study, pod: Obj, container: str, reported: dict[str, float] | None = None
    ) -> TrialEconomics | None:
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.ctx.node(node_name) if node_name else None
        settings = self.ctx.settings
        source = settings.intensity_source
        reader = None
        if source is not None:
            reader = partial(read_intensity, source, settings.intensity)
        read = measurer(
            settings.prometheus_url, settings.prometheus_timeout, settings.prometheus_settle
        )
        return pod_price.price(
            study, pod, node, settings.economics, container, now_utc(), reported, read, reader
        )
