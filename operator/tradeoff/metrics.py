"""Prometheus metrics of studies and trials: a `StudyObserver` on a `CollectorRegistry`.

Every family is prefixed ``tradeoff_`` and documented in docs/metrics.md. Labels stay
bounded: namespaces, studies, states, objectives, algorithms and the index of a point
along the capped Pareto front; a trial's name is never a label value.

Cumulative cost, energy and carbon are gauges set from the study's summary totals,
which the engine recomputes from the trial records: they survive an operator restart
and never count a trial twice.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from tradeoff.api.status import PARETO_FRONT_CAP, FrontPoint, Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.progress import Summary
from tradeoff.engine.schedule import CARBON_DEFERRED

__all__ = [
    "DURATION_BUCKETS",
    "RECONCILE_KINDS",
    "STUDY_STATES",
    "SUGGEST_BUCKETS",
    "TRIAL_STATES",
    "PrometheusObserver",
]

STUDY_STATES: Final = ("Pending", "Running", "Succeeded", "Failed")
TRIAL_STATES: Final = ("Pending", "Running", "Succeeded", "Failed", "Pruned")
RECONCILE_KINDS: Final = ("study", "trial")

DURATION_BUCKETS: Final = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
"""Trial duration buckets, seconds: 1 s to 2 h."""
SUGGEST_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
"""Sampler suggest latency buckets, seconds."""

_StudyKey = tuple[str, str]
_Labels = tuple[str, ...]


class PrometheusObserver:
    """Keeps ``tradeoff_*`` metric families up to date from a study's events.

    Thread-safe: every event is applied under one lock. Families register on
    ``registry`` (the global registry by default), so one observer per registry.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, front_cap: int = PARETO_FRONT_CAP
    ) -> None:
        if front_cap < 1:
            raise ValueError(f"front_cap must be >= 1, got {front_cap}")
        reg = REGISTRY if registry is None else registry
        self.front_cap = front_cap
        self._lock = threading.Lock()
        self._states: dict[_StudyKey, str] = {}
        self._series: dict[_StudyKey, dict[str, set[_Labels]]] = {}
        self._counted: dict[_StudyKey, set[int]] = collections.defaultdict(set)
        self._shown_states: dict[str, set[str]] = {}
        study, ns = ["namespace", "study"], ["namespace"]

        self.studies = Gauge("tradeoff_studies", "Studies by state.", [*ns, "state"], registry=reg)
        self.trials = Gauge(
            "tradeoff_trials", "Trials of a study by state.", [*study, "state"], registry=reg
        )
        self.trials_finished = Counter(
            "tradeoff_trials_finished",
            "Trials that reached Succeeded, Failed or Pruned, by outcome.",
            [*study, "outcome"],
            registry=reg,
        )
        self.trial_duration = Histogram(
            "tradeoff_trial_duration_seconds",
            "Wall-clock duration of finished trials.",
            [*study, "outcome"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.best_value = Gauge(
            "tradeoff_best_value",
            "Best value of each objective on the study's Pareto front.",
            [*study, "objective"],
            registry=reg,
        )
        self.hypervolume = Gauge(
            "tradeoff_hypervolume",
            "Normalised hypervolume of the front, 0..1.",
            study,
            registry=reg,
        )
        self.front_size = Gauge(
            "tradeoff_pareto_front_size",
            "Trials on the Pareto front (uncapped).",
            study,
            registry=reg,
        )
        self.cost = Gauge(
            "tradeoff_study_cost_usd", "Cost of all trials of the study, USD.", study, registry=reg
        )
        self.energy = Gauge(
            "tradeoff_study_energy_kwh",
            "Energy of all trials of the study, kWh.",
            study,
            registry=reg,
        )
        self.carbon = Gauge(
            "tradeoff_study_carbon_grams",
            "Emissions of all trials of the study, grams CO2e.",
            study,
            registry=reg,
        )
        self.carbon_deferred = Gauge(
            "tradeoff_carbon_deferred_trials",
            "Trials of the study waiting for a cleaner grid (Pending, reason CarbonDeferred).",
            study,
            registry=reg,
        )
        self.pareto_point = Gauge(
            "tradeoff_pareto_point",
            "Objective value of the point-th point of the front, ordered by the first objective.",
            [*study, "point", "objective"],
            registry=reg,
        )
        self.study_info = Gauge(
            "tradeoff_study_info",
            "Always 1: the study's algorithm and objectives (comma-separated, in order).",
            [*study, "algorithm", "objectives"],
            registry=reg,
        )
        self.parameter_importance = Gauge(
            "tradeoff_parameter_importance",
            "fANOVA share of an objective's variance a parameter explains, 0..1 (the ten"
            " most important parameters per objective, from the study's insights).",
            [*study, "objective", "parameter"],
            registry=reg,
        )
        self.suggest_latency_seconds = Histogram(
            "tradeoff_sampler_suggest_seconds",
            "Time one ask of the engine took, by algorithm.",
            ["algorithm"],
            buckets=SUGGEST_BUCKETS,
            registry=reg,
        )
        self.reconcile_errors = Counter(
            "tradeoff_reconcile_errors",
            "Failed reconciles of Studies and Trials, by kind.",
            ["kind"],
            registry=reg,
        )
        for kind in RECONCILE_KINDS:
            self.reconcile_errors.labels(kind=kind)

    # --- StudyObserver -----------------------------------------------------------------

    def trial_finished(self, namespace: str, study: str, record: Trial) -> None:
        """Count the trial's outcome and observe its duration, once per trial."""
        if not record.finished:
            return
        key = (namespace, study)
        with self._lock:
            if record.number in self._counted[key]:
                return
            self._counted[key].add(record.number)
            labels = (namespace, study, record.state)
            self.trials_finished.labels(*labels).inc()
            self._track(key, "trials_finished", {labels})
            seconds = _duration_seconds(record)
            if seconds is not None:
                self.trial_duration.labels(*labels).observe(seconds)
                self._track(key, "trial_duration", {labels})

    def study_updated(
        self,
        namespace: str,
        study: str,
        spec: StudySpec,
        state: str,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        """Set every per-study series from the summary; drop series that no longer apply."""
        key = (namespace, study)
        c = summary.counts
        by_state = dict(
            zip(TRIAL_STATES, (c.pending, c.running, c.succeeded, c.failed, c.pruned), strict=True)
        )
        points = self._points(spec, summary.front)
        deferred = sum(
            1 for r in records if r.state == "Pending" and r.status.reason == CARBON_DEFERRED
        )
        with self._lock:
            self._states[key] = state
            self._set_study_counts(namespace)
            self._replace(key, "trials", {(s,): float(n) for s, n in by_state.items()})
            self._replace(key, "best_value", {(o,): v for o, v in summary.best.items()})
            hv: dict[_Labels, float] = {}
            if summary.hypervolume is not None:
                hv[()] = summary.hypervolume
            self._replace(key, "hypervolume", hv)
            self._replace(key, "front_size", {(): float(summary.front_size)})
            self._replace(key, "cost", {(): summary.totals.cost_usd})
            self._replace(key, "energy", {(): summary.totals.energy_kwh})
            self._replace(key, "carbon", {(): summary.totals.carbon_grams})
            self._replace(key, "carbon_deferred", {(): float(deferred)})
            self._replace(key, "pareto_point", points)
            info = (spec.algorithm.name, ",".join(spec.objective_names))
            self._replace(key, "study_info", {info: 1.0})

    def insights_updated(self, namespace: str, study: str, insights: Sequence[Insight]) -> None:
        """Set the importance of each parameter per objective from the importance insights
        (bounded: each names at most `engine.insights.IMPORTANCE_TOP` parameters)."""
        shares: dict[_Labels, float] = {
            (i.subject, parameter): float(share)
            for i in insights
            if i.kind == "importance"
            for parameter, share in i.evidence.items()
            if isinstance(share, int | float)
        }
        with self._lock:
            self._replace((namespace, study), "parameter_importance", shares)

    def study_deleted(self, namespace: str, study: str) -> None:
        """Remove every series of the study and recount the namespace's studies."""
        key = (namespace, study)
        with self._lock:
            for family, label_sets in self._series.pop(key, {}).items():
                metric: MetricWrapperBase = getattr(self, family)
                for labels in label_sets:
                    metric.remove(*labels)
            self._counted.pop(key, None)
            if self._states.pop(key, None) is not None:
                self._set_study_counts(namespace)

    def suggest_latency(self, algorithm: str, seconds: float) -> None:
        self.suggest_latency_seconds.labels(algorithm=algorithm).observe(seconds)

    def reconcile_error(self, kind: str) -> None:
        self.reconcile_errors.labels(kind=kind).inc()

    # --- helpers -----------------------------------------------------------------------

    def _points(self, spec: StudySpec, front: Sequence[FrontPoint]) -> dict[_Labels, float]:
        """The front's points, ordered by the first objective, capped, as label -> value."""
        names = spec.objective_names
        usable = [p for p in front if all(n in p.values for n in names)]
        usable.sort(key=lambda p: p.values[names[0]])
        if len(usable) > self.front_cap:
            last = len(usable) - 1
            picks = sorted(
                {round(i * last / max(self.front_cap - 1, 1)) for i in range(self.front_cap)}
            )
            usable = [usable[i] for i in picks]
        return {(str(i), name): p.values[name] for i, p in enumerate(usable) for name in names}

    def _set_study_counts(self, namespace: str) -> None:
        """Studies per state in the namespace; its series go with its last study."""
        counts = collections.Counter(s for (ns, _), s in self._states.items() if ns == namespace)
        shown = self._shown_states.pop(namespace, set()) | set(STUDY_STATES) | set(counts)
        for state in shown:
            if counts:
                self.studies.labels(namespace, state).set(counts[state])
            else:
                self.studies.remove(namespace, state)
        if counts:
            self._shown_states[namespace] = shown

    def _track(self, key: _StudyKey, family: str, labels: set[_Labels]) -> None:
        self._series.setdefault(key, {}).setdefault(family, set()).update(labels)

    def _replace(self, key: _StudyKey, family: str, values: dict[_Labels, float]) -> None:
        """Set ``family`` to exactly ``values`` for the study, removing its other series.

        ``values`` maps the labels after (namespace, study) to the value.
        """
        metric: Gauge = getattr(self, family)
        full = {(*key, *labels): v for labels, v in values.items()}
        tracked = self._series.setdefault(key, {}).setdefault(family, set())
        for stale in tracked - full.keys():
            metric.remove(*stale)
        for labels, value in full.items():
            metric.labels(*labels).set(value)
        tracked.clear()
        tracked.update(full)


def _duration_seconds(record: Trial) -> float | None:
    """The trial's measured duration: its economics, else completion minus start."""
    if record.status.economics is not None:
        return record.status.economics.duration_seconds
    start, end = record.status.start_time, record.status.completion_time
    if start is not None and end is not None:
        return max(0.0, (end - start).total_seconds())
    return None
