"""Study status and reconciliation as data (`tradeoff.kube.status`, `tradeoff.kube.reconcile`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradeoff.api import Trial
from tradeoff.api.policy import TrialPolicy
from tradeoff.api.status import Condition, Recommendation, StudyStatus
from tradeoff.kube.engines import Engines
from tradeoff.kube.pods import owner_reference
from tradeoff.kube.reconcile import plan_study, records_of
from tradeoff.kube.status import (
    MAX_PROBLEM_LINES,
    get_condition,
    recommended_summary,
    set_condition,
)
from tradeoff.kube.warmstart import reader

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def test_a_new_condition_gets_the_transition_time() -> None:
    out = set_condition([], "Valid", "True", "SpecAccepted", "ok", generation=1, now=T0)
    assert out == [
        Condition(
            type="Valid",
            status="True",
            reason="SpecAccepted",
            message="ok",
            last_transition_time=T0,
            observed_generation=1,
        )
    ]


def test_an_unchanged_condition_is_kept_as_is() -> None:
    first = set_condition([], "Valid", "True", "SpecAccepted", "ok", generation=1, now=T0)
    again = set_condition(first, "Valid", "True", "SpecAccepted", "ok", generation=1, now=T1)
    assert again == first and again[0] is first[0]


def test_time_moves_only_when_the_status_flips() -> None:
    first = set_condition([], "Running", "True", "TrialsRunning", "1 running", generation=1, now=T0)
    reworded = set_condition(
        first, "Running", "True", "TrialsRunning", "2 running", generation=2, now=T1
    )
    assert reworded[0].last_transition_time == T0
    assert reworded[0].message == "2 running" and reworded[0].observed_generation == 2
    flipped = set_condition(
        reworded, "Running", "False", "MaxTrialsReached", "done", generation=2, now=T1
    )
    assert flipped[0].last_transition_time == T1


def test_other_conditions_are_untouched() -> None:
    conds = set_condition([], "Valid", "True", "A", "", generation=1, now=T0)
    conds = set_condition(conds, "Running", "True", "B", "", generation=1, now=T0)
    conds = set_condition(conds, "Valid", "False", "C", "bad", generation=2, now=T1)
    assert [c.type for c in conds] == ["Valid", "Running"]
    assert get_condition(conds, "Running") is not None
    assert get_condition(conds, "Running").reason == "B"  # type: ignore[union-attr]
    assert get_condition(conds, "Missing") is None


def test_recommended_summary_is_one_short_line() -> None:
    rec = Recommendation(
        trial="q-0007",
        policy="knee",
        parameters={"C": 1.0},
        values={"accuracy": 0.973684, "cost": 0.0000187, "carbon": 12.5},
    )
    assert recommended_summary(rec) == "q-0007 accuracy=0.9737 cost=1.87e-05 carbon=12.5"
    assert recommended_summary(None) is None


# -- plan_study --------------------------------------------------------------------------
def study_obj(
    max_trials: int = 3, parallelism: int = 2, status: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {
            "name": "demo",
            "namespace": "ns",
            "uid": "u-1",
            "generation": 4,
            "resourceVersion": "9",
            "annotations": {"x": "y"},
        },
        "spec": {
            "objectives": [{"name": "accuracy", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 1},
            "budget": {"maxTrials": max_trials, "parallelism": parallelism, "maxFailedTrials": 2},
            "trialTemplate": {"pod": {"containers": [{"name": "t", "image": "i"}]}},
        },
        **({"status": status} if status else {}),
    }


def trial_obj(
    number: int, state: str, accuracy: float | None = None, owner: str | None = "u-1"
) -> dict[str, Any]:
    """A Trial as the operator makes it (controlled by Study `demo`, uid `owner`)."""
    trial = Trial.new("demo", number, {"x": number / 10}, namespace="ns")
    trial.status.state = state  # type: ignore[assignment]
    if accuracy is not None:
        trial.status.metrics = {"accuracy": accuracy}
        trial.status.values = [accuracy]
        trial.status.feasible = True
    obj = dict(trial.wire())
    if owner is not None:
        obj["metadata"]["ownerReferences"] = [owner_reference("Study", "demo", owner)]
    return obj


def test_a_new_study_creates_trials_up_to_parallelism() -> None:
    plan = plan_study(study_obj(), [], T0)
    names = [t["metadata"]["name"] for t in plan.new_trials]
    assert names == ["demo-0000", "demo-0001"]
    first = plan.new_trials[0]
    assert first["metadata"]["labels"]["tradeoff.dev/study"] == "demo"
    assert first["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert first["metadata"]["ownerReferences"][0]["kind"] == "Study"
    assert "status" not in first and first["spec"]["number"] == 0
    assert plan.status.state == "Running" and plan.status.progress == "0/3"
    assert plan.status.start_time == T0 and plan.status.observed_generation == 4
    assert plan.status_changed
    assert [e.reason for e in plan.events] == ["StudyStarted"]
    valid = get_condition(plan.status.conditions, "Valid")
    assert valid is not None and valid.status == "True" and valid.observed_generation == 4


def test_planning_is_deterministic_and_idempotent() -> None:
    trials = [trial_obj(0, "Running")]
    first = plan_study(study_obj(), trials, T0)
    second = plan_study(study_obj(), trials, T1)
    assert [t["spec"] for t in first.new_trials] == [t["spec"] for t in second.new_trials]
    assert [t["metadata"]["name"] for t in first.new_trials] == ["demo-0001"]


def test_budget_is_never_exceeded() -> None:
    trials = [trial_obj(0, "Succeeded", 0.5), trial_obj(1, "Running"), trial_obj(2, "Running")]
    plan = plan_study(study_obj(max_trials=3, parallelism=5), trials, T0)
    assert plan.new_trials == [] and plan.status.state == "Running"


def test_a_finished_study_succeeds_with_its_front() -> None:
    trials = [
        trial_obj(0, "Succeeded", 0.5),
        trial_obj(1, "Succeeded", 0.9),
        trial_obj(2, "Failed"),
    ]
    running = StudyStatus(state="Running", start_time=T0)
    obj = study_obj(status=running.wire())
    plan = plan_study(obj, trials, T1)
    s = plan.status
    assert plan.new_trials == [] and s.state == "Succeeded"
    assert s.progress == "3/3" and s.completion_time == T1 and s.start_time == T0
    assert s.trials.succeeded == 2 and s.trials.failed == 1
    assert s.recommended is not None and s.recommended.trial == "demo-0001"
    assert s.recommended_summary == "demo-0001 accuracy=0.9"
    assert [p.trial for p in s.pareto_front] == ["demo-0001"]
    succeeded = get_condition(s.conditions, "Succeeded")
    assert succeeded is not None and succeeded.reason == "MaxTrialsReached"
    assert get_condition(s.conditions, "Running").status == "False"  # type: ignore[union-attr]
    assert [e.reason for e in plan.events] == ["StudySucceeded"]
    assert "recommended: demo-0001" in plan.events[0].message
    # Nothing changes on the next pass: no status write, no event.
    again = plan_study(study_obj(status=s.wire()), trials, T1 + timedelta(seconds=5))
    assert not again.status_changed and again.events == []


def test_the_first_stop_decision_is_final_for_its_generation() -> None:
    # Succeeded at its timeout; the trials the timeout cancelled then end Failed.
    trials = [trial_obj(0, "Succeeded", 0.5), trial_obj(1, "Running"), trial_obj(2, "Running")]
    obj = study_obj(max_trials=10, status=StudyStatus(state="Running", start_time=T0).wire())
    obj["spec"]["budget"]["timeout"] = "1m"
    ended = plan_study(obj, trials, T0 + timedelta(minutes=2)).status
    assert ended.state == "Succeeded"
    assert get_condition(ended.conditions, "Succeeded").reason == "Timeout"  # type: ignore[union-attr]
    cancelled = [trials[0], trial_obj(1, "Failed"), trial_obj(2, "Failed")]
    later = plan_study({**obj, "status": ended.wire()}, cancelled, T0 + timedelta(minutes=3))
    assert later.status.state == "Succeeded" and later.status.trials.failed == 2
    assert get_condition(later.status.conditions, "Succeeded").reason == "Timeout"  # type: ignore[union-attr]
    assert later.events == []
    # An edit (a new generation) decides afresh.
    edited = {**obj, "status": ended.wire(), "metadata": {**obj["metadata"], "generation": 5}}
    again = plan_study(edited, cancelled, T0 + timedelta(minutes=3))
    assert again.status.state == "Failed"
    assert get_condition(again.status.conditions, "Failed").reason == "TooManyFailedTrials"  # type: ignore[union-attr]


def test_too_many_failures_fail_the_study() -> None:
    trials = [trial_obj(0, "Failed"), trial_obj(1, "Failed"), trial_obj(2, "Running")]
    plan = plan_study(study_obj(max_trials=10), trials, T0)
    assert plan.status.state == "Failed" and plan.new_trials == []
    failed = get_condition(plan.status.conditions, "Failed")
    assert failed is not None and failed.reason == "TooManyFailedTrials"
    assert failed.message == "2 trials failed (maxFailedTrials is 2)"
    assert plan.events[-1].type == "Warning"


def test_a_semantically_invalid_spec_fails_with_valid_false() -> None:
    obj = study_obj()
    obj["spec"]["parameters"].append(
        {"name": "y", "type": "float", "low": 0.0, "high": 1.0, "when": {"modle": ["a"]}}
    )
    plan = plan_study(obj, [], T0)
    assert plan.new_trials == [] and plan.status.state == "Failed"
    valid = get_condition(plan.status.conditions, "Valid")
    assert valid is not None and valid.status == "False" and valid.reason == "InvalidSpec"
    assert valid.message == "spec.parameters[1].when.modle: names unknown parameter 'modle'"
    assert plan.events[0].reason == "InvalidSpec"
    again = plan_study({**obj, "status": plan.status.wire()}, [], T1)
    assert not again.status_changed and again.events == []


def privileged_study_obj() -> dict[str, Any]:
    obj = study_obj()
    pod = obj["spec"]["trialTemplate"]["pod"]
    pod["hostNetwork"] = True
    pod["containers"][0]["securityContext"] = {"privileged": True}
    return obj


def test_a_study_the_trial_policy_refuses_gets_valid_false_and_no_trials() -> None:
    plan = plan_study(privileged_study_obj(), [], T0)  # the default policy: restricted
    assert plan.new_trials == [] and plan.status.state == "Failed" and plan.study is None
    valid = get_condition(plan.status.conditions, "Valid")
    assert valid is not None and valid.status == "False" and valid.reason == "InvalidSpec"
    assert valid.message.splitlines() == [
        "spec.trialTemplate.pod.hostNetwork: not allowed by the trial policy (restricted)",
        "spec.trialTemplate.pod.containers[0].securityContext.privileged: "
        "not allowed by the trial policy (restricted)",
    ]
    assert [(e.type, e.reason, e.message) for e in plan.events] == [
        ("Warning", "InvalidSpec", valid.message)
    ]
    again = plan_study({**privileged_study_obj(), "status": plan.status.wire()}, [], T1)
    assert not again.status_changed and again.events == []


def test_the_policy_the_admin_chose_decides() -> None:
    lenient = TrialPolicy("privileged", ("default",))
    plan = plan_study(privileged_study_obj(), [], T0, lenient)
    assert plan.status.state == "Running" and len(plan.new_trials) == 2
    obj = study_obj()
    obj["spec"]["trialTemplate"]["pod"]["serviceAccountName"] = "trainer"
    refused = plan_study(obj, [], T0, lenient)
    assert refused.new_trials == [] and refused.status.message == (
        "spec.trialTemplate.pod.serviceAccountName: 'trainer' not allowed by the trial "
        "policy (service accounts: default)"
    )
    allowed = plan_study(obj, [], T0, TrialPolicy("restricted", ("default", "trainer")))
    assert len(allowed.new_trials) == 2


def test_the_status_holds_a_bounded_number_of_problem_lines() -> None:
    obj = study_obj()
    obj["spec"]["trialTemplate"]["pod"]["containers"] = [
        {"name": f"c{i}", "image": "i", "securityContext": {"privileged": True}} for i in range(50)
    ]
    message = plan_study(obj, [], T0).status.message or ""
    lines = message.splitlines()
    assert len(lines) == MAX_PROBLEM_LINES + 1
    assert lines[0].startswith("spec.trialTemplate.pod.containers[0].securityContext.privileged")
    assert lines[-1] == "... and 30 more (`tradeoff validate` lists every problem)"


def test_unreadable_trials_are_skipped() -> None:
    good = trial_obj(0, "Running")
    bad = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Trial",
        "metadata": {"name": "demo-0009"},
        "spec": {"study": "demo"},
    }
    assert [r.number for r in records_of([bad, good])] == [0]


# -- only the Study's own records count ----------------------------------------------------
def forged(number: int, state: str, accuracy: float | None, how: str) -> dict[str, Any]:
    obj = trial_obj(number, state, accuracy, owner=None)
    if how == "other-uid":
        obj["metadata"]["ownerReferences"] = [owner_reference("Study", "demo", "u-2")]
    elif how == "not-controller":
        obj["metadata"]["ownerReferences"] = [
            {**owner_reference("Study", "demo", "u-1"), "controller": False}
        ]
    elif how == "other-kind":
        obj["metadata"]["ownerReferences"] = [owner_reference("ConfigMap", "demo", "u-1", "v1")]
    return obj


@pytest.mark.parametrize("how", ["none", "other-uid", "not-controller", "other-kind"])
def test_trials_the_study_does_not_control_do_not_count(how: str) -> None:
    own = [trial_obj(0, "Succeeded", 0.5)]
    fake = forged(7, "Succeeded", 0.99, how)
    plan = plan_study(study_obj(max_trials=10), [*own, fake], T0)
    assert plan.foreign == [fake]
    assert [r.number for r in plan.records if r.finished] == [0]
    assert plan.status.trials.succeeded == 1 and plan.status.trials.created == 3
    assert plan.status.recommended is not None and plan.status.recommended.trial == "demo-0000"
    assert [t["metadata"]["name"] for t in plan.new_trials] == ["demo-0001", "demo-0002"]


def test_a_taken_trial_name_blocks_the_study_and_is_never_adopted() -> None:
    own = [trial_obj(0, "Succeeded", 0.5)]
    squatter = forged(1, "Succeeded", 0.99, "none")  # demo-0001, the next name
    plan = plan_study(study_obj(max_trials=10), [*own, squatter], T0)
    assert plan.new_trials == [] and plan.status.trials.succeeded == 1
    blocked = get_condition(plan.status.conditions, "Blocked")
    assert blocked is not None and (blocked.status, blocked.reason) == ("True", "TrialNameTaken")
    assert "demo-0001" in blocked.message and plan.status.message == blocked.message
    assert [e.reason for e in plan.events if e.type == "Warning"] == ["TrialNameTaken"]
    again = plan_study(
        {**study_obj(max_trials=10), "status": plan.status.wire()}, [*own, squatter], T1
    )
    assert not again.status_changed and again.events == []
    # A name only a create found taken (the squatter carries no label) blocks the same way.
    hidden = plan_study(study_obj(max_trials=10), own, T0, taken={"demo-0001"})
    assert hidden.new_trials == []
    assert get_condition(hidden.status.conditions, "Blocked").status == "True"  # type: ignore[union-attr]
    # Once the name is free, the study goes on.
    freed = plan_study({**study_obj(max_trials=10), "status": plan.status.wire()}, own, T1)
    assert [t["metadata"]["name"] for t in freed.new_trials] == ["demo-0001", "demo-0002"]
    assert get_condition(freed.status.conditions, "Blocked").status == "False"  # type: ignore[union-attr]


# -- trial outcome events -----------------------------------------------------------------
def test_outcome_events_say_how_a_trial_ended() -> None:
    from tradeoff.engine.validation import validate_study
    from tradeoff.kube.events import trial_outcome_events

    study = validate_study(study_obj())
    ok = Trial.model_validate(trial_obj(0, "Succeeded", 0.91234))
    [(ref, event)] = trial_outcome_events(study, ok, "ns")
    assert ref["kind"] == "Trial" and ref["metadata"]["name"] == "demo-0000"
    assert (event.type, event.reason, event.message) == (
        "Normal",
        "TrialSucceeded",
        "accuracy=0.9123",
    )
    failed = Trial.model_validate(trial_obj(1, "Failed"))
    failed.status.reason, failed.status.message = "Error", "exit code 3"
    (_, first), (on_study, second) = trial_outcome_events(study, failed, "ns")
    assert (first.type, first.reason, first.message) == (
        "Warning",
        "TrialFailed",
        "Error: exit code 3",
    )
    assert on_study["kind"] == "Study" and on_study["metadata"]["uid"] == "u-1"
    assert second.message == "demo-0001: Error: exit code 3"
    pruned = Trial.model_validate(trial_obj(2, "Pruned"))
    pruned.status.reason = "Pruned"
    [(_, event)] = trial_outcome_events(study, pruned, "ns")
    assert (event.type, event.reason) == ("Normal", "TrialPruned")


def test_one_line_summaries_for_printer_columns() -> None:
    from tradeoff.api.status import Totals
    from tradeoff.kube.status import spent_summary, values_summary

    assert values_summary(["accuracy", "cost"], [0.973684, 2.3423e-05]) == (
        "accuracy=0.9737 cost=2.34e-05"
    )
    assert values_summary(["accuracy"], None) is None
    assert spent_summary(Totals(cost_usd=0.00205, carbon_grams=0.0821)) == "$0.00205 0.0821 gCO2e"


class FakeKube:
    """Studies and Trials by name, as `Kube.get_object` and `Kube.list_trials` give them."""

    def __init__(self) -> None:
        self.studies: dict[str, dict[str, Any]] = {}
        self.trials: dict[str, list[dict[str, Any]]] = {}

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        assert plural == "studies" and namespace == "ns"
        return self.studies.get(name)

    def list_trials(self, namespace: str, study: str) -> list[dict[str, Any]]:
        assert namespace == "ns"
        return self.trials.get(study, [])


def earlier_study(state: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Study `earlier` (uid u-0) in `state`, with three succeeded trials and one it does
    not control."""
    obj = study_obj(status={"state": state})
    obj["metadata"].update(name="earlier", uid="u-0")
    trials = [trial_obj(n, "Succeeded", 0.5 + n / 10, owner="u-0") for n in range(3)]
    trials.append(trial_obj(3, "Succeeded", 0.99, owner="someone-else"))
    return obj, trials


def warm_obj(**warm: Any) -> dict[str, Any]:
    obj = study_obj()
    obj["spec"]["warmStart"] = warm
    return obj


def test_the_operator_reads_ended_studies_of_the_namespace_as_priors() -> None:
    kube = FakeKube()
    kube.studies["earlier"], kube.trials["earlier"] = earlier_study("Running")
    obj = warm_obj(fromStudies=[{"name": "earlier"}])
    read = reader(kube)  # type: ignore[arg-type]
    waiting = plan_study(obj, [], T0, engines=Engines(b"k" * 32), read_sources=read)
    assert waiting.new_trials == [] and waiting.status.state == "Pending"
    assert waiting.status.message is not None
    assert waiting.status.message.startswith("waiting for Study earlier to end (it is Running)")
    assert [e.reason for e in waiting.events] == ["WaitingForWarmStart"]
    obj["status"] = waiting.status.wire()
    again = plan_study(obj, [], T0, engines=Engines(b"k" * 32), read_sources=read)
    assert again.events == [] and not again.status_changed  # said once

    kube.studies["earlier"]["status"]["state"] = "Succeeded"
    plan = plan_study(obj, [], T1, engines=Engines(b"k" * 32), read_sources=read)
    assert len(plan.new_trials) == 2 and plan.status.state == "Running"
    assert plan.status.warm_start == "3 prior trials (earlier: 3)"  # not the foreign one
    ready = get_condition(plan.status.conditions, "WarmStartReady")
    assert ready is not None and ready.status == "True"
    assert [p.trial for p in plan.status.pareto_front] == []  # priors: not on the front


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            {"name": "earlier", "namespace": "other"},
            "spec.warmStart.fromStudies[0].namespace: Studies of namespace other cannot be"
            " read from namespace ns",
        ),
        (
            {"name": "nowhere"},
            "spec.warmStart.fromStudies[0].name: no Study nowhere in namespace ns",
        ),
        ({"name": "demo"}, "spec.warmStart.fromStudies[0].name: names this Study"),
    ],
)
def test_a_source_the_study_may_not_or_cannot_read_is_an_invalid_spec(
    ref: dict[str, Any], message: str
) -> None:
    kube = FakeKube()
    kube.studies["earlier"], kube.trials["earlier"] = earlier_study("Succeeded")
    plan = plan_study(warm_obj(fromStudies=[ref]), [], T0, read_sources=reader(kube))  # type: ignore[arg-type]
    assert plan.new_trials == [] and plan.status.state == "Failed"
    assert plan.status.message is not None and plan.status.message.startswith(message)
    assert [e.reason for e in plan.events] == ["InvalidSpec"]


def test_the_operator_runs_the_warm_start_configurations_first() -> None:
    """The operator's engine gets the priors of warmStart.trials exactly as local mode's."""
    obj = study_obj()
    obj["spec"]["warmStart"] = {
        "trials": [
            {"parameters": {"x": 0.25}},
            {"parameters": {"x": 0.9}, "values": {"accuracy": 0.99}},
            {"parameters": {"x": 0.75}},
        ],
        "includeInFront": True,
    }
    plan = plan_study(obj, [], T0, engines=Engines(b"k" * 32))
    assert [t["spec"]["parameters"] for t in plan.new_trials] == [{"x": 0.25}, {"x": 0.75}]
    assert plan.status.progress == "0/3"  # the known result is no trial of this study
    line = "1 prior trial (warmStart.trials: 1); 2 configurations to run first"
    assert plan.status.warm_start == line
    assert [p.trial for p in plan.status.pareto_front] == ["warmStart.trials[1]"]
