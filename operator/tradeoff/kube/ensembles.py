"""The Ensemble trial in a cluster: its pod (the operator's image, the operator's command)
and how its report becomes the trial's record.

The pod runs `python -m tradeoff.kube.ensemble_pod`, never anything from the Study's
manifest, with the study's folder of the artifact claim mounted read-only (subPath
`<study>`: it sees no other study's files) and the candidates' `predictions.csv` records
in `TRADEOFF_ENSEMBLE`. It is hardened like any trial pod and checked against the trial
policy.
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
from tradeoff.engine.ensembles import PREDICTIONS
from tradeoff.kube.ensemble_pod import ENV_REQUEST
from tradeoff.kube.pods import ARTIFACTS_PATH, ARTIFACTS_VOLUME, pod_manifest

__all__ = ["CONTAINER", "build_ensemble_pod", "ensemble_status"]

CONTAINER = "ensemble"
RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


def _request(study: Study, trial: Trial, records: Sequence[Trial]) -> dict[str, Any]:
    """The request: the trial's candidates and their predictions' records, with paths
    relative to the study's folder (the pod's mount)."""
    assert trial.spec.ensemble is not None
    by_name = {r.metadata.name: r for r in records}
    prefix = f"{study.metadata.name}/"
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
    claim: str,
    policy: TrialPolicy | None = None,
) -> dict[str, Any]:
    """The pod of attempt `attempt` of the Ensemble trial `trial`; `records` are the
    study's (the candidates' artifact records are read from them)."""
    container = {
        "name": CONTAINER,
        "image": image,
        "command": ["python", "-m", "tradeoff.kube.ensemble_pod"],
        "env": [
            {"name": ENV_REQUEST, "value": json.dumps(_request(study, trial, records))},
            {"name": "TRADEOFF_ARTIFACTS", "value": ARTIFACTS_PATH},
            {"name": "TRADEOFF_TERMINATION_LOG", "value": TERMINATION_LOG},
        ],
        "resources": RESOURCES,
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {
                "name": ARTIFACTS_VOLUME,
                "mountPath": ARTIFACTS_PATH,
                "subPath": study.metadata.name,
                "readOnly": True,
            }
        ],
    }
    spec = harden(
        {
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": [
                {
                    "name": ARTIFACTS_VOLUME,
                    "persistentVolumeClaim": {"claimName": claim, "readOnly": True},
                }
            ],
        }
    )
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
