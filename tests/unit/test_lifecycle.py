"""The trial lifecycle both modes share: what an attempt's end means for its trial."""

from __future__ import annotations

import math
import signal
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.factories import make_spec
from tradeoff.api import Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.trial import StepValue, TrialStatus
from tradeoff.engine import AttemptOutcome, Engine, lifecycle
from tradeoff.engine.progress import counts

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EARLIER = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)


def spec(**extra: Any) -> Any:
    template = {
        "retries": extra.pop("retries", 0),
        "activeDeadline": "4s",
        "pod": {"containers": [{"name": "t", "image": "x", "command": ["true"]}]},
    }
    return make_spec(trialTemplate=template, **extra)


def economics(cost: float) -> TrialEconomics:
    return TrialEconomics(
        duration_seconds=1.0,
        vcpu=1.0,
        memory_gib=1.0,
        energy_kwh=0.001,
        carbon_grams=0.5,
        cost_usd=cost,
        grams_per_kwh=475,
        pue=1.135,
        source="estimated",
    )


def running(attempts: int = 1, failures: int = 0) -> TrialStatus:
    return TrialStatus(state="Running", attempts=attempts, failures=failures, start_time=EARLIER)


def end(outcome: AttemptOutcome, status: TrialStatus | None = None, **kw: Any) -> Any:
    s = kw.pop("spec", None) or spec()
    return lifecycle.end_attempt(s, status or running(), outcome, now=NOW, **kw)


@pytest.mark.parametrize(
    ("outcome", "reason", "message"),
    [
        (
            AttemptOutcome(exit_code=3, detail="Traceback\nboom: diverged\n"),
            "Error",
            "exited with code 3: boom: diverged",
        ),
        (
            AttemptOutcome(exit_code=137, cause="OOMKilled"),
            "Error",
            "exited with code 137 (OOMKilled)",
        ),
        (AttemptOutcome(signal=signal.SIGSEGV), "Error", "killed by SIGSEGV"),
        (
            AttemptOutcome("deadline", signal=signal.SIGTERM),
            "DeadlineExceeded",
            "stopped after its activeDeadline of 4s",
        ),
        (
            AttemptOutcome("lost", detail="pod p: node n stopped answering"),
            "PodLost",
            "lost: pod p: node n stopped answering",
        ),
        (
            AttemptOutcome("evicted", detail="pod p: low on memory"),
            "Evicted",
            "evicted: pod p: low on memory",
        ),
        (
            AttemptOutcome("start_error", detail="command 'nope' not found on PATH"),
            "StartError",
            "could not start: command 'nope' not found on PATH",
        ),
        (
            AttemptOutcome("start_error", cause="InvalidImageName", detail="bad image"),
            "InvalidImageName",
            "could not start: bad image",
        ),
        (
            AttemptOutcome(
                exit_code=0,
                problems=["line 1: metric 'x' is not a number: 'a'"],
                economics=economics(0.1),
            ),
            "MetricsMissing",
            "no value for objective(s) accuracy (reported: none); "
            "line 1: metric 'x' is not a number: 'a'",
        ),
        (
            AttemptOutcome(exit_code=0, metrics={"loss": 0.3}, economics=economics(0.1)),
            "MetricsMissing",
            "no value for objective(s) accuracy (reported: loss)",
        ),
        (
            AttemptOutcome(exit_code=0, invalid={"accuracy": math.nan}),
            "MetricsInvalid",
            "objective(s) not a finite number within ±1e+150: accuracy=nan",
        ),
        (
            AttemptOutcome(exit_code=0, invalid={"accuracy": -math.inf}),
            "MetricsInvalid",
            "objective(s) not a finite number within ±1e+150: accuracy=-inf",
        ),
        (  # finite, but a front's differences and squares of it would overflow
            AttemptOutcome(exit_code=0, metrics={"accuracy": 1.7e308}, economics=economics(0.1)),
            "MetricsInvalid",
            "objective(s) not a finite number within ±1e+150: accuracy=1.7e+308",
        ),
    ],
)
def test_failures_have_one_reason_and_message(
    outcome: AttemptOutcome, reason: str, message: str
) -> None:
    move = end(outcome)
    assert (move.status.state, move.status.reason, move.status.message) == (
        "Failed",
        reason,
        message,
    )
    assert move.finished and not move.retry
    assert move.status.failures == 1 and move.status.completion_time == NOW


def test_a_clean_exit_with_objectives_succeeds() -> None:
    outcome = AttemptOutcome(exit_code=0, metrics={"accuracy": 0.9}, economics=economics(0.2))
    move = end(outcome)
    s = move.status
    assert (s.state, s.reason, s.message) == ("Succeeded", None, None)
    assert s.values == [0.9, 0.2] and s.feasible is True and s.start_time == EARLIER


def test_infeasible_is_a_success_that_names_the_constraint_and_its_bound() -> None:
    s_ = spec(constraints=[{"metric": "cost", "max": 0.1}, {"metric": "latency", "min": 2}])
    outcome = AttemptOutcome(exit_code=0, metrics={"accuracy": 0.9}, economics=economics(0.25))
    s = end(outcome, spec=s_).status
    assert (s.state, s.reason, s.feasible) == ("Succeeded", "Infeasible", False)
    assert (
        s.message == "infeasible: cost=0.25 is above its max 0.1; latency was not reported (min 2)"
    )


def test_a_pruned_attempt_names_the_pruner_the_step_and_the_value() -> None:
    s_ = spec(earlyStopping={"algorithm": "median", "metric": "accuracy"})
    status = running()
    status.intermediate = [StepValue(step=2, value=0.4), StepValue(step=3, value=0.41234)]
    s = end(AttemptOutcome("pruned", signal=signal.SIGTERM), status, spec=s_).status
    assert (s.state, s.reason, s.message) == (
        "Pruned",
        "Pruned",
        "median stopped it at step 3 (accuracy=0.4123)",
    )


def test_retries_use_up_failures_not_attempts() -> None:
    s_ = spec(retries=1)
    move = end(AttemptOutcome(exit_code=1, detail="boom"), spec=s_)
    assert move.retry and not move.finished
    assert (move.status.state, move.status.reason) == ("Pending", "Retrying")
    assert move.status.message == "attempt 1 failed (Error: exited with code 1: boom); retrying"
    assert lifecycle.needs_attempt(move.status)
    # A cancelled attempt in between uses up no retry.
    nxt = lifecycle.started(lifecycle.begin_attempt(move.status), NOW)
    cancelled = end(AttemptOutcome("cancelled"), nxt, spec=s_, stopped="the timeout ran out")
    assert cancelled.status.failures == 1
    third = lifecycle.started(lifecycle.begin_attempt(lifecycle.resume(cancelled.status)), NOW)
    assert third.attempts == 3
    again = end(AttemptOutcome(exit_code=1), third, spec=s_)
    assert again.finished and again.status.state == "Failed" and again.status.failures == 2


def test_a_retry_cut_short_by_a_stop_rule_is_cancelled_not_failed() -> None:
    move = end(AttemptOutcome(exit_code=1), spec=spec(retries=2), stopped="3 trials failed")
    assert (move.status.state, move.status.reason) == ("Pending", "Cancelled")
    assert move.status.message == "cancelled: 3 trials failed" and not move.retry


def test_a_new_attempt_resets_what_belongs_to_one_attempt_only() -> None:
    status = running()
    status.metrics = {"accuracy": 0.3}
    status.intermediate = [StepValue(step=1, value=0.3)]
    status.last_intermediate = {"accuracy": 0.3}
    status.pruning_state = {"rung": 1}
    status.economics = economics(0.5)
    failed = end(
        AttemptOutcome(exit_code=2, economics=economics(0.25)), status, spec=spec(retries=1)
    ).status
    nxt = lifecycle.started(lifecycle.begin_attempt(failed), NOW)
    assert nxt.attempts == 2 and nxt.state == "Running" and nxt.start_time == EARLIER
    assert (nxt.metrics, nxt.intermediate, nxt.last_intermediate, nxt.pruning_state) == (
        {},
        [],
        {},
        {},
    )
    assert nxt.economics is not None and nxt.economics.cost_usd == pytest.approx(0.75)
    assert nxt.failures == 1 and nxt.reason is None


def test_a_cancelled_trial_is_not_failed_and_runs_again_when_the_study_resumes() -> None:
    engine = Engine(make_spec(budget={"maxTrials": 3, "parallelism": 2, "maxFailedTrials": 2}))
    records = [Trial.new("demo", n, {"x": n / 10, "y": 0.5}) for n in range(3)]
    for r in records[:2]:
        r.status = end(AttemptOutcome(exit_code=1)).status
    records[2].status = end(AttemptOutcome("cancelled"), stopped="2 trials failed").status
    c = counts(records)
    assert (c.failed, c.cancelled, c.pending) == (2, 1, 0)
    decision = engine.stop_decision(records)
    assert decision is not None and decision.reason == "TooManyFailedTrials"
    # With a larger failure budget the study resumes: the cancelled trial is still to run,
    # so the study is not over, and no new trial takes its place.
    more = Engine(make_spec(budget={"maxTrials": 3, "parallelism": 2, "maxFailedTrials": 5}))
    assert more.stop_decision(records) is None
    assert more.trials_to_start(records) == 0
    resumed = lifecycle.resume(records[2].status)
    assert lifecycle.needs_attempt(resumed) and not lifecycle.waits_for_resume(
        resumed.state, resumed.reason
    )


def test_an_interrupted_attempt_re_runs_without_using_a_retry() -> None:
    move = end(AttemptOutcome("interrupted", signal=signal.SIGTERM))
    assert (move.status.state, move.status.reason) == ("Pending", "Interrupted")
    assert move.status.failures == 0 and not move.finished


def _full_status() -> TrialStatus:
    return TrialStatus(
        state="Running",
        attempts=1,
        start_time=EARLIER,
        metrics={"acc": 0.5},
        intermediate=[StepValue(step=1, value=0.4)],
        last_intermediate={"acc": 0.4},
        values=[0.5],
        violations={"latency": 1.0},
        pruning_state={"k": 1},
        economics=economics(1.0),
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda s: lifecycle.begin_attempt(s),
        lambda s: lifecycle.started(s, NOW),
        lambda s: lifecycle.start_attempt(s, NOW),
        lambda s: lifecycle.cancel(s, "budget"),
        lambda s: lifecycle.interrupted(s, "stopped"),
        lambda s: lifecycle.resume(s),
        lambda s: end(AttemptOutcome(exit_code=0, metrics={"y": 1.0}), s).status,
        lambda s: end(AttemptOutcome(ending="cancelled"), s, stopped="budget").status,
    ],
)
def test_a_new_status_shares_no_list_or_dict_with_the_one_it_came_from(change: Any) -> None:
    given = _full_status()
    before = given.model_dump()
    new = change(given)
    for name in ("metrics", "last_intermediate", "violations", "pruning_state"):
        getattr(new, name)["added"] = 1.0
    for name in ("conditions", "intermediate", "artifacts"):
        getattr(new, name).append(None)
    if new.values is not None:
        new.values.append(2.0)
    assert given.model_dump() == before


def test_start_attempt_is_begin_attempt_then_started() -> None:
    for status in (_full_status(), TrialStatus(), running(attempts=2, failures=1)):
        both = lifecycle.started(lifecycle.begin_attempt(status), NOW)
        assert lifecycle.start_attempt(status, NOW) == both
        assert both.state == "Running" and both.attempts == status.attempts + 1
