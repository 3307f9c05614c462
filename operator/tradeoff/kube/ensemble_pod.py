"""`python -m tradeoff.kube.ensemble_pod`: the Ensemble trial's pod, from the operator's image.

The operator passes the request in ``TRADEOFF_ENSEMBLE`` (JSON: size, criterion, and per
candidate its trial name and `predictions.csv` record: path relative to the mount, size,
SHA-256); the study's folder of the artifact claim is mounted read-only at
``TRADEOFF_ARTIFACTS``. Each file is read only as its record says (under the mount, within
the size limit, with its hash), then the engine's selection runs and the result is
reported as metrics (`tradeoff.engine.ensembles.as_metrics`) through `trial_runner.report`.
Exit 1 with one line on stderr when no candidate is usable or the request is malformed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from tradeoff.api.ensemble import EnsembleRequest
from tradeoff.api.trial import Artifact
from tradeoff.artifact_files import read_checked
from tradeoff.engine.ensembles import Predictions, as_metrics, parse_predictions, select
from trial_runner import report

__all__ = ["ENV_REQUEST", "main"]

ENV_REQUEST = "TRADEOFF_ENSEMBLE"


def main() -> int:
    try:
        raw = json.loads(os.environ.get(ENV_REQUEST, ""))
        request = EnsembleRequest.model_validate(raw["request"])
        files = {str(k): Artifact.model_validate(v) for k, v in raw["files"].items()}
        root = Path(os.environ["TRADEOFF_ARTIFACTS"])
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        print(
            f"ensemble: bad request in ${ENV_REQUEST}: {str(exc).splitlines()[0]}", file=sys.stderr
        )
        return 1
    found: list[Predictions | str] = []
    for name in request.candidates:
        artifact = files.get(name)
        if artifact is None:
            found.append(f"{name}: saved no predictions.csv")
            continue
        content = read_checked(root, artifact, name)
        found.append(content if isinstance(content, str) else parse_predictions(name, content))
    selected = select(request, found)
    if isinstance(selected, str):
        print(f"ensemble: no candidate has usable predictions: {selected}", file=sys.stderr)
        return 1
    for note in selected.skipped:
        print(f"ensemble: skipped {note}", file=sys.stderr)
    report(None, **as_metrics(selected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
