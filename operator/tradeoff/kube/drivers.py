"""The drivers of unfinished Trials, run on a bounded pool when something wakes them.

kopf's watch events feed this (no thread per trial, no polling): a Trial's event wakes
its driver (making one for an unfinished Trial its Study controls), a pod's or a
workload's event wakes the driver of the trial it belongs to (its label), a Study's
event that ends it or edits its spec wakes the drivers of its trials, a followed log's
news wakes its driver, and one timer heap wakes a driver at a time it asked for
(`Wakeups`). A step is level-based (`TrialDriver.step`), so a wake-up with nothing new
costs a look, never an action; one trial's driver never runs twice at once. A driver
whose step raised runs again after `retry_delay` (half a second, doubling, at most 30 s).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from tradeoff.kube.client import retry_after
from tradeoff.kube.context import Context
from tradeoff.kube.trialbase import TERMINAL, park
from tradeoff.kube.trials import TrialDriver
from tradeoff.kube.wakeups import Wakeups

Key = tuple[str, str]
log = logging.getLogger("tradeoff.operator")
FIRST_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 30.0


def retry_delay(retry: int, error: BaseException | None = None) -> float:
    """Seconds before a failed handler runs again, after `retry` failures in a row."""
    delay = min(FIRST_RETRY_DELAY * 2.0 ** min(retry, 16), MAX_RETRY_DELAY)
    asked = retry_after(error) if error is not None else None
    return max(delay, min(asked, MAX_RETRY_DELAY)) if asked is not None else delay


class TrialDrivers:
    """One `TrialDriver` per unfinished Trial, stepped when woken."""

    def __init__(self, ctx: Context, workers: int) -> None:
        self._ctx = ctx
        self._drivers: dict[Key, TrialDriver] = {}
        self._by_study: dict[Key, set[str]] = {}
        self._study_seen: dict[Key, tuple[Any, Any]] = {}
        self._guard = threading.Lock()
        self._closed = False
        self._paused = False
        self._retired: dict[Key, list[TrialDriver]] = {}
        self._wakeups: Wakeups[Key] = Wakeups(self._advance, workers, name="trial")

    def trial(self, body: Mapping[str, Any], runnable: bool) -> None:
        """A Trial's watch event (kept in `ctx.store` first): wake its driver, if it has
        one or is `runnable`, when the event says something its driver does not know."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name", "")))
        study = str((body.get("spec") or {}).get("study") or "")
        with self._guard:
            driver = self._drivers.get(key)
            if driver is None:
                if not runnable or self._closed or self._paused:
                    return
                if not self._ctx.store.current(body):
                    return  # an event older than what the operator wrote since: stale
                driver = self._new_driver(key, study)
        if driver.seen(body):
            self._wakeups.wake(key)

    def ensure(self, namespace: str, study: str, names: list[str]) -> None:
        """Drive the named unfinished Trials that have no driver (a study's pass names
        them: their watch event was lost); the driver reads its Trial from the API."""
        with self._guard:
            if self._closed or self._paused:
                return
            missing = [n for n in names if (namespace, n) not in self._drivers]
            for name in missing:
                log.warning(
                    "Trial %s/%s had no driver (its event was lost): driving it", namespace, name
                )
                self._new_driver((namespace, name), study)
        for name in missing:
            self._wakeups.wake((namespace, name))

    def trial_deleted(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        with self._guard:
            driver = self._drivers.pop(key, None)
            if driver is not None:
                self._unlink(key, driver)
                self._retire(key, driver)
        if driver is not None:
            self._wakeups.wake(key)

    def pod(self, namespace: str, trial: str) -> None:
        """An event of a pod of `trial` (or of its workload) that its driver waits on."""
        if (namespace, trial) in self._drivers:
            self._wakeups.wake((namespace, trial))

    def study(self, body: Mapping[str, Any]) -> None:
        """A Study's event: its trials' drivers look again when it ended or its spec
        changed (a new generation), else they have nothing to learn from it."""
        meta, status = body.get("metadata") or {}, body.get("status") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name", "")))
        state = status.get("state")
        seen = (meta.get("generation"), state)
        with self._guard:
            before = self._study_seen.get(key)
            self._study_seen[key] = seen
            names = list(self._by_study.get(key, ()))
        edited = before is not None and before[0] != seen[0]
        ended = state in TERMINAL and (before is None or before[1] != state)
        if not (edited or ended):
            return
        for name in names:
            self._wakeups.wake((key[0], name))

    def study_deleted(self, namespace: str, name: str) -> None:
        with self._guard:
            self._study_seen.pop((namespace, name), None)

    def pause(self) -> None:
        """Another replica acts (kopf's peering): every driver stops at its next step or
        write and is let go, and none is made until `resume` (the informers then list
        again, which makes the drivers of the unfinished Trials anew)."""
        with self._guard:
            self._paused = True
            drivers, self._drivers, self._by_study = self._drivers, {}, {}
            for key, driver in drivers.items():
                self._retire(key, driver)
        for key in drivers:
            self._wakeups.wake(key)

    def resume(self) -> None:
        with self._guard:
            self._paused = False

    def close(self) -> None:
        """The operator stops: every driver stops at its next step or write."""
        with self._guard:
            self._closed = True
            drivers = list(self._drivers.values())
        for driver in drivers:
            driver.stopping = True
            driver.log.close()
        self._wakeups.close()

    @property
    def count(self) -> int:
        with self._guard:
            return len(self._drivers)

    def _new_driver(self, key: Key, study: str) -> TrialDriver:
        namespace, name = key
        driver = TrialDriver(self._ctx, namespace, name, stopped=_never, sleep=park)
        driver.stopped = lambda: driver.stopping or self._closed
        driver.log.stopped = driver.stopped
        driver.wake = lambda: self._wakeups.wake(key)
        driver.study_name = study
        self._drivers[key] = driver
        self._by_study.setdefault((namespace, study), set()).add(name)
        return driver

    def _retire(self, key: Key, driver: TrialDriver) -> None:
        """`driver` must stop: its next step (`_advance`, never at once with another of
        the same key) lets go of what it holds; a new driver may take its key meanwhile."""
        driver.stopping = True
        self._retired.setdefault(key, []).append(driver)

    def _unlink(self, key: Key, driver: TrialDriver) -> None:
        names = self._by_study.get((key[0], driver.study_name))
        if names is not None:
            names.discard(key[1])
            if not names:
                del self._by_study[(key[0], driver.study_name)]

    def _advance(self, key: Key) -> float | None:
        with self._guard:
            driver = self._drivers.get(key)
            retired = self._retired.pop(key, ())
        for old in retired:
            old.release()
        if driver is None:
            return None
        try:
            wait = driver.advance()
            driver.failures = 0
        except Exception as error:
            wait = self._failed(driver, error)
        if driver.done:
            with self._guard:
                if self._drivers.get(key) is driver:
                    del self._drivers[key]
                    self._unlink(key, driver)
            return None
        return wait

    def _failed(self, driver: TrialDriver, error: Exception) -> float:
        self._ctx.observer.reconcile_error("trial")
        delay = retry_delay(driver.failures, error)
        driver.failures += 1
        where = f"Trial {driver.namespace}/{driver.name}"
        if isinstance(error, ApiException | HTTPError | OSError):
            first = str(error).splitlines()[0] if str(error) else error.__class__.__name__
            log.warning("%s: %s; retrying in %.1f s", where, first[:300], delay)
        else:
            log.error("%s: unexpected error; retrying in %.1f s", where, delay, exc_info=error)
        return delay


def _never() -> bool:
    return False
