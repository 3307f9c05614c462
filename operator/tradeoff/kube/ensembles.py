"""The Ensemble trial in a cluster: its pod (the operator's image, the operator's command)
and how its report becomes the trial's record.

The pod runs `python -m tradeoff.kube.ensemble_pod`, never anything from the Study's
manifest, with the study's folder of the artifact store (`add_artifact_storage`: the
claim's subPath `<study>` mounted read-only, or the bucket's folder of the study) and the
candidates' `predictions.csv` records in `TRADEOFF_ENSEMBLE`, paths relative to that
folder. It is hardened like any trial pod and checked against the trial policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tradeoff.api.policy import PolicyViolation, TrialPolicy, harden
from tradeoff.api.study import Study
from tradeoff.api.template import TERMINATION_LOG
from tradeoff.api.trial import Trial, TrialStatus
from tradeoff.engine import ensembles
from tradeoff.engine.ensemble_selection import PREDICTIONS
from tradeoff.kube.artifact_storage import ArtifactStore, add_artifact_storage, recorded_root
from tradeoff.kube.ensemble_pod import ENV_REQUEST
from tradeoff.kube.pods import pod_manifest

__all__ = ["CONTAINER", "build_ensemble_pod", "ensemble_status"]

CONTAINER = "ensemble"
RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


def _request(trial: Trial, records: Sequence[Trial], prefix: str) -> dict[str, Any]:
    """The request: the trial's candidates and their predictions' records, with paths
    relative to the study's folder `prefix` (a record elsewhere is left out)."""
    assert trial.spec.ensemble is not None
    by_name = {r.metadata.name: r for r in records}
    files: dict[str, Any] = {}
    for name in trial.spec.ensemble.candidates:
        record = by_name.get(name)
        found = [a for a in record.status.artifacts if a.name == PREDICTIONS] if record else []
        if found and found[0].path.startswith(prefix):
            files[name] = {**found[0].wire(), "path": found[0].path[len(prefix) :]}
    return {"request": trial.spec.ensemble.wire(), "files": files}


def build_ensemble_pod(
    study: Study,
    trial: Trial,
    trial_uid: str,
    attempt: int,
    records: Sequence[Trial],
    *,
    image: str,
    store: ArtifactStore,
    policy: TrialPolicy | None = None,
) -> dict[str, Any]:
    """The pod of attempt `attempt` of the Ensemble trial `trial`; `records` are the
    study's (the candidates' artifact records are read from them)."""
    folder = study.metadata.name
    namespace = trial.metadata.namespace or study.metadata.namespace or "default"
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        "command": ["python", "-m", "tradeoff.kube.ensemble_pod"],
        "env": [{"name": "TRADEOFF_TERMINATION_LOG", "value": TERMINATION_LOG}],
        "resources": RESOURCES,
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    add_artifact_storage(spec, container, store, namespace, folder, read_only=True)
    prefix = recorded_root(container)
    assert prefix is not None
    request = json.dumps(_request(trial, records, prefix))
    container["env"] = [{"name": ENV_REQUEST, "value": request}, *container["env"]]
    spec = harden(spec)
    problems = (policy or TrialPolicy()).check(spec, "spec")
    if problems:
        raise PolicyViolation(problems)
    return pod_manifest(study, trial, trial_uid, attempt, spec)


def ensemble_status(
    study: Study, trial: Trial, metrics: dict[str, float], records: Sequence[Trial]
) -> TrialStatus | str:
    """The finished Ensemble trial's status from its pod's report, or why the report is
    unusable (the attempt then fails as any trial's would)."""
    assert trial.spec.ensemble is not None
    selected = ensembles.from_metrics(trial.spec.ensemble, metrics)
    if isinstance(selected, str):
        return selected
    by_name = {r.metadata.name: r for r in records}
    members = [by_name[n] for n in selected.members if n in by_name]
    if len(members) != len(selected.members):
        return "a member of the ensemble is no longer among the study's trials"
    return ensembles.finish(study.spec, trial.status, members, selected)
