"""Operator settings from command-line flags and `TRADEOFF_*` environment variables.

Flags win over the environment; the environment wins over the defaults. Bad values raise
`SettingsError` with one line that names the flag (or variable) and what is wrong.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from tradeoff.api.policy import LEVELS, TrialPolicy
from tradeoff.economics import (
    EconomicsConfig,
    IntensitySettings,
    IntensitySettingsError,
    IntensitySource,
    build_source,
    intensity_from_json,
)
from tradeoff.economics.prometheus import check_url
from tradeoff.kube.artifact_storage import ArtifactBucket, ArtifactStore, bucket_from_env

LogFormat = Literal["text", "json"]
LOCAL_ADDRESS = "127.0.0.1"
"""Where metrics and health listen unless told otherwise: this machine only."""
CRASH_EXIT_CODE = 70
"""Exit code of a deliberate crash at a `TRADEOFF_CRASH_AT` point (tests only)."""


class SettingsError(ValueError):
    """A setting is invalid; the message is one line naming it."""


def start_priority() -> int:
    """The default peering priority: the start time in milliseconds, so the replica that
    started last acts. A restarted operator never waits for the entry its dead predecessor
    left in the peering object (kopf keeps it for a minute)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Settings:
    """Everything the operator needs to know besides the cluster's objects."""

    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    log_format: LogFormat = "text"
    verbose: bool = False
    health_port: int | None = None
    health_address: str = LOCAL_ADDRESS
    metrics_port: int | None = None
    metrics_address: str = LOCAL_ADDRESS
    economics: EconomicsConfig = field(default_factory=EconomicsConfig.default)
    intensity: IntensitySettings | None = None
    """The carbon-intensity service (``economics.intensity``), if one is configured."""
    carbon_poll: float = 60.0
    """Seconds between readings of the grid while a trial is deferred for carbon
    (``economics.intensity.pollSeconds``; ``TRADEOFF_CARBON_POLL`` overrides it)."""
    prometheus_url: str | None = None
    """Prometheus with Kepler's and OpenCost's series: measured energy and prices."""
    prometheus_timeout: float = 5.0
    prometheus_settle: float = 2.0
    """Seconds after a run's end before it is measured: a scrape in flight is stored."""
    peering: str | None = "tradeoff"
    priority: int = field(default_factory=start_priority)
    reconcile_interval: float = 10.0
    status_interval: float = 1.0
    max_workers: int = 256
    """Threads for kopf's handlers (a Study's pass runs in one)."""
    trial_workers: int = 8
    """Threads that step the trials' drivers when their events wake them
    (``TRADEOFF_TRIAL_WORKERS``): a step waits on the API only, never on a pod."""
    pending_timeout: float = 300.0
    """Seconds a pod may keep failing to pull its image before its attempt fails."""
    trial_policy: TrialPolicy = field(default_factory=TrialPolicy)
    """What trial pods may ask for: a Pod Security Standard level and ServiceAccounts."""
    workload_resources: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(apiVersion, kind) -> resource (plural) of each workload kind trials may be."""
    crash_at: Mapping[str, int] = field(default_factory=dict)
    """Test-only crash points: point -> the how-many-th time reaching it exits (from 1)."""
    signing_key_secret: str = "tradeoff-signing-key"
    """Secret holding the key that signs sampler state on Trials (created if missing)."""
    own_namespace: str | None = None
    """The operator's namespace (POD_NAMESPACE), where the signing-key Secret lives."""
    operator_image: str = "tradeoff:latest"
    """The operator's own image (``TRADEOFF_OPERATOR_IMAGE``): Ensemble trials run in it."""
    artifacts_claim: str | None = None
    """PersistentVolumeClaim (in each trial's namespace) mounted into trial pods for
    `trial_runner.save_artifact` (``TRADEOFF_ARTIFACTS_CLAIM``); None: no artifacts."""
    artifacts_bucket: ArtifactBucket | None = None
    """The bucket trial pods upload artifacts to instead (``TRADEOFF_ARTIFACTS_S3_*``)."""

    @property
    def artifact_store(self) -> ArtifactStore | None:
        """The claim or the bucket trial artifacts go to, if any."""
        return self.artifacts_claim or self.artifacts_bucket

    @property
    def key_namespace(self) -> str:
        """Where the signing key lives: the operator's namespace, else the first watched."""
        return self.own_namespace or (self.namespaces[0] if self.namespaces else "default")

    @property
    def intensity_source(self) -> IntensitySource | None:
        return build_source(self.intensity) if self.intensity is not None else None

    @property
    def standalone(self) -> bool:
        return self.peering is None


_reached: Counter[str] = Counter()
_reached_lock = threading.Lock()


def crash_point(settings: Settings, point: str) -> None:
    """Exit the process at once (no cleanup at all) if tests asked to crash the N-th time
    this process reaches `point` (`TRADEOFF_CRASH_AT=point` or `point:N`)."""
    wanted = settings.crash_at.get(point)
    if wanted is None:
        return
    with _reached_lock:
        _reached[point] += 1
        if _reached[point] == wanted:
            os._exit(CRASH_EXIT_CODE)


def parse_crash_at(text: str) -> dict[str, int]:
    """`point[:N],...` (N from 1, default 1) as {point: N}."""
    points: dict[str, int] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        point, _, count = item.partition(":")
        points[point] = _count(count, f"TRADEOFF_CRASH_AT {item}") if count else 1
    return points


def _port(text: str, name: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a port number, got {text!r}") from None
    if not 0 < port < 65536:
        raise SettingsError(f"{name}: a port must be between 1 and 65535, got {port}")
    return port


def _address(text: str, name: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise SettingsError(
            f"{name}: expected an IP address such as 127.0.0.1, 0.0.0.0 or ::, got {text!r}"
        ) from None


def _count(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {text!r}") from None
    if value < 1:
        raise SettingsError(f"{name}: must be at least 1, got {value}")
    return value


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}: expected seconds, got {text!r}") from None
    if not value > 0:
        raise SettingsError(f"{name}: must be greater than 0, got {text}")
    return value


def _number(section: Mapping[str, Any], key: str, where: str) -> float | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


def _section(data: Mapping[str, Any], key: str, known: set[str], where: str) -> dict[str, Any]:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{where}: {key} must be an object")
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown field {key}.{unknown[0]}")
    return section


def economics_from_json(data: Any, where: str) -> EconomicsConfig:
    """The operator-wide economics defaults in the documented JSON shape.

    `{"pricing": {"cpuHour", "memoryGiBHour", "gpuHour"}, "carbon": {"gramsPerKWh", "pue"},
    "regions": {name: gCO2e/kWh}, "instancePrices": {type: USD/h}, "spotDiscount": x}`.
    """
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: expected a JSON object")
    known = {"pricing", "carbon", "regions", "instancePrices", "spotDiscount", "intensity"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown field {unknown[0]}")
    pricing = _section(data, "pricing", {"cpuHour", "memoryGiBHour", "gpuHour"}, where)
    carbon = _section(data, "carbon", {"gramsPerKWh", "pue"}, where)
    changes: dict[str, Any] = {}
    for key, attr in (("cpuHour", "cpu_hour"), ("memoryGiBHour", "memory_gib_hour")):
        if (value := _number(pricing, key, f"{where}: pricing")) is not None:
            changes[attr] = value
    if (value := _number(pricing, "gpuHour", f"{where}: pricing")) is not None:
        changes["gpu_hour"] = value
    if (value := _number(carbon, "gramsPerKWh", f"{where}: carbon")) is not None:
        changes["grams_per_kwh"] = value
    if (value := _number(carbon, "pue", f"{where}: carbon")) is not None:
        changes["pue"] = value
    if (value := _number(data, "spotDiscount", where)) is not None:
        changes["spot_discount"] = value
    base = EconomicsConfig.default()
    for key, attr in (("regions", "region_intensity"), ("instancePrices", "instance_prices")):
        table = data.get(key) or {}
        if not isinstance(table, dict):
            raise SettingsError(f"{where}: {key} must be an object of name: number")
        numbers = {str(k).lower(): _number(table, k, f"{where}: {key}") for k in table}
        merged = {**getattr(base, attr), **numbers} if attr == "region_intensity" else numbers
        changes[attr] = merged
    try:
        return replace(base, **changes)
    except ValueError as error:
        raise SettingsError(f"{where}: {error}") from None


def load_economics_config(
    path: str, env: Mapping[str, str] | None = None
) -> tuple[EconomicsConfig, IntensitySettings | None]:
    """Read `--economics-config FILE`: the defaults and the carbon-intensity service."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"--economics-config {path}: cannot read ({error.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SettingsError(f"--economics-config {path}: not valid JSON ({error})") from None
    where = f"--economics-config {path}"
    config = economics_from_json(data, where)
    try:
        intensity = intensity_from_json(data.get("intensity"), where, env or {})
    except IntensitySettingsError as error:
        raise SettingsError(str(error)) from None
    return config, intensity


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
        health_port = _port(env["TRADEOFF_HEALTH_PORT"], "TRADEOFF_HEALTH_PORT")
    if metrics_port is None and env.get("TRADEOFF_METRICS_PORT"):
        metrics_port = _port(env["TRADEOFF_METRICS_PORT"], "TRADEOFF_METRICS_PORT")
    addresses: dict[str, str] = {}
    for key, given in (("health", health_address), ("metrics", metrics_address)):
        variable = f"TRADEOFF_{key.upper()}_ADDRESS"
        if given is not None:
            addresses[key] = _address(given, f"--{key}-address")
        elif env.get(variable):
            addresses[key] = _address(env[variable], variable)
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
    )
    if priority is not None:
        settings = replace(settings, priority=priority)
    if env.get("TRADEOFF_RECONCILE_INTERVAL"):
        interval = _seconds(env["TRADEOFF_RECONCILE_INTERVAL"], "TRADEOFF_RECONCILE_INTERVAL")
        settings = replace(settings, reconcile_interval=interval)
    if env.get("TRADEOFF_MAX_WORKERS"):
        workers = _count(env["TRADEOFF_MAX_WORKERS"], "TRADEOFF_MAX_WORKERS")
        settings = replace(settings, max_workers=workers)
    if env.get("TRADEOFF_TRIAL_WORKERS"):
        workers = _count(env["TRADEOFF_TRIAL_WORKERS"], "TRADEOFF_TRIAL_WORKERS")
        settings = replace(settings, trial_workers=workers)
    if pending_timeout is not None:
        if not pending_timeout > 0:
            raise SettingsError(f"--pending-timeout: must be greater than 0, got {pending_timeout}")
        settings = replace(settings, pending_timeout=pending_timeout)
    elif env.get("TRADEOFF_PENDING_TIMEOUT"):
        timeout = _seconds(env["TRADEOFF_PENDING_TIMEOUT"], "TRADEOFF_PENDING_TIMEOUT")
        settings = replace(settings, pending_timeout=timeout)
    if intensity is not None:
        settings = replace(settings, carbon_poll=intensity.poll)
    if env.get("TRADEOFF_CARBON_POLL"):
        poll = _seconds(env["TRADEOFF_CARBON_POLL"], "TRADEOFF_CARBON_POLL")
        settings = replace(settings, carbon_poll=poll)
    where = "--prometheus-url" if prometheus_url is not None else "TRADEOFF_PROMETHEUS_URL"
    url = prometheus_url if prometheus_url is not None else env.get("TRADEOFF_PROMETHEUS_URL")
    if url:
        try:
            settings = replace(settings, prometheus_url=check_url(url))
        except ValueError as error:
            raise SettingsError(f"{where}: {error}") from None
    if env.get("TRADEOFF_PROMETHEUS_TIMEOUT"):
        timeout = _seconds(env["TRADEOFF_PROMETHEUS_TIMEOUT"], "TRADEOFF_PROMETHEUS_TIMEOUT")
        settings = replace(settings, prometheus_timeout=timeout)
    if env.get("TRADEOFF_PROMETHEUS_SETTLE"):
        settle = _seconds(env["TRADEOFF_PROMETHEUS_SETTLE"], "TRADEOFF_PROMETHEUS_SETTLE")
        settings = replace(settings, prometheus_settle=settle)
    if env.get("TRADEOFF_STATUS_INTERVAL"):
        interval = _seconds(env["TRADEOFF_STATUS_INTERVAL"], "TRADEOFF_STATUS_INTERVAL")
        settings = replace(settings, status_interval=interval)
    if env.get("TRADEOFF_OPERATOR_IMAGE", "").strip():
        settings = replace(settings, operator_image=env["TRADEOFF_OPERATOR_IMAGE"].strip())
    claim = env.get("TRADEOFF_ARTIFACTS_CLAIM", "").strip()
    if claim:
        if not _DNS_SUBDOMAIN.match(claim) or len(claim) > 253:
            raise SettingsError(
                f"TRADEOFF_ARTIFACTS_CLAIM: {claim!r} is not a PersistentVolumeClaim name"
                " (lowercase letters, digits, '-' and '.')"
            )
        settings = replace(settings, artifacts_claim=claim)
    try:
        bucket = bucket_from_env(env)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    if bucket is not None and claim:
        raise SettingsError(
            "TRADEOFF_ARTIFACTS_CLAIM and TRADEOFF_ARTIFACTS_S3_BUCKET exclude each other:"
            " artifacts go to a claim or to a bucket"
        )
    return replace(settings, artifacts_bucket=bucket)


_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
