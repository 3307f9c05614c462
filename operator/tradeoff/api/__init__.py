"""The Study and Trial APIs (`tradeoff.dev/v1alpha1`): the source of the CRDs."""

from __future__ import annotations

from tradeoff.api.errors import ManifestError, SpecProblem, format_validation_error
from tradeoff.api.load import load_study, parse_study
from tradeoff.api.space import Parameter, ParamValue
from tradeoff.api.status import StudyStatus
from tradeoff.api.study import API_VERSION, BUILTIN_METRICS, Study, StudySpec
from tradeoff.api.trial import Trial, TrialSpec, TrialStatus, trial_name

__all__ = [
    "API_VERSION",
    "BUILTIN_METRICS",
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
    "format_validation_error",
    "load_study",
    "parse_study",
    "trial_name",
]
