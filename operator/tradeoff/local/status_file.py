"""A local study's status in its workdir (``status.json``), in a Study status's wire shape.

Local mode keeps there what a cluster Study keeps in its status and a resumed run needs:
the insights (at most `INSIGHTS_CAP`) and the count of finished trials they were computed
from (``insightsFrom``), so a resumed run announces no insight twice
(`tradeoff.local.run_insights`). It is derived data: a file that cannot be read or is not
a valid status is replaced, with a warning, by the next insights computed.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from tradeoff.api.errors import format_validation_error
from tradeoff.api.status import StudyStatus
from tradeoff.local.files import write_atomically

__all__ = ["STATUS_FILE", "read_status", "save_status"]

STATUS_FILE = "status.json"
KEPT = {"insights", "insights_from"}
"""The fields of a Study's status that the file holds."""


def read_status(workdir: Path) -> tuple[StudyStatus, str | None]:
    """The status the workdir holds (empty if none), and why it was not used, if so."""
    path = workdir / STATUS_FILE
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return StudyStatus(), None
    except OSError as exc:
        return StudyStatus(), f"{path}: cannot read ({exc.strerror}); {_AFRESH}"
    try:
        saved = StudyStatus.model_validate_json(text)
    except ValidationError as exc:
        first = format_validation_error(exc, StudyStatus, "status")[0]
        return StudyStatus(), f"{path}: not a valid status ({first}); {_AFRESH}"
    return StudyStatus(insights=saved.insights, insights_from=saved.insights_from), None


_AFRESH = "the insights are computed afresh"


def save_status(workdir: Path, status: StudyStatus) -> None:
    """Replace the workdir's status file (atomically) with `status`'s kept fields."""
    document = status.model_dump(mode="json", by_alias=True, exclude_none=True, include=KEPT)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    write_atomically(workdir / STATUS_FILE, text)
