"""The Study and Trial APIs (`tradeoff.dev/v1alpha1`): the source of the CRDs."""

from __future__ import annotations

from tradeoff.api.errors import ManifestError, SpecProblem, format_validation_error
from tradeoff.api.load import check_structure, read_manifest
from tradeoff.api.space import Parameter, ParamValue
from tradeoff.api.status import AlgorithmChoice, StudyStatus
from tradeoff.api.study import API_VERSION, BUILTIN_METRICS, Study, StudySpec
from tradeoff.api.trial import Trial, TrialSpec, TrialStatus, trial_name

__all__ = [
    "API_VERSION",
    "BUILTIN_METRICS",
    "AlgorithmChoice",
    "ManifestError",
    "ParamValue",
    "Parameter",
    "SpecProblem",
    "Study",
    "StudySpec",
    "StudyStatus",
    "Trial",
    "TrialSpec",
    "TrialStatus",
    "check_structure",
    "format_validation_error",
    "read_manifest",
    "trial_name",
]
