"""Settings resolved from flag values and `TRADEOFF_*` environment variables.

Flags win over the environment; the environment wins over the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from tradeoff.economics import EconomicsConfig
from tradeoff.economics.prometheus import check_url
from tradeoff.kube.settings._artifacts import artifacts_bucket_from, artifacts_claim_from
from tradeoff.kube.settings._crash import parse_crash_at
from tradeoff.kube.settings._economics import load_economics_config
from tradeoff.kube.settings._model import LOCAL_ADDRESS, Settings, SettingsError
from tradeoff.kube.settings._trial_policy import trial_policy_from, workload_kinds
from tradeoff.kube.settings._values import address, count, flag, port, seconds


def settings_from(
    *,
    namespaces: list[str] | None = None,
    all_namespaces: bool = False,
    log_format: str | None = None,
    verbose: bool = False,
    health_port: int | None = None,
    health_address: str | None = None,
    metrics_port: int | None = None,
    metrics_address: str | None = None,
    economics_config: str | None = None,
    peering: str | None = None,
    standalone: bool = False,
    priority: int | None = None,
    pending_timeout: float | None = None,
    trial_policy: str | None = None,
    trial_service_accounts: list[str] | None = None,
    prometheus_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from flag values (None: not given) and the environment."""
    env = os.environ if env is None else env
    ns = tuple(namespaces or ())
    if not ns and env.get("TRADEOFF_NAMESPACES"):
        ns = tuple(n.strip() for n in env["TRADEOFF_NAMESPACES"].split(",") if n.strip())
    every = all_namespaces or env.get("TRADEOFF_ALL_NAMESPACES", "").lower() in ("1", "true")
    if ns and every:
        raise SettingsError("--namespace and --all-namespaces exclude each other")
    if not ns and not every:
        raise SettingsError("say which namespaces to watch: --namespace NS or --all-namespaces")
    fmt = log_format or env.get("TRADEOFF_LOG_FORMAT", "text")
    if fmt not in ("text", "json"):
        raise SettingsError(f"--log-format: must be text or json, got {fmt!r}")
    if health_port is None and env.get("TRADEOFF_HEALTH_PORT"):
        health_port = port(env["TRADEOFF_HEALTH_PORT"], "TRADEOFF_HEALTH_PORT")
    if metrics_port is None and env.get("TRADEOFF_METRICS_PORT"):
        metrics_port = port(env["TRADEOFF_METRICS_PORT"], "TRADEOFF_METRICS_PORT")
    addresses: dict[str, str] = {}
    for key, given in (("health", health_address), ("metrics", metrics_address)):
        variable = f"TRADEOFF_{key.upper()}_ADDRESS"
        if given is not None:
            addresses[key] = address(given, f"--{key}-address")
        elif env.get(variable):
            addresses[key] = address(env[variable], variable)
        else:
            addresses[key] = LOCAL_ADDRESS
    economics_path = economics_config or env.get("TRADEOFF_ECONOMICS_CONFIG")
    economics, intensity = EconomicsConfig(), None
    if economics_path:
        economics, intensity = load_economics_config(economics_path, env)
    alone = standalone or env.get("TRADEOFF_STANDALONE", "").lower() in ("1", "true")
    peering_name = None if alone else (peering or env.get("TRADEOFF_PEERING") or "tradeoff")
    settings = Settings(
        namespaces=ns,
        all_namespaces=every,
        log_format=fmt,  # type: ignore[arg-type]
        verbose=verbose,
        health_port=health_port,
        health_address=addresses["health"],
        metrics_port=metrics_port,
        metrics_address=addresses["metrics"],
        economics=economics,
        intensity=intensity,
        peering=peering_name,
        trial_policy=trial_policy_from(trial_policy, trial_service_accounts, env),
        workload_resources=workload_kinds(env.get("TRADEOFF_WORKLOAD_KINDS", "")),
        crash_at=parse_crash_at(env.get("TRADEOFF_CRASH_AT", "")),
        signing_key_secret=env.get("TRADEOFF_SIGNING_KEY_SECRET") or "tradeoff-signing-key",
        own_namespace=env.get("POD_NAMESPACE") or None,
        delete_ended_pods=flag(
            env.get("TRADEOFF_DELETE_ENDED_PODS", ""), "TRADEOFF_DELETE_ENDED_PODS"
        ),
    )
    if priority is not None:
        settings = replace(settings, priority=priority)
    settings = _from_env(settings, env, "TRADEOFF_RECONCILE_INTERVAL", "reconcile_interval")
    settings = _from_env(settings, env, "TRADEOFF_MAX_WORKERS", "max_workers", count)
    settings = _from_env(settings, env, "TRADEOFF_TRIAL_WORKERS", "trial_workers", count)
    if pending_timeout is not None:
        if not pending_timeout > 0:
            raise SettingsError(f"--pending-timeout: must be greater than 0, got {pending_timeout}")
        settings = replace(settings, pending_timeout=pending_timeout)
    else:
        settings = _from_env(settings, env, "TRADEOFF_PENDING_TIMEOUT", "pending_timeout")
    if intensity is not None:
        settings = replace(settings, carbon_poll=intensity.poll)
    settings = _from_env(settings, env, "TRADEOFF_CARBON_POLL", "carbon_poll")
    where = "--prometheus-url" if prometheus_url is not None else "TRADEOFF_PROMETHEUS_URL"
    url = prometheus_url if prometheus_url is not None else env.get("TRADEOFF_PROMETHEUS_URL")
    if url:
        try:
            settings = replace(settings, prometheus_url=check_url(url))
        except ValueError as error:
            raise SettingsError(f"{where}: {error}") from None
    settings = _from_env(settings, env, "TRADEOFF_PROMETHEUS_TIMEOUT", "prometheus_timeout")
    settings = _from_env(settings, env, "TRADEOFF_PROMETHEUS_SETTLE", "prometheus_settle")
    settings = _from_env(settings, env, "TRADEOFF_STATUS_INTERVAL", "status_interval")
    if env.get("TRADEOFF_OPERATOR_IMAGE", "").strip():
        settings = replace(settings, operator_image=env["TRADEOFF_OPERATOR_IMAGE"].strip())
    claim = artifacts_claim_from(env)
    if claim:
        settings = replace(settings, artifacts_claim=claim)
    return replace(settings, artifacts_bucket=artifacts_bucket_from(env, claim))


def _from_env(
    settings: Settings,
    env: Mapping[str, str],
    name: str,
    field: str,
    parse: Callable[[str, str], float | int] = seconds,
) -> Settings:
    """`settings` with `field` set from the variable `name` where it is set (and valid)."""
    text = env.get(name)
    if not text:
        return settings
    changes: dict[str, Any] = {field: parse(text, name)}
    return replace(settings, **changes)
