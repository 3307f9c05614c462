"""Computing one Study's insights in a child process of the operator (`insight_jobs`).

Reads `{"spec": ..., "records": [...]}` (the wire forms) on standard input and writes the
insights, as a JSON list of their wire forms, on standard output. fANOVA and the tests
behind the insights import SciPy and scikit-learn (about 86 MiB): here they live only as
long as one computation, never in the operator.
"""

from __future__ import annotations

import json
import sys

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.insights import insights


def main() -> int:
    data = json.load(sys.stdin)
    spec = StudySpec.model_validate(data["spec"])
    records = [Trial.model_validate(r) for r in data["records"]]  # the operator's own
    found = insights(spec, records)
    json.dump([i.wire() for i in found], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
