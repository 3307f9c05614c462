"""The Ensemble trial: when the engine makes one, what it measures, and how it counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss

from tests.factories import KEY, finish, make_spec, manifest
from tradeoff.api import Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.errors import ManifestError
from tradeoff.engine import Engine
from tradeoff.engine.ensemble_selection import Predictions, parse_predictions, select
from tradeoff.engine.ensembles import ensemble_name
from tradeoff.engine.ensembles import finish as finish_ensemble
from tradeoff.engine.progress import StopDecision
from tradeoff.engine.validation import validate_study

TRUTH = ["a", "b", "b", "a", "b", "a"]


def spec_with(ensemble: dict[str, object] | None, max_trials: int = 4) -> Engine:
    extra = {"ensemble": ensemble} if ensemble is not None else {}
    spec = make_spec(budget={"maxTrials": max_trials, "parallelism": 1}, **extra)
    return Engine(spec, study="demo", key=KEY)


def economics(cost: float) -> TrialEconomics:
    return TrialEconomics(
        duration_seconds=10.0, energy_kwh=cost, carbon_grams=cost * 2, cost_usd=cost,
        source="estimated", vcpu=1.0, memory_gib=1.0, grams_per_kwh=475.0,
    )  # fmt: skip


def searched(engine: Engine, count: int = 4) -> list[Trial]:
    records: list[Trial] = []
    for i in range(count):
        (s,) = engine.ask(records, 1)
        record = Trial.new("demo", s.number, s.parameters, s.sampler_state)
        metrics = {"accuracy": 0.5 + i / 10, "cost": 1.0 + i, "model_size_bytes": 100.0 * (i + 1)}
        record.status.economics = economics(1.0 + i)
        records.append(finish(engine, record, metrics))
    return records


def csv_of(proba: list[list[float]]) -> bytes:
    lines = ["index,y_true,y_pred,proba_a,proba_b"]
    for i, (t, (pa, pb)) in enumerate(zip(TRUTH, proba, strict=True)):
        lines.append(f"{i},{t},{'a' if pa >= pb else 'b'},{pa},{pb}")
    return ("\n".join(lines) + "\n").encode()


ENDED = StopDecision("Succeeded", "MaxTrialsReached", "all 4 trials ran")


def test_an_ensemble_is_due_once_when_the_search_ended_well() -> None:
    engine = spec_with({"size": 5, "from": {"top": 2}})
    records = searched(engine)
    decision = engine.stop_decision(records)
    assert decision is not None and decision.reason == "MaxTrialsReached"
    made = engine.ensemble_due(records, decision, namespace="ns")
    assert made is not None and made.is_ensemble
    assert made.metadata.name == ensemble_name("demo") == "demo-ensemble"
    assert made.number == 4 and made.metadata.namespace == "ns"
    assert made.spec.ensemble is not None
    assert made.spec.ensemble.candidates == ["demo-0003", "demo-0002"]  # best accuracy first
    assert made.spec.ensemble.size == 5
    # Once it exists (any state) none is due again: a restart never makes a second.
    with_it = [*records, made]
    assert engine.ensemble_due(with_it, decision) is None
    # It is no part of the search: the budget rules and the sampler ignore it.
    assert engine.stop_decision(with_it) == decision
    assert engine.trials_to_start(with_it) == 0
    more = Engine(engine.spec.model_copy(update={"budget": engine.spec.budget.model_copy(
        update={"max_trials": 6})}), study="demo", key=KEY)  # fmt: skip
    assert more.trials_to_start(with_it) == 1  # 4 of 6 search trials: one slot
    (next_one,) = more.ask(with_it, 1)
    assert next_one.number == 5  # numbers stay unique
    # Only a study that asks for one, and only after a success.
    failed = StopDecision("Failed", "TooManyFailedTrials", "5 failed", True)
    assert engine.ensemble_due(records, failed) is None
    assert engine.ensemble_due(records, None) is None
    assert spec_with(None).ensemble_due(records, ENDED) is None


def test_the_front_is_the_default_source() -> None:
    engine = spec_with({})
    records = searched(engine)
    made = engine.ensemble_due(records, ENDED)
    assert made is not None and made.spec.ensemble is not None
    front = [p.trial for p in engine.summarize(records).front]
    assert sorted(made.spec.ensemble.candidates) == sorted(front)
    assert made.spec.ensemble.size == 20 and made.spec.ensemble.criterion == "accuracy"


def test_metrics_are_measured_on_the_mixed_predictions_and_the_rest_summed() -> None:
    engine = spec_with({"size": 4, "from": {"top": 3}})
    records = searched(engine)
    made = engine.ensemble_due(records, ENDED)
    assert made is not None and made.spec.ensemble is not None
    # Two complementary candidates (each wrong where the other is sure) and a weak one.
    proba = {
        "demo-0003": [[0.9, 0.1], [0.6, 0.4], [0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.8, 0.2]],
        "demo-0002": [[0.4, 0.6], [0.1, 0.9], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9], [0.9, 0.1]],
        "demo-0001": [[0.5, 0.5]] * 6,
    }
    found: list[Predictions | str] = [
        parse_predictions(name, csv_of(proba[name])) for name in made.spec.ensemble.candidates
    ]
    selected = select(made.spec.ensemble, found)
    assert not isinstance(selected, str)
    assert set(selected.members) == {"demo-0003", "demo-0002"}
    assert math.isclose(sum(selected.members.values()), 1.0)
    by_name = {r.metadata.name: r for r in records}
    members = [by_name[n] for n in selected.members]
    status = finish_ensemble(engine.spec, made.status, members, selected)
    # Recomputed independently from the members' predictions and weights.
    mixed = sum(w * np.array(proba[n]) for n, w in selected.members.items())
    predicted = ["a" if row[0] >= row[1] else "b" for row in mixed]
    assert status.metrics["accuracy"] == accuracy_score(TRUTH, predicted) == 1.0
    assert math.isclose(
        status.metrics["balanced_accuracy"], balanced_accuracy_score(TRUTH, predicted)
    )
    assert math.isclose(status.metrics["log_loss"], log_loss(TRUTH, mixed, labels=["a", "b"]))
    # Its members' other metrics and economics add up: it runs and stored each of them.
    assert status.metrics["model_size_bytes"] == 400.0 + 300.0
    assert status.economics is not None and status.economics.cost_usd == 4.0 + 3.0
    assert status.values == [1.0, 7.0]  # accuracy, cost (the members' economics)
    assert status.state == "Succeeded" and status.reason == "Ensembled"
    assert status.ensemble is not None and status.ensemble.rows == 6
    assert status.ensemble.scores == "probabilities"

    # On the front and recommended as any trial; the study's totals count its members once.
    made.status = status
    summary = engine.summarize([*records, made])
    point = next(p for p in summary.front if p.trial == "demo-ensemble")
    assert point.kind == "Ensemble"
    assert summary.counts.created == 4 and summary.counts.succeeded == 4  # the search's
    assert summary.ensemble is not None and summary.ensemble.state == "Succeeded"
    assert summary.totals.cost_usd == 1.0 + 2.0 + 3.0 + 4.0
    lexicographic = engine.spec.model_copy(update={"selection": engine.spec.selection.model_copy(
        update={"policy": "lexicographic", "order": ["accuracy", "cost"]})})  # fmt: skip
    rec = Engine(lexicographic, study="demo", key=KEY).summarize([*records, made]).recommended
    assert rec is not None and rec.trial == "demo-ensemble" and rec.kind == "Ensemble"
    assert rec.members == selected.members and rec.parameters == {}


def test_candidates_on_other_rows_or_unparsable_are_skipped_and_named() -> None:
    engine = spec_with({"size": 2, "from": {"top": 3}})
    made = engine.ensemble_due(searched(engine), ENDED)
    assert made is not None and made.spec.ensemble is not None
    good = csv_of([[0.9, 0.1]] * 6)
    other_rows = good.replace(b"0,a,a", b"0,b,a", 1)
    found = [
        parse_predictions("demo-0003", good),
        parse_predictions("demo-0002", other_rows),
        parse_predictions("demo-0001", b"not,a,csv\n"),
    ]
    selected = select(made.spec.ensemble, found)
    assert not isinstance(selected, str)
    assert selected.members == {"demo-0003": 1.0}
    assert selected.skipped == [
        "demo-0001: predictions.csv does not parse (expected the columns index,y_true,y_pred"
        " and at least one row)",
        "demo-0002: predicted other rows than demo-0003",
    ]
    assert select(made.spec.ensemble, [found[2]]) == found[2]  # nothing usable: why


def test_spec_ensemble_is_validated_with_the_field_and_the_fix() -> None:
    with pytest.raises(ManifestError) as caught:
        validate_study(
            manifest(objectives=[{"name": "f1", "direction": "maximize"}], ensemble={"size": 3})
        )
    assert "ensemble" in str(caught.value) and "objective 'f1' cannot be measured" in str(
        caught.value
    )
    for bad, said in [({"from": {"top": 0}}, "from"), ({"from": "best"}, "from"),
                      ({"method": "stacking"}, "method"), ({"size": 0}, "size")]:  # fmt: skip
        with pytest.raises(ManifestError) as caught:
            validate_study(manifest(ensemble=bad))
        lines = str(caught.value).splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"spec.ensemble.{said}:"), lines
    spec = make_spec(ensemble={"from": {"top": 3}, "criterion": "log_loss"})
    assert spec.ensemble is not None and spec.ensemble.source == "top:3"
