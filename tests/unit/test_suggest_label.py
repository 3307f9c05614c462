"""The suggest-latency metric is labelled with the algorithm the study runs, in both modes."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.factories import manifest
from tradeoff.api import Study, StudySpec, Trial
from tradeoff.engine import Summary
from tradeoff.engine.validation import validate_study
from tradeoff.kube import studies
from tradeoff.kube.context import Context
from tradeoff.kube.settings import Settings
from tradeoff.local import FileStore, StudyRunner


class Labels:
    """A StudyObserver that keeps the algorithm labels of suggest latencies."""

    def __init__(self) -> None:
        self.algorithms: list[str] = []

    def suggest_latency(self, algorithm: str, seconds: float) -> None:
        self.algorithms.append(algorithm)

    def trial_finished(self, namespace: str, study: str, record: Trial) -> None:
        pass

    def study_updated(
        self,
        namespace: str,
        study: str,
        spec: StudySpec,
        state: str,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        pass

    def insights_updated(self, namespace: str, study: str, insights: Sequence[Any]) -> None:
        pass

    def study_deleted(self, namespace: str, study: str) -> None:
        pass

    def reconcile_error(self, kind: str) -> None:
        pass


class Kube:
    """The calls one Study pass makes, over a dict of objects."""

    def __init__(self, study: dict[str, Any]) -> None:
        self.study = study
        self.trials: list[dict[str, Any]] = []

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.study if plural == "studies" else None

    def list_studies(self, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(self.study)]

    def list_trials(self, namespace: str, study: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.trials)

    def create_trial(self, namespace: str, body: dict[str, Any]) -> bool:
        self.trials.append(body)
        return True

    def replace_status(self, plural: str, namespace: str, name: str, status: Any) -> None:
        if plural == "studies":
            self.study["status"] = status

    def list_pods(self, namespace: str, study: str) -> list[dict[str, Any]]:
        return []

    def event(self, obj: Any, type: str, reason: str, message: str) -> None:
        pass


def auto_manifest() -> dict[str, Any]:
    doc = manifest(
        algorithm={"name": "auto", "seed": 1},
        budget={"maxTrials": 1, "parallelism": 1},
        trialTemplate={
            "pod": {
                "containers": [{"name": "t", "command": ["python", "-c", "print('accuracy=0.5')"]}]
            }
        },
    )
    doc["metadata"]["namespace"] = "ns"
    doc["metadata"]["uid"] = "u1"
    return doc


def test_both_modes_label_suggest_latency_with_the_resolved_algorithm(tmp_path: Path) -> None:
    local = Labels()
    study: Study = validate_study(auto_manifest())
    result = StudyRunner(study, FileStore(tmp_path), observer=local).run()
    assert result.state == "Succeeded" and result.algorithm is not None
    resolved = result.algorithm.name
    assert resolved != "auto" and local.algorithms == [resolved]

    cluster = Labels()
    ctx = Context(kube=Kube(auto_manifest()), settings=Settings(), observer=cluster)  # type: ignore[arg-type]
    studies.reconcile_study(ctx, "ns", "demo")
    assert cluster.algorithms == [resolved]
