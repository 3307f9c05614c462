"""`python -m tradeoff.kube.ensemble_pod`: the Ensemble trial's pod, from the operator's image.

The operator passes the request in ``TRADEOFF_ENSEMBLE`` (JSON: size, criterion, and per
candidate its trial name and `predictions.csv` record: path relative to the study's
folder, size, SHA-256); that folder is the artifact claim's, mounted read-only at
``TRADEOFF_ARTIFACTS``, or the bucket's in ``TRADEOFF_ARTIFACTS_S3_URL``. Each file is read
only as its record says (under the folder, within the size limit, with its size and hash),
then the engine's selection runs and the result is reported as metrics
(`tradeoff.engine.ensembles.as_metrics`) through `trial_runner.report`.
Exit 1 with one line on stderr when no candidate is usable or the request is malformed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from tradeoff.api.ensemble import EnsembleRequest
from tradeoff.api.trial import Artifact
from tradeoff.artifact_files import MAX_BYTES, read_checked
from tradeoff.engine.ensemble_selection import Predictions, parse_predictions, select
from tradeoff.engine.ensembles import as_metrics
from trial_runner import report, s3

__all__ = ["ENV_REQUEST", "main"]

ENV_REQUEST = "TRADEOFF_ENSEMBLE"


def main() -> int:
    try:
        raw = json.loads(os.environ.get(ENV_REQUEST, ""))
        request = EnsembleRequest.model_validate(raw["request"])
        files = {str(k): Artifact.model_validate(v) for k, v in raw["files"].items()}
        read = _reader()
    except s3.S3Error as exc:
        print(f"ensemble: {exc}", file=sys.stderr)
        return 1
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
        content = read(artifact, name)
        found.append(content if isinstance(content, str) else parse_predictions(name, content))
    selected = select(request, found)
    if isinstance(selected, str):
        print(f"ensemble: no candidate has usable predictions: {selected}", file=sys.stderr)
        return 1
    for note in selected.skipped:
        print(f"ensemble: skipped {note}", file=sys.stderr)
    report(None, **as_metrics(selected))
    return 0


def _reader() -> Callable[[Artifact, str], bytes | str]:
    """How a candidate's file is read: from the bucket folder when the pod has one, else
    from the mounted folder; either gives the content or one line naming the trial."""
    url = os.environ.get(s3.ENV_URL)
    if not url:
        root = Path(os.environ["TRADEOFF_ARTIFACTS"])
        return lambda artifact, owner: read_checked(root, artifact, owner)
    folder = s3.S3Folder.parse(url)
    client = s3.client()

    def from_bucket(artifact: Artifact, owner: str) -> bytes | str:
        found = s3.fetch_checked(
            client, folder, artifact.path, artifact.size, artifact.sha256, MAX_BYTES
        )
        return found if isinstance(found, bytes) else f"{owner}: {found}"

    return from_bucket


if __name__ == "__main__":
    sys.exit(main())
