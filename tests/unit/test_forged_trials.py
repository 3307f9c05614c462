"""Trial objects made by hand in a cluster, claiming a Study: each is left out with one
log line when it is no record of the Study (garbage, another study, a name its number
does not give), and a record's sampler state steers nothing unless the study signed it."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.factories import KEY, make_spec
from tradeoff.api import Trial
from tradeoff.api.trial import MAX_TRIAL_NUMBER
from tradeoff.engine import Engine
from tradeoff.kube.cache import trial_entry
from tradeoff.kube.pods import owner_reference
from tradeoff.kube.reconcile import records_of


def trial_obj(name: str, number: Any, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Trial",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "resourceVersion": "1",
            "labels": {"tradeoff.dev/study": "demo"},
            "ownerReferences": [owner_reference("Study", "demo", "s-uid")],
        },
        "spec": {"study": "demo", "number": number, "parameters": {"x": 0.5, "y": 0.5}},
        "status": {"state": "Succeeded", "attempts": 1, "values": [1.0, 0.0], **status},
    }


FORGED = [
    (
        trial_obj("demo-0001", 1, values="best", attempts=-5),
        "not a valid Trial (status.attempts: must be at least 0 (got -5))",
    ),
    (trial_obj("demo-0002", 10**30), "not a valid Trial (spec.number: must be at most 999999"),
    (
        trial_obj("demo-0004", 4, values=[1.7e308, 0.0]),
        "not a valid Trial (status.values[0]: must be at most 1e+150 (got 1.7e+308))",
    ),
    (
        trial_obj("demo-forged", 0),
        "trial number 0 would be named 'demo-0000', not 'demo-forged'",
    ),
    (
        {**trial_obj("demo-0003", 3), "spec": {"study": "other", "number": 3, "parameters": {}}},
        "a trial of study 'other', not of 'demo'",
    ),
]


@pytest.mark.parametrize(
    ("obj", "why"), FORGED, ids=["garbage", "huge", "overflowing", "renamed", "other"]
)
def test_a_forged_trial_is_no_record_and_is_named_in_one_line(
    obj: dict[str, Any], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tradeoff.operator"):
        entry = trial_entry(obj)
    assert entry.record is None and entry.owned_by("s-uid")
    (line,) = caplog.messages
    name = obj["metadata"]["name"]
    assert line.startswith(f"Trial ns/{name}: ") and why in line, line
    assert "\n" not in line
    assert records_of([obj]) == []


def test_the_studys_own_trials_still_count() -> None:
    own = trial_obj("demo-0000", 0)
    entry = trial_entry(own)
    assert entry.record is not None and entry.record.number == 0
    assert [r.metadata.name for r in records_of([own, trial_obj("demo-forged", 0)])] == [
        "demo-0000"
    ]


def test_a_forged_signature_steers_nothing_and_is_named_once() -> None:
    spec = make_spec(algorithm={"name": "nsga2", "seed": 2, "settings": {"populationSize": 2}})
    honest = [Trial.new("demo", n, {"x": n / 10, "y": 0.5}) for n in range(3)]
    for r in honest:
        r.status.state, r.status.values, r.status.attempts = "Succeeded", [r.number / 3, 1.0], 1
    forged = honest[2].model_copy(deep=True)
    forged.spec.sampler_state = {
        "trial": {"NSGAIISampler:generation": 40},
        "study": {"NSGAIISampler:parent:1": [0, 0]},
        "signature": "0" * 64,
    }
    expected = Engine(spec, study="demo", key=KEY).ask(honest, 2)
    engine = Engine(spec, study="demo", key=KEY)
    assert engine.ask([*honest[:2], forged], 2) == expected
    assert engine.ask([*honest[:2], forged], 2) == expected
    assert engine.warnings == [
        "trial demo-0002: its sampler state is not signed by this study's key; the trial"
        " counts, its sampler state is ignored"
    ]


def test_a_trial_at_the_cap_costs_one_record_and_stops_the_numbering() -> None:
    top = records_of([trial_obj(f"demo-{MAX_TRIAL_NUMBER}", MAX_TRIAL_NUMBER)])
    assert [r.number for r in top] == [MAX_TRIAL_NUMBER]
    engine = Engine(make_spec(), study="demo", key=KEY)
    assert engine.ask(top, 3) == []
    assert len(engine._mirror.storage.trials) == 1


def test_the_ensemble_trial_is_a_record_under_its_own_name_only() -> None:
    from tradeoff.api.ensemble import EnsembleRequest
    from tradeoff.api.trial import Trial, TrialMeta, TrialSpec, study_problem

    def ensemble(name: str) -> Trial:
        spec = TrialSpec(
            study="demo",
            number=7,
            parameters={},
            kind="Ensemble",
            ensemble=EnsembleRequest(candidates=["demo-0001"], size=3),
        )
        return Trial(metadata=TrialMeta(name=name), spec=spec)

    assert study_problem(ensemble("demo-ensemble"), "demo") is None
    assert study_problem(ensemble("demo-0007"), "demo") == (
        "the ensemble trial would be named 'demo-ensemble', not 'demo-0007'"
    )
