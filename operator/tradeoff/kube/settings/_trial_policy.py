"""What trial pods may be and ask for: `--trial-policy`, `--trial-service-account` and
`TRADEOFF_WORKLOAD_KINDS`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tradeoff.api.policy import LEVELS, TrialPolicy
from tradeoff.kube.settings._model import SettingsError

_ACCOUNT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KIND_ENTRY = re.compile(r"^([a-z0-9.-]+/)?(v[a-z0-9]+)/([A-Za-z][A-Za-z0-9]*)=([a-z][a-z0-9.-]*)$")


def workload_kinds(text: str, where: str = "TRADEOFF_WORKLOAD_KINDS") -> dict[tuple[str, str], str]:
    """`batch/v1/Job=jobs,kubeflow.org/v1/PyTorchJob=pytorchjobs`: (apiVersion, kind) ->
    resource of each kind a trial may be besides a pod."""
    found: dict[tuple[str, str], str] = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        match = _KIND_ENTRY.match(item)
        if match is None:
            raise SettingsError(
                f"{where}: {item!r} is not API_VERSION/KIND=RESOURCE (e.g. batch/v1/Job=jobs)"
            )
        group, version, kind, plural = match.groups()
        found[(f"{group or ''}{version}", kind)] = plural
    return found


def trial_policy_from(
    level: str | None, accounts: list[str] | None, env: Mapping[str, str]
) -> TrialPolicy:
    """`--trial-policy` and `--trial-service-account` (or their environment variables)."""
    where = "--trial-policy" if level is not None else "TRADEOFF_TRIAL_POLICY"
    level = level if level is not None else env.get("TRADEOFF_TRIAL_POLICY") or "restricted"
    if level not in LEVELS:
        raise SettingsError(f"{where}: must be one of {', '.join(LEVELS)}, got {level!r}")
    where = "--trial-service-account"
    if accounts is None and env.get("TRADEOFF_TRIAL_SERVICE_ACCOUNTS") is not None:
        where = "TRADEOFF_TRIAL_SERVICE_ACCOUNTS"
        accounts = [a.strip() for a in env["TRADEOFF_TRIAL_SERVICE_ACCOUNTS"].split(",")]
        accounts = [a for a in accounts if a]
        if not accounts:
            raise SettingsError(f"{where}: name at least one ServiceAccount trials may run as")
    for name in accounts or ():
        if len(name) > 253 or not _ACCOUNT_NAME.fullmatch(name):
            raise SettingsError(
                f"{where}: {name!r} is not a ServiceAccount name (lower-case letters, digits, "
                "'-' and '.')"
            )
    names = tuple(dict.fromkeys(accounts)) if accounts else ("default",)
    kinds = workload_kinds(env.get("TRADEOFF_WORKLOAD_KINDS", ""), "TRADEOFF_WORKLOAD_KINDS")
    return TrialPolicy(level, names, tuple(kinds))
