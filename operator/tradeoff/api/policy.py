"""The trial policy: what a trial pod may ask for, as the cluster admin chose.

A Study's author is an untrusted tenant, and the operator creates the trial pods with its
own rights. So every trial pod must meet the policy: a Pod Security Standard level
(`restricted` by default, `baseline` or `privileged`) and a list of ServiceAccounts trials
may run as (by default only the namespace's `default`). Secure defaults are filled in where
the template is silent (`harden`); the check runs on the hardened template, which is what
every trial's pod will hold (`${params.X}` is substituted only in command, args, env values,
resources and node placement, which the policy does not look at).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tradeoff.api.pss import (
    CONTAINER_KINDS,
    LEVELS,
    Level,
    Problem,
    escalates,
    pod_security_problems,
    shown,
)
from tradeoff.api.template import TrialTemplate

__all__ = [
    "DEFAULT_ACCOUNT",
    "LEVELS",
    "TEMPLATE_PATH",
    "Level",
    "PolicyViolation",
    "Problem",
    "TrialPolicy",
    "harden",
    "problem_lines",
]

DEFAULT_ACCOUNT = "default"
TEMPLATE_PATH = "spec.trialTemplate.pod"
WORKLOAD_PATH = "spec.trialTemplate.workload"
_ACCOUNT_FIELDS = ("serviceAccountName", "serviceAccount")  # the second: deprecated alias


class PolicyViolation(Exception):
    """A pod the trial policy does not allow; `problems` holds (field path, message)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(problem_lines(self.problems)))


def problem_lines(problems: Sequence[Problem]) -> list[str]:
    """`path: message`, one line per problem."""
    return [f"{path}: {message}" for path, message in problems]


def _kinds(kinds: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{kind} ({api_version})" for api_version, kind in kinds)


def _default(obj: dict[str, Any], key: str, value: Any) -> Any:
    if obj.get(key) is None:
        obj[key] = value
    return obj[key]


def harden(pod_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The "restricted" Pod Security settings, and no service account token, where the
    template does not set them itself (trial code gets no API credentials by default).

    A container that asks for `privileged` or `SYS_ADMIN` keeps privilege escalation
    (the API refuses `allowPrivilegeEscalation: false` with either); whether it may ask
    for them at all is the trial policy's to say.
    """
    spec = copy.deepcopy(dict(pod_spec))
    _default(spec, "automountServiceAccountToken", False)
    pod_sc = _default(spec, "securityContext", {})
    if isinstance(pod_sc, dict):
        _default(pod_sc, "runAsNonRoot", True)
        _default(pod_sc, "seccompProfile", {"type": "RuntimeDefault"})
    for kind in CONTAINER_KINDS:
        containers = spec.get(kind)
        for container in containers if isinstance(containers, list) else []:
            if not isinstance(container, dict):
                continue
            sc = _default(container, "securityContext", {})
            if not isinstance(sc, dict):
                continue
            if not escalates(sc):
                _default(sc, "allowPrivilegeEscalation", False)
            caps = _default(sc, "capabilities", {})
            if isinstance(caps, dict):
                _default(caps, "drop", ["ALL"])
    return spec


@dataclass(frozen=True)
class TrialPolicy:
    """What trial pods may ask for: a Pod Security Standard level and ServiceAccounts."""

    level: Level = "restricted"
    service_accounts: tuple[str, ...] = (DEFAULT_ACCOUNT,)
    workload_kinds: tuple[tuple[str, str], ...] = ()
    """(apiVersion, kind) of the resources a trial may be besides a pod (none by default)."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if not self.service_accounts:
            raise ValueError("name at least one ServiceAccount trials may run as")

    def __str__(self) -> str:
        text = f"{self.level}, service accounts: {', '.join(self.service_accounts)}"
        if self.workload_kinds:
            text += f", workloads: {_kinds(self.workload_kinds)}"
        return text

    def check(self, pod_spec: Mapping[str, Any], prefix: str) -> list[Problem]:
        """Each field of a PodSpec, as it will be created, that the policy does not allow."""
        return [
            *pod_security_problems(pod_spec, self.level, prefix),
            *self._account_problems(pod_spec, prefix),
        ]

    def template_problems(self, pod_template: Mapping[str, Any]) -> list[Problem]:
        """The problems of a Study's `trialTemplate.pod`, secure defaults filled in first."""
        return self.check(harden(pod_template), TEMPLATE_PATH)

    def trial_template_problems(self, template: TrialTemplate) -> list[Problem]:
        """The problems of a Study's trial template: its pod, or its workload's kind and
        every pod template the workload holds (each as a trial pod would be checked)."""
        if template.workload is None:
            return self.template_problems(template.primary_pod)
        workload = template.workload
        if (workload.api_version, workload.kind) not in self.workload_kinds:
            allowed = _kinds(self.workload_kinds) or "none"
            return [
                (
                    f"{WORKLOAD_PATH}.kind",
                    f"{workload.kind} ({workload.api_version}) is not allowed by the trial "
                    f"policy (allowed: {allowed}); the cluster admin lists the kinds in the "
                    "Helm value trialPolicy.workloads",
                )
            ]
        problems: list[Problem] = []
        for found in workload.templates():
            spec = found.template.get("spec")
            path = f"{WORKLOAD_PATH}.{found.path}.spec"
            problems += self.check(harden(spec if isinstance(spec, dict) else {}), path)
        return problems

    def _account_problems(self, spec: Mapping[str, Any], prefix: str) -> list[Problem]:
        allowed = ", ".join(self.service_accounts)
        named = [(f, spec[f]) for f in _ACCOUNT_FIELDS if spec.get(f) not in (None, "")]
        problems = [
            (
                f"{prefix}.{field}",
                f"{shown(name)} not allowed by the trial policy (service accounts: {allowed})",
            )
            for field, name in named
            if name not in self.service_accounts
        ]
        if not named and DEFAULT_ACCOUNT not in self.service_accounts:
            problems.append(
                (
                    f"{prefix}.serviceAccountName",
                    f"required by the trial policy: one of {allowed} "
                    "(the namespace's default account is not allowed)",
                )
            )
        return problems
