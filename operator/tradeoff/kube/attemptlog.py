"""What the pod of one attempt prints, as the trial driver reads it.

While the pod runs its log is followed and parsed as it streams (`LogFollower`): the
driver is handed a bounded copy of what was read at most every `status_interval` seconds
(to write intermediate values and ask the pruner). When the pod has ended, its output is
what the followed log said, if it was followed to its end; otherwise the log is streamed
through the parser once more, and only if that breaks is a bounded tail read.

Where kopf runs (`look`), only a trial whose study prunes has its log followed while it
runs (one stream, in a thread of its own, for each such running trial: as many as the
pruning studies' `parallelism` allow); its news wakes the driver. Any other trial's log
is read once, when its pod has ended.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

from tradeoff.api.study import Study
from tradeoff.kube import attempts
from tradeoff.kube.client import Kube, Obj
from tradeoff.kube.logs import LogFollower, read_tail, read_whole
from tradeoff.trial_output import TrialOutput

LOG_POLL = 0.2
STUDY_CHECK = 2.0
"""Seconds between reads of the Study and the pod while a log is followed."""
LIVE_END_WAIT = 2.0
"""Seconds the live log of a pod seen ended is given to reach its end before it is read
again from the start."""
STREAM_END_WAIT = 10.0
"""Seconds a pod whose log reached its end may still look running before it is followed
again (the kubelet reports the container's end a little after the log ends)."""


class Interrupted(Exception):
    """Reading was given up because the driver must stop."""


class Park(Exception):
    """A driver run by events waits: for news of its trial (an event of the Trial or its
    pod, lines of a followed log) or `seconds` (None: news only)."""

    def __init__(self, seconds: float | None) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass
class _Live:
    """The log a driver run by events follows while the pod runs."""

    uid: str
    follower: LogFollower
    started: float
    written: int = -1
    last_write: float = 0.0
    complete_at: float | None = None


@dataclass
class AttemptLog:
    """Reads the logs of one trial's attempts for its driver."""

    kube: Kube
    namespace: str
    stopped: Callable[[], bool]
    sleep: Callable[[float], object]
    read_pod: Callable[[str], Obj | None] | None = None
    """How the pod is read (the driver's view of the pods watch); default: the API."""
    _followed: tuple[str, TrialOutput, bool] | None = None
    """The last followed pod's uid, what its log said, and whether it was read whole."""
    _live: _Live | None = None

    def look(
        self,
        study: Study,
        pod: Obj,
        container: str,
        status_interval: float,
        progress: Callable[[TrialOutput], bool],
        wake: Callable[[], object],
    ) -> bool:
        """One look at a running pod's log for a driver run by events: False if the trial
        was pruned (`progress` said so); True to step again; else raises `Park`."""
        if study.spec.early_stopping.algorithm == "none":
            self.close()
            raise Park(None)  # its pod's events wake the driver; the log is read at the end
        name, uid = pod["metadata"]["name"], str(pod["metadata"].get("uid", ""))
        live = self._live
        if live is None or live.uid != uid:
            self.close()
            output = attempts.new_output(study)
            follower = LogFollower(self.kube, self.namespace, name, container, output, wake)
            live = self._live = _Live(uid, follower, time.monotonic())
            follower.start()
        follower, now = live.follower, time.monotonic()
        wait: float | None = None
        with follower.lock:
            steps = follower.output.steps
        if steps and steps != live.written:
            due = live.last_write + status_interval
            if now < due:
                wait = due - now
            else:
                with follower.lock:  # a bounded copy: the series of one metric, caps
                    seen = copy.deepcopy(follower.output)
                    follower.armed = True
                live.written, live.last_write = seen.steps, now
                if progress(seen):
                    self.close()
                    return False
        if follower.finished:
            with follower.lock:
                self._followed = (uid, follower.output, follower.complete)
            if not follower.complete:  # broken: follow afresh (after a breath if at once)
                self._live = None
                if now - live.started < 0.5:
                    raise Park(LOG_POLL)
                return True
            live.complete_at = live.complete_at or now
            left = live.complete_at + STREAM_END_WAIT - now
            if left <= 0:  # whole, yet the pod still runs: follow it again
                self._live = None
                return True
            wait = left if wait is None else min(wait, left)
        raise Park(wait)

    def close(self) -> None:
        """Stop following the live log, if one is followed (`look`)."""
        live, self._live = self._live, None
        if live is not None:
            live.follower.close()

    def _take_live(self, uid: str) -> None:
        """Before an ended pod's output is read: what its live log said, if it was
        followed (given a moment to reach its end: the pod has ended)."""
        live, self._live = self._live, None
        if live is None:
            return
        if live.uid == uid:
            live.follower.ended.wait(LIVE_END_WAIT)
        live.follower.close()
        if live.uid == uid:
            with live.follower.lock:
                self._followed = (uid, live.follower.output, live.follower.complete)

    def follow(
        self,
        study: Study,
        pod: Obj,
        container: str,
        status_interval: float,
        progress: Callable[[TrialOutput], bool],
        study_ended: Callable[[], bool],
    ) -> bool:
        """Follow a running pod's log until it ends, the pod is gone or ended, the study
        ended, or the driver must stop. `progress` gets what was read whenever
        intermediate values arrived; False when it says to stop (the trial was pruned)."""
        name, uid = pod["metadata"]["name"], str(pod["metadata"].get("uid", ""))
        output = attempts.new_output(study)
        follower = LogFollower(self.kube, self.namespace, name, container, output)
        started = last_write = last_check = time.monotonic()
        written = -1
        follower.start()
        try:
            while not self.stopped():
                follower.wait(LOG_POLL)
                due = time.monotonic() - last_write >= status_interval
                if output.steps != written and output.steps and due:
                    with follower.lock:  # a bounded copy: the series of one metric, caps
                        seen = copy.deepcopy(output)
                    written, last_write = seen.steps, time.monotonic()
                    if progress(seen):
                        return False
                if follower.finished:
                    break
                if time.monotonic() - last_check >= STUDY_CHECK:
                    last_check = time.monotonic()
                    # The stream may hang (a lost node, a proxy): judge the pod by itself.
                    if not self._running(name, uid):
                        break
                    if study_ended():
                        return True
        finally:
            follower.close()
        with follower.lock:
            self._followed = (uid, output, follower.complete)
        if follower.complete:
            self._await_end(name, uid)  # the log is read: do not read it again meanwhile
        elif time.monotonic() - started < 0.5:
            self.sleep(LOG_POLL)  # the stream ended at once: let the pod's status catch up
        return True

    def _running(self, name: str, uid: str) -> bool:
        now = self.read_pod(name) if self.read_pod else self.kube.get_pod(self.namespace, name)
        return (
            now is not None and now["metadata"].get("uid") == uid and attempts.phase(now) != "ended"
        )

    def _await_end(self, name: str, uid: str) -> None:
        """Wait (a while) for a pod whose log stream ended to be seen as ended."""
        deadline = time.monotonic() + STREAM_END_WAIT
        while time.monotonic() < deadline and not self.stopped():
            if not self._running(name, uid):
                return
            self.sleep(LOG_POLL)

    def ended_output(self, study: Study, pod: Obj, container: str) -> TrialOutput:
        """What the ended pod's log said: as followed to its end, or else read again as a
        stream from the start; if that stream breaks, what it read plus the bounded tail."""
        name, uid = pod["metadata"]["name"], str(pod["metadata"].get("uid", ""))
        self._take_live(uid)
        followed, self._followed = self._followed, None
        if followed is not None and followed[0] == uid and followed[2]:
            return followed[1]
        output = attempts.new_output(study)
        if read_whole(self.kube, self.namespace, name, container, output, self.stopped):
            return output
        if self.stopped():
            raise Interrupted
        tail = attempts.new_output(study)
        read_tail(self.kube, self.namespace, name, container, tail)
        output.merge(tail)
        return output
