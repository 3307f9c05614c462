"""Local mode's Ensemble trial: the engine's selection over files under the workdir.

The selection is Tradeoff's own code over the candidates' saved `predictions.csv`, so it
runs in-process (nothing from the manifest runs). Each file is read only when its record
names it, inside the workdir, within `MAX_BYTES`, and with the SHA-256 the executor
recorded when the trial ended (a file changed since is left out and named).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial, TrialStatus
from tradeoff.artifact_files import read_checked
from tradeoff.engine import ensembles
from tradeoff.engine.ensemble_selection import PREDICTIONS, Predictions, parse_predictions, select

__all__ = ["read_predictions", "run_ensemble"]


def read_predictions(trial: Trial, workdir: Path) -> Predictions | str:
    """A trial's saved predictions, or one line saying why they cannot be used."""
    name = trial.metadata.name
    found = [a for a in trial.status.artifacts if a.name == PREDICTIONS]
    if not found:
        return f"{name}: saved no {PREDICTIONS}"
    content = read_checked(workdir, found[0], name)
    return content if isinstance(content, str) else parse_predictions(name, content)


def run_ensemble(
    spec: StudySpec, record: Trial, records: Mapping[str, Trial], workdir: Path
) -> TrialStatus:
    """The Ensemble trial `record`, run: its finished status."""
    request = record.spec.ensemble
    status = record.status.model_copy(deep=True)
    status.start_time = status.start_time or datetime.now(UTC)
    status.attempts += 1
    if request is None:
        done = ensembles.failed(status, "the Ensemble trial names no candidates")
    else:
        found: list[Predictions | str] = []
        for name in request.candidates:
            trial = records.get(name)
            found.append(
                f"{name}: no such trial" if trial is None else read_predictions(trial, workdir)
            )
        selected = select(request, found)
        if isinstance(selected, str):
            done = ensembles.failed(status, f"no candidate has usable predictions: {selected}")
        else:
            members = [records[name] for name in selected.members]
            done = ensembles.finish(spec, status, members, selected)
    done.completion_time = datetime.now(UTC)
    return done
