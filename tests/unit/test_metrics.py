"""PrometheusObserver: bounded series, exact values, deletion, exposition that parses."""

from __future__ import annotations

import math
import random
import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import make_spec
from tradeoff.api import StudySpec, Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.status import PARETO_FRONT_CAP
from tradeoff.engine.insights import IMPORTANCE_TOP, insights
from tradeoff.engine.progress import Summary, summarize
from tradeoff.metrics import PrometheusObserver

Sample = tuple[str, tuple[tuple[str, str], ...], float]
OUTCOMES = ("Succeeded", "Succeeded", "Succeeded", "Failed", "Pruned")


def economics(number: int) -> TrialEconomics:
    seconds = 10.0 + number
    return TrialEconomics(
        duration_seconds=seconds,
        energy_kwh=seconds * 1e-5,
        carbon_grams=seconds * 1e-5 * 475,
        cost_usd=seconds / 3600 * 0.031611,
        source="estimated",
        vcpu=1.0,
        memory_gib=0.5,
        grams_per_kwh=475.0,
    )


def trials(n: int, study: str = "demo") -> list[Trial]:
    """`n` finished trials; the succeeded ones all lie on one front (more accuracy, more cost)."""
    records = []
    for i in range(n):
        record = Trial.new(study, i, {"x": i / n, "y": 0.5})
        record.status.state = OUTCOMES[i % len(OUTCOMES)]  # type: ignore[assignment]
        record.status.economics = economics(i)
        if record.status.state == "Succeeded":
            record.status.values = [math.sqrt(i / n), i / n]
            record.status.feasible = True
        records.append(record)
    return records


def drive(
    observer: PrometheusObserver,
    spec: StudySpec,
    records: list[Trial],
    study: str = "demo",
    namespace: str = "ns",
    state: str = "Running",
) -> Summary:
    summary = summarize(spec, records)
    for record in records:
        observer.trial_finished(namespace, study, record)
    observer.study_updated(namespace, study, spec, state, records, summary)
    observer.suggest_latency(spec.algorithm.name, 0.02)
    return summary


def samples(registry: CollectorRegistry) -> list[Sample]:
    """Every sample of the registry, read back from the text exposition (so it must parse)."""
    text = generate_latest(registry).decode()
    return [
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("tradeoff_")
    ]


def series(
    registry: CollectorRegistry, exclude: str = ""
) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return {
        (name, labels) for name, labels, _ in samples(registry) if not exclude or name != exclude
    }


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    want = tuple(sorted(labels.items()))
    found = [v for n, lbl, v in samples(registry) if n == name and lbl == want]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


def observed(trial_count: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    drive(PrometheusObserver(registry), make_spec(), trials(trial_count))
    return registry


def test_series_do_not_grow_with_the_number_of_trials() -> None:
    small, large = observed(20), observed(500)
    points = "tradeoff_pareto_point"
    assert series(small, exclude=points) == series(large, exclude=points)
    # Beyond the cap the front adds nothing either.
    assert series(observed(300)) == series(large)
    assert len({s for s in series(large) if s[0] == points}) == PARETO_FRONT_CAP * 2
    # No label value anywhere is a trial name.
    names = {r.metadata.name for r in trials(500)}
    assert not names & {v for _, labels in series(large) for _, v in labels}


def test_values_match_the_records_and_the_summary() -> None:
    registry = CollectorRegistry()
    spec = make_spec()
    records = trials(20)
    summary = drive(PrometheusObserver(registry), spec, records)
    outcomes = Counter(r.state for r in records)
    assert outcomes == {"Succeeded": 12, "Failed": 4, "Pruned": 4}
    for outcome, n in outcomes.items():
        key = {"namespace": "ns", "study": "demo"}
        assert value(registry, "tradeoff_trials", **key, state=outcome) == n
        assert value(registry, "tradeoff_trials_finished_total", **key, outcome=outcome) == n
        durations = [10.0 + r.number for r in records if r.state == outcome]
        count = value(registry, "tradeoff_trial_duration_seconds_count", **key, outcome=outcome)
        total = value(registry, "tradeoff_trial_duration_seconds_sum", **key, outcome=outcome)
        assert count == n
        assert total == pytest.approx(sum(durations))
        assert value(
            registry, "tradeoff_trial_duration_seconds_bucket", **key, outcome=outcome, le="30.0"
        ) == sum(d <= 30 for d in durations)
    key = {"namespace": "ns", "study": "demo"}
    assert value(registry, "tradeoff_trials", **key, state="Running") == 0
    assert value(registry, "tradeoff_studies", namespace="ns", state="Running") == 1
    assert value(registry, "tradeoff_studies", namespace="ns", state="Succeeded") == 0
    best_accuracy = max(math.sqrt(r.number / 20) for r in records if r.state == "Succeeded")
    assert value(registry, "tradeoff_best_value", **key, objective="accuracy") == best_accuracy
    assert value(registry, "tradeoff_best_value", **key, objective="cost") == 0.0
    assert value(registry, "tradeoff_pareto_front_size", **key) == 12
    assert value(registry, "tradeoff_hypervolume", **key) == summary.hypervolume
    cost = sum((10.0 + i) / 3600 * 0.031611 for i in range(20))
    assert value(registry, "tradeoff_study_cost_usd", **key) == pytest.approx(cost)
    assert value(registry, "tradeoff_study_energy_kwh", **key) == pytest.approx(
        sum((10.0 + i) * 1e-5 for i in range(20))
    )
    assert value(registry, "tradeoff_study_carbon_grams", **key) == pytest.approx(
        summary.totals.carbon_grams
    )
    assert value(registry, "tradeoff_carbon_deferred_trials", **key) == 0
    # Points are ordered by the first objective: point 0 has the lowest accuracy.
    assert value(registry, "tradeoff_pareto_point", **key, point="0", objective="accuracy") == 0.0
    assert value(registry, "tradeoff_pareto_point", **key, point="11", objective="cost") == 0.85
    info = {**key, "algorithm": "tpe", "objectives": "accuracy,cost"}
    assert value(registry, "tradeoff_study_info", **info) == 1
    assert value(registry, "tradeoff_sampler_suggest_seconds_count", algorithm="tpe") == 1
    assert value(registry, "tradeoff_reconcile_errors_total", kind="study") == 0


def test_a_trial_reported_twice_is_counted_once() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    (record,) = trials(1)
    for _ in range(3):
        observer.trial_finished("ns", "demo", record)
    observer.trial_finished("ns", "demo", Trial.new("demo", 7, {"x": 0.1, "y": 0.1}))  # pending
    outcome = {"namespace": "ns", "study": "demo", "outcome": "Succeeded"}
    assert value(registry, "tradeoff_trials_finished_total", **outcome) == 1
    assert value(registry, "tradeoff_trial_duration_seconds_count", **outcome) == 1


def test_duration_falls_back_to_start_and_completion_times() -> None:
    registry = CollectorRegistry()
    record = Trial.new("demo", 0, {"x": 0.1, "y": 0.1})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    record.status.state = "Failed"
    record.status.start_time, record.status.completion_time = start, start + timedelta(minutes=3)
    PrometheusObserver(registry).trial_finished("ns", "demo", record)
    key = {"namespace": "ns", "study": "demo", "outcome": "Failed"}
    assert value(registry, "tradeoff_trial_duration_seconds_sum", **key) == 180.0


def test_a_shrinking_front_and_changed_objectives_leave_no_stale_series() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    spec = make_spec()
    drive(observer, spec, trials(20))
    few = trials(5)
    summary = drive(observer, spec, few)
    points = {dict(lbl)["point"] for n, lbl, _ in samples(registry) if n == "tradeoff_pareto_point"}
    assert points == {str(i) for i in range(summary.front_size)} == {"0", "1", "2"}
    # Nothing succeeded yet: no best values, no hypervolume, no points.
    failed = [r for r in few if r.state != "Succeeded"]
    drive(observer, spec, failed)
    names = {n for n, _, _ in samples(registry)}
    assert not names & {"tradeoff_best_value", "tradeoff_hypervolume", "tradeoff_pareto_point"}
    # Other objectives and algorithm: the old objective and info series go.
    other = make_spec(
        objectives=[
            {"name": "accuracy", "direction": "maximize"},
            {"name": "carbon", "direction": "minimize"},
        ],
        algorithm={"name": "random", "seed": 1},
    )
    drive(observer, other, trials(20))
    objectives = {
        dict(lbl)["objective"] for n, lbl, _ in samples(registry) if n == "tradeoff_best_value"
    }
    assert objectives == {"accuracy", "carbon"}
    infos = [dict(lbl) for n, lbl, _ in samples(registry) if n == "tradeoff_study_info"]
    assert [(i["algorithm"], i["objectives"]) for i in infos] == [("random", "accuracy,carbon")]


def test_deleting_a_study_removes_its_series_only() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    spec = make_spec()
    drive(observer, spec, trials(20, "first"), study="first")
    drive(observer, spec, trials(20, "second"), study="second", state="Succeeded")
    drive(observer, spec, trials(20, "third"), study="third", namespace="other")
    before = series(registry)
    observer.study_deleted("ns", "first")
    after = series(registry)
    gone = {s for s in before - after}
    assert gone and all(("study", "first") in labels for _, labels in gone)
    assert not any(("study", "first") in labels for _, labels in after)
    assert value(registry, "tradeoff_studies", namespace="ns", state="Running") == 0
    assert value(registry, "tradeoff_studies", namespace="ns", state="Succeeded") == 1
    observer.study_deleted("ns", "second")
    observer.study_deleted("ns", "never-seen")
    assert not any(("namespace", "ns") in labels for _, labels in series(registry))
    assert value(registry, "tradeoff_studies", namespace="other", state="Running") == 1
    # A deleted study that comes back is counted afresh.
    drive(observer, spec, trials(5, "first"), study="first")
    key = {"namespace": "ns", "study": "first", "outcome": "Succeeded"}
    assert value(registry, "tradeoff_trials_finished_total", **key) == 3


def test_reconcile_errors_and_suggest_latency() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    assert value(registry, "tradeoff_reconcile_errors_total", kind="trial") == 0
    observer.reconcile_error("trial")
    observer.reconcile_error("trial")
    observer.suggest_latency("nsga2", 0.003)
    observer.suggest_latency("nsga2", 0.2)
    assert value(registry, "tradeoff_reconcile_errors_total", kind="trial") == 2
    assert value(registry, "tradeoff_sampler_suggest_seconds_sum", algorithm="nsga2") == 0.203
    assert (
        value(registry, "tradeoff_sampler_suggest_seconds_bucket", algorithm="nsga2", le="0.005")
        == 1
    )


def test_concurrent_events_give_consistent_counts() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    spec = make_spec()

    def work(study: str) -> None:
        records = trials(40, study)
        for _ in range(3):
            drive(observer, spec, records, study=study)

    threads = [threading.Thread(target=work, args=(f"s{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert value(registry, "tradeoff_studies", namespace="ns", state="Running") == 8
    for i in range(8):
        key = {"namespace": "ns", "study": f"s{i}", "outcome": "Failed"}
        assert value(registry, "tradeoff_trials_finished_total", **key) == 8


def test_front_cap_bounds_the_points() -> None:
    registry = CollectorRegistry()
    drive(PrometheusObserver(registry, front_cap=4), make_spec(), trials(100))
    points = sorted(
        (int(dict(lbl)["point"]), v)
        for n, lbl, v in samples(registry)
        if n == "tradeoff_pareto_point" and dict(lbl)["objective"] == "cost"
    )
    assert [p for p, _ in points] == [0, 1, 2, 3]
    costs = [v for _, v in points]
    assert costs == sorted(costs) and costs[0] == 0.0 and costs[-1] == 0.97
    with pytest.raises(ValueError, match="front_cap"):
        PrometheusObserver(CollectorRegistry(), front_cap=0)


def test_every_family_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    registry = CollectorRegistry()
    PrometheusObserver(registry)
    documented = set(re.findall(r"^\| `(tradeoff_\w+)` \| (\w+) \|", doc, re.MULTILINE))
    exposed = set()
    for family in registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        exposed.add((name, family.type))
    assert documented == exposed


def test_a_state_outside_the_known_ones_is_counted_and_removed() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    spec = make_spec()
    drive(observer, spec, trials(3), state="Terminating")
    assert value(registry, "tradeoff_studies", namespace="ns", state="Terminating") == 1
    drive(observer, spec, trials(3), state="Running")
    assert value(registry, "tradeoff_studies", namespace="ns", state="Terminating") == 0
    observer.study_deleted("ns", "demo")
    assert not [n for n, _, _ in samples(registry) if n == "tradeoff_studies"]


def test_parameter_importance_follows_the_importance_insights_and_goes_with_the_study() -> None:
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    spec = make_spec(
        parameters=[{"name": f"p{i}", "type": "float", "low": 0, "high": 1} for i in range(30)]
    )
    rng = random.Random(0)
    records = []
    for i in range(40):
        record = Trial.new("demo", i, {f"p{k}": rng.random() for k in range(30)})
        record.status.state = "Succeeded"
        values = record.spec.parameters
        record.status.values = [float(values["p0"]), float(values["p1"])]
        record.status.feasible = True
        records.append(record)
    found = insights(spec, records)
    observer.insights_updated("ns", "demo", found)
    shown = [s for s in series(registry) if s[0] == "tradeoff_parameter_importance"]
    by_objective = Counter(dict(labels)["objective"] for _, labels in shown)
    assert by_objective == {"accuracy": IMPORTANCE_TOP, "cost": IMPORTANCE_TOP}  # 30 bounded
    key = {"namespace": "ns", "study": "demo", "objective": "accuracy", "parameter": "p0"}
    assert value(registry, "tradeoff_parameter_importance", **key) > 0.5
    # Fewer parameters named later: the others' series go.
    observer.insights_updated("ns", "demo", [i for i in found if i.subject == "cost"])
    left = {dict(lbl)["objective"] for n, lbl in series(registry) if n.endswith("importance")}
    assert left == {"cost"}
    observer.study_deleted("ns", "demo")
    assert not [s for s in series(registry) if s[0] == "tradeoff_parameter_importance"]
