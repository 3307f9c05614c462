"""Only the operator's records count: Trials a Study does not control are ignored (with a
Warning Event, and no pod), a name one of them holds is never adopted, and the API server
keeps Trial specs and a Study's space, objectives and algorithm as they were created."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.cluster.patch import MERGE
from tests.e2e.helpers import (
    GROUP,
    Operator,
    apply,
    condition,
    events,
    pods,
    study,
    study_manifest,
    trials,
    wait_study,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def hand_made(name: str, study_name: str, number: int, owner: dict[str, Any] | None) -> Any:
    """A Trial made by hand, labelled for `study_name`, that claims a perfect result."""
    body = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Trial",
        "metadata": {"name": name, "labels": {"tradeoff.dev/study": study_name}},
        "spec": {"study": study_name, "number": number, "parameters": {"x": 0.3}},
    }
    if owner is not None:
        body["metadata"]["ownerReferences"] = [owner]
    return body


def claim_success(cluster: Cluster, name: str) -> None:
    status = {"state": "Succeeded", "values": [1.0, 0.0], "metrics": {"accuracy": 1.0}}
    cluster.api.patch(
        cluster.resource("trials", GROUP), cluster.namespace, name, MERGE,
        {"status": status}, subresource="status",
    )  # fmt: skip


def foreign_events(cluster: Cluster, study_name: str) -> list[str]:
    return sorted(
        e["message"] for e in events(cluster, study_name) if e["reason"] == "ForeignTrial"
    )


def test_trials_the_study_does_not_control_are_ignored(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    assert apply(cluster, study_manifest("owned", budget={"maxTrials": 3})).returncode == 0
    uid = cluster.wait_for(lambda: study(cluster, "owned")["metadata"].get("uid"))
    # A Trial with no owner, and one whose controller reference names another uid; both
    # labelled for the Study, both claiming a perfect, finished result or a running one.
    other = {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "Study", "name": "owned",
        "uid": "00000000-0000-0000-0000-000000000000", "controller": True,
    }  # fmt: skip
    cluster.apply(hand_made("owned-forged", "owned", 9000, None))
    claim_success(cluster, "owned-forged")
    cluster.apply(hand_made("owned-other", "owned", 9001, other))
    done = wait_study(cluster, "owned", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    counts = done["status"]["trials"]
    assert counts["created"] == 3 and counts["succeeded"] == 3, counts
    assert done["status"]["recommended"]["trial"] != "owned-forged"
    assert all(p["trial"].startswith("owned-000") for p in done["status"]["paretoFront"])
    warned = cluster.wait_for(lambda: len(foreign_events(cluster, "owned")) == 2 or None)
    assert warned
    messages = foreign_events(cluster, "owned")
    assert "trial owned-forged is not controlled by study owned" in messages[0]
    assert "trial owned-other is not controlled by study owned" in messages[1]
    assert all(
        e["type"] == "Warning" for e in events(cluster, "owned") if e["reason"] == "ForeignTrial"
    )
    names = [p["metadata"]["name"] for p in pods(cluster, "owned")]
    assert not [n for n in names if "forged" in n or "other" in n], names
    own = [t for t in trials(cluster, "owned") if t["metadata"]["name"].startswith("owned-000")]
    assert len(own) == 3
    for t in own:
        (ref,) = t["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["uid"], ref["controller"]) == ("Study", uid, True)
    # Untouched: the operator wrote nothing to them, not even its finalizer.
    forged = cluster.get("trials", "owned-forged", group=GROUP)
    assert forged is not None and not forged["metadata"].get("finalizers")
    assert forged["status"]["state"] == "Succeeded"  # what its maker wrote, and no more


def test_a_name_held_by_a_foreign_trial_blocks_until_it_is_deleted(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    # The next deterministic name, taken before the Study exists (no label: only the
    # create's 409 finds it).
    squatter = hand_made("held-0001", "held", 1, None)
    del squatter["metadata"]["labels"]
    cluster.apply(squatter)
    operator()
    manifest = study_manifest("held", budget={"maxTrials": 3, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0

    def blocked() -> Any:
        found = condition(study(cluster, "held"), "Blocked")
        return found if found is not None and found["status"] == "True" else None

    found = cluster.wait_for(blocked, timeout=30, interval=0.2)
    assert found["reason"] == "TrialNameTaken" and "held-0001" in found["message"]
    assert study(cluster, "held")["status"]["message"] == found["message"]

    def said() -> Any:
        return [e for e in events(cluster, "held") if e["reason"] == "TrialNameTaken"] or None

    taken = cluster.wait_for(said, timeout=10)
    assert len(taken) == 1 and taken[0]["type"] == "Warning"
    names = [t["metadata"]["name"] for t in trials(cluster, "held")]
    assert names == ["held-0000"]  # nothing after the held name
    assert not cluster.get("pods", "held-0001-a1")
    held = cluster.get("trials", "held-0001", group=GROUP)
    assert held is not None and not held["metadata"].get("ownerReferences")  # not adopted
    cluster.kubectl("delete", "trial", "held-0001", check=True)
    done = wait_study(cluster, "held", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    assert condition(done, "Blocked")["status"] == "False"  # type: ignore[index]
    own = trials(cluster, "held")
    assert [t["metadata"]["name"] for t in own] == ["held-0000", "held-0001", "held-0002"]
    assert all(t["metadata"]["ownerReferences"][0]["uid"] == done["metadata"]["uid"] for t in own)
    assert len(said() or []) == 1  # said once, not at every pass while it waited


def test_the_api_server_keeps_trial_specs_as_created(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    assert apply(cluster, study_manifest("kept", budget={"maxTrials": 1})).returncode == 0
    wait_study(cluster, "kept", timeout=60)
    change = json.dumps({"spec": {"parameters": {"x": 0.99}}})
    refused = cluster.kubectl("patch", "trial", "kept-0000", "--type=merge", "-p", change)
    assert refused.returncode != 0
    assert 'spec: Invalid value: "object": Trial spec is immutable' in refused.stderr
    budget = json.dumps({"spec": {"budget": {"maxTrials": 2}}})
    edited = cluster.kubectl("patch", "study", "kept", "--type=merge", "-p", budget)
    assert edited.returncode == 0, edited.stderr

    def rerun() -> Any:
        status = study(cluster, "kept").get("status") or {}
        done = status.get("state") == "Succeeded" and status.get("observedGeneration") == 2
        return status if done else None

    status = cluster.wait_for(rerun, timeout=60, interval=0.2)
    assert status["trials"]["created"] == 2 and status["trials"]["succeeded"] == 2


def test_trials_forged_as_the_studys_own_are_left_out_with_one_line(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """Trials made by hand with the Study as their controller (its uid is readable): one
    repeating a number the operator gave, one claiming another study, one with garbage
    sampler state and a forged signature. Neither is the study's record: each is named
    in the operator's log, no pass fails, and the study runs its own trials only."""
    running = operator()
    manifest = study_manifest("mine", budget={"maxTrials": 3, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    uid = cluster.wait_for(lambda: study(cluster, "mine")["metadata"].get("uid"))
    owner = {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "Study", "name": "mine",
        "uid": uid, "controller": True,
    }  # fmt: skip
    cluster.apply(hand_made("mine-forged", "mine", 0, owner))
    claim_success(cluster, "mine-forged")
    other = hand_made("mine-0007", "mine", 7, owner)
    other["spec"]["study"] = "other"
    cluster.apply(other)
    claim_success(cluster, "mine-0007")
    signed = hand_made("mine-forged-state", "mine", 8, owner)
    signed["spec"]["samplerState"] = {
        "trial": {"CmaEsSampler:optimizer": "gASVAAAA"},
        "signature": "0" * 64,
    }
    cluster.apply(signed)
    done = wait_study(cluster, "mine", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    counts = done["status"]["trials"]
    assert counts["created"] == 3 and counts["succeeded"] == 3, counts
    assert all(p["trial"].startswith("mine-000") for p in done["status"]["paretoFront"])
    names = [p["metadata"]["name"] for p in pods(cluster, "mine")]
    assert not [n for n in names if "forged" in n or "0007" in n], names
    log = running.log
    assert "Traceback" not in log
    for name, why in [
        ("mine-forged", "trial number 0 would be named 'mine-0000', not 'mine-forged'"),
        ("mine-0007", "a trial of study 'other', not of 'mine'"),
        ("mine-forged-state", "trial number 8 would be named 'mine-0008'"),
    ]:
        lines = [line for line in log.splitlines() if f"Trial {cluster.namespace}/{name}:" in line]
        assert lines and why in lines[0], (name, log[-3000:])


def test_a_trial_forged_with_the_last_number_ends_the_study_without_a_pass_failing(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """A hand-made Trial the Study controls, named as its number says, holding the last
    number there is: it counts (nothing tells it from the operator's), costs what one
    record costs, and the study ends saying why instead of idling."""
    manifest = study_manifest("top", budget={"maxTrials": 5, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    uid = cluster.wait_for(lambda: study(cluster, "top")["metadata"].get("uid"))
    owner = {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "Study", "name": "top",
        "uid": uid, "controller": True,
    }  # fmt: skip
    cluster.apply(hand_made("top-999999", "top", 999_999, owner))
    claim_success(cluster, "top-999999")
    running = operator()
    done = wait_study(cluster, "top", timeout=60)
    assert done["status"]["state"] == "Failed"
    failed = condition(done, "Failed")
    assert failed is not None and failed["reason"] == "TrialNumbersUsedUp", failed
    assert "999,999, the last there is" in failed["message"]
    assert [t["metadata"]["name"] for t in trials(cluster, "top")] == ["top-999999"]
    assert "Traceback" not in running.log


def test_a_trial_forged_with_more_values_than_objectives_is_left_out_with_one_line(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """A hand-made Trial the Study controls, named as its number says, claiming three
    objective values for a study of two: every summary pairs values with objectives, and
    the pass failed on it each time, so the study never ended. It is left out, named once
    in the log, and the study runs its own trials to the end."""
    running = operator()
    manifest = study_manifest("wide", budget={"maxTrials": 3, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    uid = cluster.wait_for(lambda: study(cluster, "wide")["metadata"].get("uid"))
    owner = {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "Study", "name": "wide",
        "uid": uid, "controller": True,
    }  # fmt: skip
    cluster.apply(hand_made("wide-0009", "wide", 9, owner))
    status = {"state": "Succeeded", "values": [1.0, 0.0, 5.0], "metrics": {"accuracy": 1.0}}
    cluster.api.patch(
        cluster.resource("trials", GROUP), cluster.namespace, "wide-0009", MERGE,
        {"status": status}, subresource="status",
    )  # fmt: skip
    done = wait_study(cluster, "wide", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    assert done["status"]["trials"]["succeeded"] == 3, done["status"]["trials"]
    assert all(p["trial"] != "wide-0009" for p in done["status"]["paretoFront"])
    log = running.log
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if f"Trial {cluster.namespace}/wide-0009:" in line]
    assert len(lines) == 1, log[-3000:]
    why = "status.values holds 3 value(s), but the study has 2 objective(s); left out"
    assert why in lines[0], lines[0]


def test_an_ensemble_trial_forged_with_a_search_trials_number_is_left_out_with_one_line(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """A hand-made Ensemble trial the Study controls, under the one name an Ensemble trial
    has, numbered 0 once the first search trial is: two records of one number made every
    engine decision raise, so no pass ended. It is left out, named once in the log, and
    the study runs its own trials to the end."""
    running = operator()
    manifest = study_manifest("twin", budget={"maxTrials": 3, "parallelism": 1})
    assert apply(cluster, manifest).returncode == 0
    uid = cluster.wait_for(lambda: study(cluster, "twin")["metadata"].get("uid"))
    owner = {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "Study", "name": "twin",
        "uid": uid, "controller": True,
    }  # fmt: skip
    names = lambda: [t["metadata"]["name"] for t in trials(cluster, "twin")]  # noqa: E731
    cluster.wait_for(lambda: "twin-0000" in names())
    forged = hand_made("twin-ensemble", "twin", 0, owner)
    forged["spec"] = {"study": "twin", "number": 0, "parameters": {}, "kind": "Ensemble"}
    cluster.apply(forged)
    done = wait_study(cluster, "twin", timeout=60)
    assert done["status"]["state"] == "Succeeded"
    assert done["status"]["trials"]["succeeded"] == 3, done["status"]["trials"]
    log = running.log
    assert "Traceback" not in log
    lines = [x for x in log.splitlines() if f"Trial {cluster.namespace}/twin-ensemble:" in x]
    assert len(lines) == 1, log[-3000:]
    assert "trial number 0 is a search trial's; left out" in lines[0], lines[0]
