"""Operator settings from command-line flags and `TRADEOFF_*` environment variables.

Flags win over the environment; the environment wins over the defaults. Bad values raise
`SettingsError` with one line that names the flag (or variable) and what is wrong.

`_model` holds the `Settings` dataclass, `_resolve` builds it from flags and the
environment, with one module per group of values: `_economics` (the economics config
file), `_trial_policy` (what trial pods may be), `_artifacts` (claim or bucket),
`_crash` (test-only crash points) and `_values` (ports, addresses, counts, seconds).
"""

from __future__ import annotations

from tradeoff.kube.settings._crash import CRASH_EXIT_CODE, crash_point, parse_crash_at
from tradeoff.kube.settings._economics import economics_from_json, load_economics_config
from tradeoff.kube.settings._model import (
    LOCAL_ADDRESS,
    LogFormat,
    Settings,
    SettingsError,
    start_priority,
)
from tradeoff.kube.settings._resolve import settings_from
from tradeoff.kube.settings._trial_policy import trial_policy_from, workload_kinds

__all__ = [
    "CRASH_EXIT_CODE",
    "LOCAL_ADDRESS",
    "LogFormat",
    "Settings",
    "SettingsError",
    "crash_point",
    "economics_from_json",
    "load_economics_config",
    "parse_crash_at",
    "settings_from",
    "start_priority",
    "trial_policy_from",
    "workload_kinds",
]
