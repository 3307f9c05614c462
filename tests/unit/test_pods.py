"""Trial pods as data (`tradeoff.kube.pods`) and what an ended pod means (`kube.attempts`)."""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tradeoff.api import Trial
from tradeoff.api.policy import PolicyViolation, TrialPolicy, problem_lines
from tradeoff.api.study import Study
from tradeoff.api.trial import StepValue, TrialStatus
from tradeoff.economics import EconomicsConfig
from tradeoff.engine import AttemptOutcome, lifecycle, reported_energy_kwh
from tradeoff.engine.validation import validate_study
from tradeoff.kube import attemptlog, attempts, pod_price, trials
from tradeoff.kube.context import Context
from tradeoff.kube.pods import build_pod, harden, owner_reference, pod_name, primary_container
from tradeoff.kube.settings import Settings
from tradeoff.kube.trials import TrialDriver
from tradeoff.trial_output import TrialOutput

NOW = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)


def make_study(**template: Any) -> Study:
    container: dict[str, Any] = {
        "name": "trial",
        "image": "tradeoff:0.1.0",
        "command": ["python", "-m", "trial_runner.sklearn"],
        "args": ["--model=${params.model}", "--C", "${params.C}", "--seed=${trial.number}"],
        "resources": {"requests": {"cpu": "${params.cpu}", "memory": "512Mi"}},
    }
    pod = template.pop("pod", {"containers": [container]})
    return validate_study(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": "demo", "namespace": "team-a", "uid": "study-uid"},
            "spec": {
                "objectives": [
                    {"name": "accuracy", "direction": "maximize"},
                    {"name": "cost", "direction": "minimize"},
                ],
                "parameters": [
                    {"name": "model", "type": "categorical", "values": ["svm", "knn"]},
                    {
                        "name": "C",
                        "type": "float",
                        "low": 0.1,
                        "high": 10,
                        "when": {"model": ["svm"]},
                    },
                    {"name": "cpu", "type": "categorical", "values": ["500m", "1"]},
                ],
                "trialTemplate": {"activeDeadline": "90s", **template, "pod": pod},
            },
        }
    )


def make_trial(params: dict[str, Any], number: int = 3) -> Trial:
    return Trial.new("demo", number, params, namespace="team-a")


def test_pod_names_are_deterministic_per_attempt() -> None:
    assert pod_name("demo-0003", 1) == "demo-0003-a1"
    assert pod_name("demo-0003", 2) == "demo-0003-a2"


def test_build_pod_substitutes_parameters_without_a_shell() -> None:
    pod = build_pod(make_study(), make_trial({"model": "svm", "C": 2.5, "cpu": "1"}), "uid-1", 2)
    assert pod["metadata"]["name"] == "demo-0003-a2"
    assert pod["metadata"]["namespace"] == "team-a"
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "trial_runner.sklearn"]
    assert container["args"] == ["--model=svm", "--C", "2.5", "--seed=3"]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "512Mi"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TRADEOFF_TRIAL"] == "demo-0003" and env["TRADEOFF_STUDY"] == "demo"
    assert '"C": 2.5' in env["TRADEOFF_PARAMS"]


def test_build_pod_drops_inactive_conditional_arguments() -> None:
    pod = build_pod(make_study(), make_trial({"model": "knn", "cpu": "500m"}), "uid-1", 1)
    assert pod["spec"]["containers"][0]["args"] == ["--model=knn", "--seed=3"]


def test_build_pod_labels_owner_and_lifecycle() -> None:
    pod = build_pod(make_study(), make_trial({"model": "knn", "cpu": "1"}), "trial-uid", 1)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"]["tradeoff.dev/study"] == "demo"
    assert meta["labels"]["tradeoff.dev/trial"] == "demo-0003"
    assert meta["labels"]["tradeoff.dev/attempt"] == "1"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Trial",
            "name": "demo-0003",
            "uid": "trial-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 90
    container = spec["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_no_deadline_without_active_deadline() -> None:
    study = make_study()
    study.spec.trial_template.active_deadline = None
    pod = build_pod(study, make_trial({"model": "knn", "cpu": "1"}), "u", 1)
    assert "activeDeadlineSeconds" not in pod["spec"]


def test_restricted_profile_is_added_by_default() -> None:
    spec = harden({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]})
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for container in (*spec["containers"], *spec["initContainers"]):
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }


def test_restricted_profile_keeps_what_the_template_sets() -> None:
    given: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": False, "runAsUser": 0},
        "containers": [
            {
                "name": "a",
                "securityContext": {
                    "allowPrivilegeEscalation": True,
                    "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                },
            }
        ],
    }
    spec = harden(given)
    assert spec["securityContext"]["runAsNonRoot"] is False
    assert spec["securityContext"]["runAsUser"] == 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = spec["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is True
    assert sc["capabilities"] == {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}
    assert given["containers"][0]["securityContext"]["capabilities"]["drop"] == ["MKNOD"]


def test_template_termination_settings_win() -> None:
    container = {
        "name": "main",
        "image": "x",
        "command": ["run"],
        "terminationMessagePath": "/tmp/summary.json",
        "terminationMessagePolicy": "File",
    }
    side = {"name": "side", "image": "y"}
    study = make_study(primaryContainer="main", pod={"containers": [side, container]})
    pod = build_pod(study, make_trial({"model": "knn", "cpu": "1"}), "u", 1)
    primary = pod["spec"]["containers"][1]
    assert primary_container(study) == "main"
    assert primary["terminationMessagePath"] == "/tmp/summary.json"
    assert primary["terminationMessagePolicy"] == "File"
    assert "terminationMessagePath" not in pod["spec"]["containers"][0]


# -- ended pods ------------------------------------------------------------------------
def ended_pod(
    exit_code: int = 0, message: str = "", reason: str = "", phase: str | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase or ("Succeeded" if exit_code == 0 and not reason else "Failed"),
        "startTime": "2026-01-01T12:00:00Z",
        "containerStatuses": [
            {
                "name": "trial",
                "state": {
                    "terminated": {
                        "exitCode": exit_code,
                        "reason": "Completed" if exit_code == 0 else "Error",
                        "startedAt": "2026-01-01T12:00:01Z",
                        "finishedAt": "2026-01-01T12:00:05Z",
                        "message": message,
                    }
                },
            }
        ],
    }
    if reason:
        status["reason"] = reason
        status["message"] = f"{reason} happened"
    return {
        "metadata": {"name": "demo-0003-a1"},
        "spec": {
            "nodeName": "n1",
            "containers": [
                {"name": "trial", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}
            ],
        },
        "status": status,
    }


NODE = {"metadata": {"labels": {"topology.kubernetes.io/region": "eu-north-1"}}}


def read_metrics(study: Study, log: str, message: str) -> TrialOutput:
    output = attempts.new_output(study)
    output.feed_text(log)
    return attempts.apply_termination(output, message)


def judge(
    pod: dict[str, Any] | None,
    log: str = "",
    study: Study | None = None,
    before: TrialStatus | None = None,
) -> TrialStatus:
    """What the engine's lifecycle makes of an ended pod (no retries)."""
    study = study or make_study()
    output = None
    economics = None
    if pod is not None:
        term = attempts.terminated_state(pod, "trial")
        output = read_metrics(study, log, str(term.get("message") or ""))
        economics = pod_price.price(study, pod, NODE, EconomicsConfig(), "trial", NOW)
    outcome = attempts.outcome(pod, "trial", output, economics)
    status = before or TrialStatus(attempts=1)
    return lifecycle.end_attempt(study.spec, status, outcome, now=NOW).status


def test_phases() -> None:
    assert attempts.phase(None) == "missing"
    assert attempts.phase({"status": {"phase": "Pending"}}) == "pending"
    assert attempts.phase({"status": {"phase": "Running"}}) == "running"
    assert attempts.phase(ended_pod()) == "ended"
    assert attempts.phase(ended_pod(3)) == "ended"


def test_clean_exit_with_objectives_succeeds_and_is_priced() -> None:
    ending = judge(ended_pod(), log="accuracy=0.8\n")
    assert ending.state == "Succeeded" and ending.reason is None
    assert ending.economics is not None
    assert ending.economics.duration_seconds == 4.0
    assert ending.economics.vcpu == 2.0 and ending.economics.region == "eu-north-1"
    assert ending.values == [0.8, ending.economics.cost_usd]
    assert ending.feasible is True


def test_termination_message_is_authoritative() -> None:
    pod = ended_pod(message='{"metrics": {"accuracy": 0.91}}')
    ending = judge(pod, log="accuracy=0.5\n")
    assert ending.metrics["accuracy"] == 0.91 and ending.values is not None
    assert ending.values[0] == 0.91


def test_clean_exit_without_objective_fails_metrics_missing() -> None:
    ending = judge(ended_pod(), log="loss=0.3\n")
    assert (ending.state, ending.reason) == ("Failed", "MetricsMissing")
    assert "accuracy" in (ending.message or "")


def test_non_zero_exit_fails_with_its_code_and_last_line() -> None:
    ending = judge(ended_pod(3, message="Traceback...\nValueError: diverged\n"))
    assert (ending.state, ending.reason) == ("Failed", "Error")
    assert ending.message == "exited with code 3: ValueError: diverged"


def test_a_pod_deleted_while_it_ran_is_lost_not_an_error() -> None:
    # Graceful deletion: the kubelet's SIGTERM ends the container with 143 before the pod
    # goes; the operator may see that status first. Not the trial's own failure.
    pod = ended_pod(143, message="Terminated")
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:05Z"
    ending = judge(pod)
    assert (ending.state, ending.reason) == ("Failed", "PodLost")
    assert ending.message == "lost: pod demo-0003-a1 was deleted while it ran"
    # A trial that had ended cleanly before its pod was deleted keeps its result.
    done = ended_pod()
    done["metadata"]["deletionTimestamp"] = "2026-01-01T12:00:06Z"
    assert judge(done, log="accuracy=0.8\n").state == "Succeeded"


def test_a_failed_containers_words_are_quoted_short_and_clean() -> None:
    said = "\x1b[31mRuntimeError\x1b[0m: \x07" + "secret " * 5000 + "\n\x1b[0m\n"
    ending = judge(ended_pod(1, message=said))
    assert ending.message is not None
    assert ending.message.startswith("exited with code 1: RuntimeError: ")
    tail = ending.message.split(": ", 1)[1]
    assert len(tail) <= 300 and tail.endswith("...")
    assert not any(c < " " or c == "\x7f" for c in ending.message)


@pytest.mark.parametrize(
    ("pod_reason", "expected", "message"),
    [
        ("Evicted", "Evicted", "evicted: pod demo-0003-a1: Evicted happened"),
        ("DeadlineExceeded", "DeadlineExceeded", "stopped after its activeDeadline of 90s"),
        ("NodeLost", "PodLost", "lost: pod demo-0003-a1: NodeLost happened"),
    ],
)
def test_pod_level_reasons(pod_reason: str, expected: str, message: str) -> None:
    ending = judge(ended_pod(137, reason=pod_reason), log="accuracy=0.9\n")
    assert (ending.state, ending.reason, ending.message) == ("Failed", expected, message)


def test_a_process_that_never_started_is_a_start_error_as_in_local_mode() -> None:
    pod = ended_pod(128, message="exec: nope: executable file not found in $PATH")
    pod["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] = "StartError"
    ending = judge(pod)
    assert (ending.state, ending.reason) == ("Failed", "StartError")
    assert ending.message == "could not start: exec: nope: executable file not found in $PATH"


def test_a_vanished_pod_is_lost() -> None:
    ending = judge(None)
    assert (ending.state, ending.reason) == ("Failed", "PodLost")
    assert ending.message == "lost: the pod was deleted before it ended"
    assert ending.economics is None


def test_node_unknown_falls_back_to_defaults() -> None:
    study = make_study()
    pod = ended_pod()
    econ = pod_price.price(study, pod, None, EconomicsConfig(), "trial", NOW)
    assert econ is not None and econ.region is None
    assert econ.grams_per_kwh == EconomicsConfig().grams_per_kwh


def test_an_unstarted_pod_costs_nothing_known() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": []}, "status": {"phase": "Pending"}}
    assert pod_price.price(make_study(), pod, None, EconomicsConfig(), "trial", NOW) is None


def test_service_account_token_is_not_mounted_unless_the_template_says_so() -> None:
    assert harden({"containers": [{"name": "a"}]})["automountServiceAccountToken"] is False
    given = {"automountServiceAccountToken": True, "containers": [{"name": "a"}]}
    assert harden(given)["automountServiceAccountToken"] is True
    pod = build_pod(make_study(), make_trial({"model": "knn", "cpu": "1"}), "uid", 1)
    assert pod["spec"]["automountServiceAccountToken"] is False


# -- attempts that span several pods: values from the last, economics from all ------------
def test_objective_values_come_from_the_final_attempt_and_economics_from_all() -> None:
    study = make_study()
    pod = ended_pod()
    output = read_metrics(study, "accuracy=0.8\n", "")
    spent = pod_price.price(study, pod, NODE, EconomicsConfig(), "trial", NOW)
    assert spent is not None
    earlier = spent.model_copy(update={"cost_usd": 5.0})  # a costly failed attempt
    before = TrialStatus(attempts=2, failures=1, economics=earlier)
    outcome = attempts.outcome(pod, "trial", output, spent)
    ending = lifecycle.end_attempt(study.spec, before, outcome, now=NOW).status
    assert ending.values == [0.8, spent.cost_usd]
    assert ending.economics is not None
    assert ending.economics.cost_usd == pytest.approx(5.0 + spent.cost_usd)


def test_reported_energy_replaces_the_estimate() -> None:
    study = make_study()
    estimated = pod_price.price(study, ended_pod(), NODE, EconomicsConfig(), "trial", NOW)
    reported = pod_price.price(
        study, ended_pod(), NODE, EconomicsConfig(), "trial", NOW, {"energy": 0.5}
    )
    assert estimated is not None and reported is not None
    assert estimated.energy_kwh < 0.01
    assert reported.energy_kwh == pytest.approx(0.5 * EconomicsConfig().pue, rel=0.2)
    assert reported.carbon_grams > estimated.carbon_grams
    assert reported_energy_kwh({"energy": -1.0}) is None
    assert reported_energy_kwh({"energy": math.nan}) is None
    assert reported_energy_kwh({"accuracy": 1.0}) is None


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("Succeeded", "GoalReached"),
        ("Failed", "TooManyFailedTrials"),
        ("Failed", "Timeout"),
        ("Succeeded", "Timeout"),
    ],
)
def test_a_trial_a_stop_rule_cancels_waits_for_the_study_to_resume(state: str, reason: str) -> None:
    condition = {"type": state, "status": "True", "reason": reason, "message": "why"}
    study_obj = {"status": {"state": state, "conditions": [condition]}}
    decision = attempts.study_stop(study_obj, "demo")
    assert (decision.state, decision.reason) == (state, reason)
    cancelled = AttemptOutcome("cancelled")
    move = lifecycle.end_attempt(
        make_study().spec, TrialStatus(attempts=1), cancelled, now=NOW, stopped=decision.message
    )
    s = move.status
    assert (s.state, s.reason, s.message) == ("Pending", "Cancelled", "cancelled: why")
    assert not move.finished and not move.retry
    assert lifecycle.waits_for_resume(s.state, s.reason) and s.failures == 0


# -- pods that never start -----------------------------------------------------------------
def pending_pod(
    waiting: dict[str, str] | None = None, conditions: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Pending", "conditions": conditions or []}
    if waiting is not None:
        status["containerStatuses"] = [{"name": "trial", "state": {"waiting": waiting}}]
    return {
        "metadata": {"name": "demo-0003-a1", "creationTimestamp": "2026-01-01T12:00:00Z"},
        "status": status,
    }


ROOT = "container has runAsNonRoot and image will run as root (pod: demo-0003-a1)"


@pytest.mark.parametrize(
    "reason",
    ["CreateContainerConfigError", "InvalidImageName", "ErrImageNeverPull", "CreateContainerError"],
)
def test_configuration_errors_fail_the_attempt_at_once(reason: str) -> None:
    stuck = attempts.stuck(pending_pod({"reason": reason, "message": "bad"}), NOW, 300)
    assert stuck is not None and stuck.fatal and stuck.reason == reason
    assert stuck.message == f"pod demo-0003-a1, container trial: {reason}: bad"


def test_a_root_image_against_run_as_non_root_says_how_to_fix_it() -> None:
    pod = pending_pod({"reason": "CreateContainerConfigError", "message": ROOT})
    stuck = attempts.stuck(pod, NOW, 300)
    assert stuck is not None and stuck.fatal
    assert ROOT in stuck.message
    assert "non-root user" in stuck.message and "securityContext" in stuck.message


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff"])
def test_image_pull_errors_fail_after_the_pending_timeout(reason: str) -> None:
    pod = pending_pod({"reason": reason, "message": "not found"})
    early = attempts.stuck(pod, NOW, 300)  # pending for 10 s
    assert early is not None and not early.fatal and early.reason == reason
    late = attempts.stuck(pod, NOW, 5)
    assert late is not None and late.fatal and "still failing after 5s" in late.message


def test_an_unschedulable_pod_waits_with_the_schedulers_message() -> None:
    why = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
    stuck = attempts.stuck(pending_pod(conditions=[{**condition, "message": why}]), NOW, 1)
    assert stuck is not None and not stuck.fatal and stuck.reason == "Unschedulable"
    assert why in stuck.message


def test_a_pod_that_is_just_starting_is_not_stuck() -> None:
    creating = pending_pod({"reason": "ContainerCreating"})
    assert attempts.stuck(creating, NOW, 1) is None
    assert attempts.stuck(pending_pod(), NOW, 1) is None


def test_only_quota_refusals_are_temporary() -> None:
    quota = 'pods "demo-0003-a1" is forbidden: exceeded quota: compute, requested: cpu=2'
    assert attempts.quota_refusal(403, quota)
    security = 'pods "x" is forbidden: violates PodSecurity "restricted:latest"'
    assert not attempts.quota_refusal(403, security)
    assert not attempts.quota_refusal(422, quota)
    assert not attempts.quota_refusal(403, "failed quota: compute: must specify limits.cpu")


# -- the trial driver against a fake API -----------------------------------------------------
class FakeKube:
    """The API calls `TrialDriver` makes, over dicts; `create_pod` may raise."""

    def __init__(self, study: Study, trial: Trial) -> None:
        trial_obj: dict[str, Any] = trial.wire()
        owner = owner_reference("Study", study.metadata.name, "s-uid")
        trial_obj["metadata"] = {
            **trial_obj["metadata"],
            "uid": "t-uid",
            "ownerReferences": [owner],
        }
        study_obj = study.wire()
        study_obj["metadata"] = {**study_obj["metadata"], "uid": "s-uid"}
        self.objects: dict[str, dict[str, Any]] = {
            "studies": {**study_obj, "status": {"state": "Running"}},
            "trials": trial_obj,
        }
        self.events: list[tuple[str, str, str]] = []
        self.pods: dict[str, dict[str, Any]] = {}
        self.refusal: ApiException | None = None
        self.deleted: list[str] = []
        self.stream_open = threading.Event()

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(plural)

    def list_studies(self, namespace: str) -> list[dict[str, Any]]:
        return [self.objects["studies"]]

    def list_trials(self, namespace: str, study: str) -> list[dict[str, Any]]:
        return [self.objects["trials"]]

    def list_pods(self, namespace: str, study: str) -> list[dict[str, Any]]:
        return list(self.pods.values())

    def replace_status(self, plural: str, namespace: str, name: str, status: Any) -> None:
        self.objects[plural] = {**self.objects[plural], "status": status}

    def create_pod(self, namespace: str, body: dict[str, Any]) -> bool:
        if self.refusal is not None:
            raise self.refusal
        self.pods[body["metadata"]["name"]] = body
        return True

    def create_trial(self, namespace: str, body: dict[str, Any]) -> bool:
        return True

    def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.pods.get(name)

    def delete_pod(self, namespace: str, name: str, grace_seconds: int | None = None) -> None:
        self.deleted.append(name)
        self.pods.pop(name, None)

    def get_node(self, name: str) -> dict[str, Any] | None:
        return None

    def read_log(self, namespace: str, pod: str, container: str, **query: Any) -> Any:
        return None

    def follow_log(self, namespace: str, pod: str, container: str) -> Any:
        kube = self

        class Hanging:  # a stream that never sends and never closes
            def stream(self, size: int, decode_content: bool = True) -> Any:
                kube.stream_open.set()
                threading.Event().wait(30)
                yield from ()

            def close(self) -> None:
                pass

        return Hanging()

    def event(self, obj: Any, type: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], type, reason))


def driver_for(kube: FakeKube, sleeps: list[float]) -> TrialDriver:
    ctx = Context(kube=kube, settings=Settings(namespaces=("team-a",)))  # type: ignore[arg-type]
    return TrialDriver(ctx, "team-a", "demo-0003", lambda: False, sleeps.append)


def refused(status: int, message: str) -> ApiException:
    error = ApiException(status=status, reason="Forbidden")
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


def test_a_quota_refusal_keeps_the_trial_pending_and_tries_again() -> None:
    kube = FakeKube(make_study(), make_trial({"model": "knn", "cpu": "1"}))
    quota = 'pods "demo-0003-a1" is forbidden: exceeded quota: compute, requested: cpu=1'
    kube.refusal = refused(403, quota)
    sleeps: list[float] = []
    driver = driver_for(kube, sleeps)
    assert driver.step() is True  # not done: try again later
    status = kube.objects["trials"]["status"]
    assert (status["state"], status["reason"]) == ("Pending", "QuotaExceeded")
    assert status["attempts"] == 0
    assert quota in status["message"] and sleeps == [trials.QUOTA_RETRY]
    kube.refusal = None  # the quota has room again
    assert driver.step() is True
    status = kube.objects["trials"]["status"]
    assert status["attempts"] == 1 and "demo-0003-a1" in kube.pods


def test_a_retry_starts_afresh_and_quota_waits_never_judge_an_attempt_twice() -> None:
    trial = make_trial({"model": "knn", "cpu": "1"})
    started = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    trial.status = TrialStatus(
        state="Pending",
        attempts=1,
        pod_name="demo-0003-a1",
        start_time=started,
        intermediate=[StepValue(step=4, value=0.2)],
        last_intermediate={"accuracy": 0.2},
        pruning_state={"completed_rung_0": 0.2},
    )
    kube = FakeKube(make_study(retries=2), trial)
    waiting = {"reason": "CreateContainerConfigError", "message": "secret x not found"}
    kube.pods["demo-0003-a1"] = pending_pod(waiting)
    driver = driver_for(kube, [])
    assert driver.step() is True  # the attempt failed for good: retried
    status = kube.objects["trials"]["status"]
    assert (status["state"], status["reason"], status["failures"]) == ("Pending", "Retrying", 1)
    assert status["message"].startswith("attempt 1 failed (CreateContainerConfigError: ")
    # The next pod is refused for quota a while: the failed attempt is not judged again.
    kube.refusal = refused(403, "exceeded quota: compute")
    assert driver.step() is True and driver.step() is True
    assert kube.objects["trials"]["status"]["failures"] == 1
    kube.refusal = None
    assert driver.step() is True
    status = kube.objects["trials"]["status"]
    assert status["attempts"] == 2 and "demo-0003-a2" in kube.pods
    assert (status["failures"], status["state"]) == (1, "Pending")
    # Nothing of attempt 1 carries over but its start and its cost.
    assert status["intermediate"] == [] and status["lastIntermediate"] == {}
    assert status["pruningState"] == {} and status["startTime"] == "2026-01-01T11:00:00Z"


@pytest.mark.parametrize("owner", [None, "another-uid"])
def test_no_pod_runs_for_a_trial_its_study_does_not_control(owner: str | None) -> None:
    kube = FakeKube(make_study(), make_trial({"model": "knn", "cpu": "1"}))
    meta = kube.objects["trials"]["metadata"]
    meta["ownerReferences"] = [] if owner is None else [owner_reference("Study", "demo", owner)]
    before = json.loads(json.dumps(kube.objects["trials"]))
    driver = driver_for(kube, [])
    assert driver.step() is False and driver.step() is False
    assert kube.pods == {} and kube.objects["trials"] == before
    assert kube.events == [("demo", "Warning", "ForeignTrial")]  # on the Study, once


def test_a_pod_security_refusal_fails_the_trial() -> None:
    kube = FakeKube(make_study(), make_trial({"model": "knn", "cpu": "1"}))
    kube.refusal = refused(403, 'pods "x" is forbidden: violates PodSecurity "restricted"')
    assert driver_for(kube, []).step() is False
    status = kube.objects["trials"]["status"]
    assert (status["state"], status["reason"]) == ("Failed", "PodRejected")
    assert "violates PodSecurity" in status["message"]


def test_following_a_hung_log_notices_that_the_pod_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attemptlog, "STUDY_CHECK", 0.2)
    study = make_study()
    trial = make_trial({"model": "knn", "cpu": "1"})
    kube = FakeKube(study, trial)
    pod = build_pod(study, trial, "t-uid", 1)
    pod["metadata"]["uid"] = "p-uid"
    pod["status"] = {"phase": "Running"}
    kube.pods[pod["metadata"]["name"]] = pod
    driver = driver_for(kube, [])
    ended = threading.Event()

    def follow() -> None:
        driver._follow(study, trial, pod, "trial")
        ended.set()

    threading.Thread(target=follow, daemon=True).start()
    assert kube.stream_open.wait(5)
    assert not ended.wait(0.5)  # the pod still runs: keep following
    del kube.pods[pod["metadata"]["name"]]  # deleted; the stream stays open
    assert ended.wait(5), "the follower never noticed the pod was gone"


def test_following_a_hung_log_notices_that_the_pod_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attemptlog, "STUDY_CHECK", 0.2)
    study = make_study()
    trial = make_trial({"model": "knn", "cpu": "1"})
    kube = FakeKube(study, trial)
    pod = {**build_pod(study, trial, "t-uid", 1), "status": {"phase": "Succeeded"}}
    kube.pods[pod["metadata"]["name"]] = pod
    started = time.monotonic()
    driver_for(kube, [])._follow(study, trial, pod, "trial")
    assert time.monotonic() - started < 5


# -- the trial policy: nothing it refuses is ever created ---------------------------------
def privileged_study() -> Study:
    container = {
        "name": "trial",
        "image": "tradeoff:0.1.0",
        "command": ["python", "-c", "print('accuracy=1')"],
        "securityContext": {"privileged": True},
    }
    return make_study(pod={"containers": [container], "hostPID": True})


def test_build_pod_refuses_what_the_trial_policy_does_not_allow() -> None:
    trial = make_trial({"model": "knn", "cpu": "1"})
    with pytest.raises(PolicyViolation) as refused:
        build_pod(privileged_study(), trial, "uid", 1)  # the default policy: restricted
    assert problem_lines(refused.value.problems) == [
        "spec.hostPID: not allowed by the trial policy (restricted)",
        "spec.containers[0].securityContext.privileged: not allowed by the trial policy "
        "(restricted)",
    ]
    with pytest.raises(PolicyViolation):
        build_pod(privileged_study(), trial, "uid", 1, TrialPolicy("baseline"))
    pod = build_pod(privileged_study(), trial, "uid", 1, TrialPolicy("privileged"))
    sc = pod["spec"]["containers"][0]["securityContext"]
    # The API refuses allowPrivilegeEscalation: false with privileged: true.
    assert sc["privileged"] is True and "allowPrivilegeEscalation" not in sc
    assert pod["spec"]["hostPID"] is True and pod["spec"]["securityContext"]["runAsNonRoot"]


def test_the_driver_starts_no_pod_for_a_study_the_policy_refuses() -> None:
    kube = FakeKube(privileged_study(), make_trial({"model": "knn", "cpu": "1"}))
    sleeps: list[float] = []
    driver = driver_for(kube, sleeps)
    for _ in range(3):
        assert driver.step() is True  # waits for the spec to be fixed, as for an invalid one
    assert kube.pods == {} and sleeps == [1.0, 1.0, 1.0]
    assert kube.objects["trials"].get("status", {}).get("attempts", 0) == 0


def test_a_pod_the_policy_refuses_at_creation_fails_its_trial() -> None:
    # Defence in depth: the pod itself is checked right before it would be created.
    study = privileged_study()
    kube = FakeKube(study, make_trial({"model": "knn", "cpu": "1"}))
    driver = driver_for(kube, [])
    trial = Trial.model_validate(kube.objects["trials"])
    assert driver._start_attempt(study, trial, "t-uid") is False
    assert kube.pods == {}
    status = kube.objects["trials"]["status"]
    assert (status["state"], status["reason"]) == ("Failed", "PolicyViolation")
    assert status["message"].splitlines()[1] == (
        "spec.containers[0].securityContext.privileged: not allowed by the trial policy "
        "(restricted)"
    )
