"""Trial drivers stepped on a bounded pool when woken: one run per trial at a time,
due times from one timer heap, stale events ignored, failed steps retried with backoff."""

from __future__ import annotations

import threading
import time
from typing import Any

from kubernetes.client.exceptions import ApiException

from tradeoff.api.trial import Trial
from tradeoff.kube.context import Context
from tradeoff.kube.drivers import TrialDrivers
from tradeoff.kube.pods import owner_reference
from tradeoff.kube.settings import Settings
from tradeoff.kube.wakeups import Wakeups


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def test_a_key_never_runs_twice_at_once_and_runs_once_more_when_woken_meanwhile() -> None:
    inside: dict[str, int] = {"a": 0, "b": 0}
    most = {"a": 0, "b": 0}
    runs: list[str] = []
    release = threading.Event()
    guard = threading.Lock()

    def run(key: str) -> None:
        with guard:
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            runs.append(key)
        if key == "a" and runs.count("a") == 1:
            release.wait(5)
        with guard:
            inside[key] -= 1

    wakeups: Wakeups[str] = Wakeups(run, workers=4)
    wakeups.wake("a")
    wait_for(lambda: runs == ["a"])
    for _ in range(10):  # all while its first run waits: one more run serves them all
        wakeups.wake("a")
    wakeups.wake("b")  # another key is not held up
    wait_for(lambda: "b" in runs)
    release.set()
    wait_for(lambda: runs.count("a") == 2 and wakeups.running == 0)
    time.sleep(0.1)
    assert runs.count("a") == 2 and most == {"a": 1, "b": 1}
    wakeups.close()


def test_a_run_asks_for_its_next_time_and_an_earlier_event_replaces_it() -> None:
    times: list[float] = []
    started = time.monotonic()

    def run(key: str) -> float | None:
        times.append(time.monotonic() - started)
        return 0.3 if len(times) < 3 else None

    wakeups: Wakeups[str] = Wakeups(run, workers=1)
    wakeups.wake("k")
    wait_for(lambda: len(times) == 2)
    assert 0.25 <= times[1] - times[0] < 1.0  # the due time it asked for
    wakeups.wake_in("k", 60.0)  # replaced by the run's own answer below
    wakeups.wake("k")  # an event, before its due time
    wait_for(lambda: len(times) == 3)
    time.sleep(0.6)
    assert len(times) == 3  # it said None: no stray wake-up of an older due time
    wakeups.close()


def test_the_pool_is_bounded() -> None:
    inside, most = [0], [0]
    guard = threading.Lock()
    done: list[int] = []

    def run(key: int) -> None:
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.02)
        with guard:
            inside[0] -= 1
            done.append(key)

    wakeups: Wakeups[int] = Wakeups(run, workers=3)
    for key in range(30):
        wakeups.wake(key)
    wait_for(lambda: len(done) == 30)
    assert most[0] == 3
    wakeups.close()


class FailingKube:
    """Every read answers 503, at times noted."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def get_object(self, plural: str, namespace: str, name: str) -> Any:
        self.times.append(time.monotonic())
        raise ApiException(status=503, reason="injected")


def trial_body(version: str, state: str = "Pending") -> dict[str, Any]:
    body: dict[str, Any] = Trial.new("demo", 3, {"x": 0.5}, None, "ns").wire()
    body["metadata"].update(
        uid="t-uid",
        resourceVersion=version,
        ownerReferences=[owner_reference("Study", "demo", "s-uid")],
    )
    body["status"] = {"state": state}
    return body


def drivers_over(kube: Any) -> tuple[Context, TrialDrivers]:
    ctx = Context(kube=kube, settings=Settings(namespaces=("ns",)))
    ctx.watching = True
    return ctx, TrialDrivers(ctx, workers=2)


def test_a_failed_step_is_retried_with_backoff() -> None:
    kube = FailingKube()
    ctx, drivers = drivers_over(kube)
    body = trial_body("5")
    ctx.store.trial(body)
    drivers.trial(body, runnable=True)
    wait_for(lambda: len(kube.times) >= 3)
    first, second = kube.times[1] - kube.times[0], kube.times[2] - kube.times[1]
    assert 0.4 <= first < 0.9 and 0.9 <= second < 1.8  # 0.5 s, then 1 s
    drivers.close()


def test_an_event_older_than_the_operators_own_write_starts_no_driver() -> None:
    kube = FailingKube()
    ctx, drivers = drivers_over(kube)
    ctx.store.trial(trial_body("9", state="Succeeded"))  # the driver's last write
    stale = trial_body("7")  # a late event from before: it still says Pending
    ctx.store.trial(stale)
    drivers.trial(stale, runnable=True)
    time.sleep(0.2)
    assert drivers.count == 0 and kube.times == []
    drivers.close()


def test_a_driver_is_not_woken_by_the_echo_of_what_it_knows() -> None:
    kube = FailingKube()
    ctx, drivers = drivers_over(kube)
    body = trial_body("5")
    ctx.store.trial(body)
    drivers.trial(body, runnable=True)
    wait_for(lambda: len(kube.times) == 1)
    drivers.trial(body, runnable=True)  # the same resourceVersion again
    time.sleep(0.3)
    assert len(kube.times) == 1  # its retry is due after 0.5 s, nothing sooner
    drivers.close()


def test_paused_drivers_stop_make_none_and_are_made_anew_after_resuming() -> None:
    """Another replica acts (kopf's peering): every driver stops and lets go, events and
    passes make none, and after resuming the next event (the informers' new listing)
    makes one again."""
    kube = FailingKube()
    ctx, drivers = drivers_over(kube)
    body = trial_body("5")
    ctx.store.trial(body)
    drivers.trial(body, runnable=True)
    wait_for(lambda: len(kube.times) == 1)  # its first read failed: a retry is due
    drivers.pause()
    assert drivers.count == 0
    drivers.trial(trial_body("6"), runnable=True)
    drivers.ensure("ns", "demo", ["demo-0003"])
    time.sleep(0.8)  # past the retry the stopped driver had asked for
    assert drivers.count == 0 and len(kube.times) == 1
    drivers.resume()
    drivers.trial(trial_body("6"), runnable=True)
    wait_for(lambda: len(kube.times) == 2)
    assert drivers.count == 1
    drivers.close()


def test_a_pass_drives_an_unfinished_trial_whose_event_was_lost() -> None:
    from datetime import timedelta

    from tradeoff.kube.client import now_utc, rfc3339
    from tradeoff.kube.reconcile import records_of
    from tradeoff.kube.studies import _undriven_candidates

    old, new, done = trial_body("5"), trial_body("6"), trial_body("7", state="Succeeded")
    old["metadata"]["creationTimestamp"] = rfc3339(now_utc() - timedelta(minutes=5))
    new["metadata"]["creationTimestamp"] = rfc3339(now_utc())
    new["metadata"]["name"] = "demo-0004"
    done["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"]
    done["metadata"]["name"] = "demo-0005"
    # Only the old unfinished one: a new one's event is still due, a finished one is done.
    assert _undriven_candidates(records_of([old, new, done])) == ["demo-0003"]
    kube = FailingKube()
    _, drivers = drivers_over(kube)
    drivers.ensure("ns", "demo", ["demo-0003"])
    wait_for(lambda: len(kube.times) >= 1)  # its driver reads the Trial from the API
    assert drivers.count == 1
    drivers.ensure("ns", "demo", ["demo-0003"])  # it has one now: nothing more
    assert drivers.count == 1
    drivers.close()


# -- where kopf runs, a step that must wait parks (no thread waits) ----------------------
def test_a_pending_pod_parks_its_driver_until_its_pull_timeout_or_an_event() -> None:
    from datetime import timedelta

    import pytest

    from tests.unit.test_pods import FakeKube as PodsKube
    from tests.unit.test_pods import driver_for, make_study, make_trial, pending_pod
    from tradeoff.api.trial import TrialStatus
    from tradeoff.kube.attemptlog import Park
    from tradeoff.kube.client import now_utc, rfc3339

    trial = make_trial({"model": "knn", "cpu": "1"})
    trial.status = TrialStatus(state="Pending", attempts=1, pod_name="demo-0003-a1")
    kube = PodsKube(make_study(), trial)
    driver = driver_for(kube, [])
    driver.ctx.watching = True
    driver.ctx.store.study(kube.objects["studies"])
    pod = pending_pod({"reason": "ImagePullBackOff", "message": "no such image"})
    pod["metadata"]["creationTimestamp"] = rfc3339(now_utc() - timedelta(seconds=100))
    driver.ctx.pods.expect("team-a", "demo-0003-a1")
    driver.ctx.pods.seen("team-a", "demo-0003-a1", pod)
    with pytest.raises(Park) as parked:
        driver.step()
    assert parked.value.seconds is not None and 195 < parked.value.seconds < 205  # 300 s
    assert kube.objects["trials"]["status"]["reason"] == "ImagePullBackOff"
    pod["status"] = {"phase": "Pending"}  # scheduled, no longer failing: events only
    with pytest.raises(Park) as parked:
        driver.step()
    assert parked.value.seconds is None
    pod["status"] = {"phase": "Running"}  # seen running: the grace before saying Running
    with pytest.raises(Park) as parked:
        driver.step()
    assert parked.value.seconds is not None and 0 < parked.value.seconds <= 0.5
    assert kube.objects["trials"]["status"]["state"] == "Pending"
    assert kube.pods == {}  # nothing was created while the driver parked


def test_the_pool_size_comes_from_the_environment_and_bad_values_say_so() -> None:
    import pytest

    from tradeoff.kube.settings import SettingsError, settings_from

    assert settings_from(namespaces=["ns"], env={}).trial_workers == 8
    found = settings_from(namespaces=["ns"], env={"TRADEOFF_TRIAL_WORKERS": "3"})
    assert found.trial_workers == 3
    with pytest.raises(SettingsError, match="TRADEOFF_TRIAL_WORKERS"):
        settings_from(namespaces=["ns"], env={"TRADEOFF_TRIAL_WORKERS": "many"})
