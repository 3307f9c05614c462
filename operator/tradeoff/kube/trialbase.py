"""What every trial driver shares: reading its Trial, Study and pod, and writing status.

Where kopf runs, the Study and the pod come from its watches (`cache`, `podwatch`) and the
Trial from the API's answer to the driver's own last write, so a trial costs few reads;
outside kopf (unit tests) they are read from the API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial, TrialStatus
from tradeoff.economics import current_intensity, read_intensity
from tradeoff.engine.schedule import CARBON_DEFERRED, carbon_hold
from tradeoff.kube import attempts
from tradeoff.kube.attemptlog import AttemptLog
from tradeoff.kube.client import Obj, now_utc
from tradeoff.kube.events import object_ref, trial_outcome_events
from tradeoff.kube.measure import measurer
from tradeoff.kube.podwatch import UNSEEN
from tradeoff.kube.settings import crash_point
from tradeoff.kube.status import set_condition, values_summary
from tradeoff.kube.studies import Context, reconcile_study

log = logging.getLogger("tradeoff.operator")
PENDING_POLL = 0.4
"""Seconds between reads of a pending pod where no pods watch runs (outside kopf)."""
PENDING_WAIT = 2.0
"""Seconds a driver waits for a pending pod's next event before it looks again (the pull
timeout is judged by the clock, which no event reports)."""
STARTED_GRACE = 0.5
"""Seconds a driver waits for news of a pod it sees running before it records the trial
Running: a trial that ends within them is recorded once, as ended."""
FIRST_EVENT_WAIT = 1.0
"""Seconds a driver waits for the first event of a pod it created before it reads it."""
QUOTA_RETRY = 5.0
"""Seconds before creating a pod a ResourceQuota refused is tried again."""
QUOTA_EXCEEDED = "QuotaExceeded"
"""Reason of a trial whose next pod a ResourceQuota refused: that pod is still due."""
PARK_WAIT = 60.0
"""Seconds a driver that cancelled its trial waits for kopf to stop it (the trial no
longer matches the daemon's filter): a daemon stopped so is started again when the study
resumes, one that returned on its own would not be."""
TERMINAL = ("Succeeded", "Failed")


class Stopped(Exception):
    """The driver must stop (operator shutting down or paused): write nothing more."""


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
        self._created: str | None = None
        self.log = AttemptLog(self.kube, namespace, stopped, sleep, self._pod)

    def step(self) -> bool:
        """Act once on what is; False when there is nothing more to do."""
        raise NotImplementedError

    def run(self) -> None:
        try:
            while not self.stopped() and self.step():
                pass
        except Stopped:
            return
        finally:
            for pod in self._expected:
                self.ctx.pods.drop(self.namespace, pod)

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
        """The pod as the pods watch last reported it; read from the API if it has not."""
        if not self.ctx.watching:
            return self.kube.get_pod(self.namespace, name)
        self.ctx.pods.expect(self.namespace, name)
        self._expected.add(name)
        seen = self.ctx.pods.latest(self.namespace, name)
        if seen is UNSEEN and self._created == name:  # just created: its event is due
            self.ctx.pods.wait(self.namespace, name, FIRST_EVENT_WAIT)
            seen = self.ctx.pods.latest(self.namespace, name)
        return self.kube.get_pod(self.namespace, name) if seen is UNSEEN else seen

    def _await_pod(self, name: str) -> None:
        """Until the pod changes (its next event), or a while (a pending pod's timeout)."""
        if self.ctx.watching:
            self.ctx.pods.wait(self.namespace, name, PENDING_WAIT)
        else:
            self.sleep(PENDING_POLL)

    def _soon_news(self, name: str) -> bool:
        """Whether the pod changes within `STARTED_GRACE` (where the pods watch runs)."""
        return self.ctx.watching and self.ctx.pods.wait(self.namespace, name, STARTED_GRACE)

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
        return attempts.price(
            study, pod, node, settings.economics, container, now_utc(), reported, read, reader
        )
