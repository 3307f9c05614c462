"""`tradeoff operator` flags and settings: bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeoff.kube.settings import SettingsError, economics_from_json, settings_from

pytestmark = pytest.mark.timeout(60)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tradeoff.cli", "operator", *args]
    base = {"PATH": "/usr/bin:/bin", "KUBECONFIG": "/nonexistent", "HOME": "/tmp"}
    if "PYTHONPATH" in os.environ:  # run this tree's code, not another installed one
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(command, capture_output=True, text=True, env={**base, **(env or {})})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "say which namespaces to watch: --namespace NS or --all-namespaces"),
        (("-n", "a", "--all-namespaces"), "not allowed with argument"),
        (("-n", "a", "--log-format", "xml"), "invalid choice: 'xml'"),
        (("-n", "a", "--health-port", "0"), "--health-port: must be between 1 and 65535, got 0"),
        (("-n", "a", "--metrics-port", "http"), "invalid int value: 'http'"),
        (("-n", "a", "--metrics-address", "any"), "--metrics-address: expected an IP address"),
        (("-n", "a", "--health-address", "1.2.3"), "--health-address: expected an IP address"),
        (("-n", "a", "--peering", "p", "--standalone"), "not allowed with argument"),
        (("-n", "a", "--economics-config", "/no/such.json"), "cannot read"),
        (("-n", "a", "--bogus"), "unrecognized arguments: --bogus"),
        (
            ("-n", "a", "--prometheus-url", "prometheus:9090"),
            "--prometheus-url: expected http(s)://host[:port][/path], got 'prometheus:9090'",
        ),
        (("-n", "a", "--prometheus-url", "http://p:99999"), "--prometheus-url: bad port"),
        (("-n", "a", "--trial-policy", "lenient"), "invalid choice: 'lenient'"),
        (
            ("-n", "a", "--trial-service-account", "Admin_SA"),
            "--trial-service-account: 'Admin_SA' is not a ServiceAccount name",
        ),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: tuple[str, ...], expected: str) -> None:
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_credentials_are_one_line(tmp_path: Path) -> None:
    result = run("-n", "a", env={"KUBECONFIG": str(tmp_path / "none")})
    assert result.returncode == 2
    assert result.stderr.startswith("tradeoff operator: no Kubernetes credentials")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_economics_config_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "economics.json"
    path.write_text(json.dumps({"pricing": {"cpuHour": "cheap"}}))
    result = run("-n", "a", "--economics-config", str(path))
    assert result.returncode == 2
    assert f"--economics-config {path}: pricing.cpuHour: expected a number" in result.stderr


def test_settings_come_from_the_environment_and_flags_win() -> None:
    env = {
        "TRADEOFF_NAMESPACES": "a, b",
        "TRADEOFF_LOG_FORMAT": "json",
        "TRADEOFF_HEALTH_PORT": "8080",
        "TRADEOFF_PEERING": "team",
        "TRADEOFF_RECONCILE_INTERVAL": "2.5",
    }
    settings = settings_from(env=env)
    assert settings.namespaces == ("a", "b") and settings.log_format == "json"
    assert settings.health_port == 8080 and settings.peering == "team"
    assert settings.reconcile_interval == 2.5 and not settings.standalone
    flags = settings_from(namespaces=["c"], log_format="text", standalone=True, env=env)
    assert flags.namespaces == ("c",) and flags.log_format == "text" and flags.standalone
    assert settings_from(all_namespaces=True, env={}).peering == "tradeoff"
    with pytest.raises(SettingsError, match="TRADEOFF_HEALTH_PORT: expected a port number"):
        settings_from(namespaces=["a"], env={"TRADEOFF_HEALTH_PORT": "x"})
    with pytest.raises(SettingsError, match="TRADEOFF_STATUS_INTERVAL: must be greater than 0"):
        settings_from(namespaces=["a"], env={"TRADEOFF_STATUS_INTERVAL": "0"})


def test_the_trial_policy_comes_from_flags_or_the_environment() -> None:
    default = settings_from(namespaces=["a"], env={}).trial_policy
    assert (default.level, default.service_accounts) == ("restricted", ("default",))
    env = {"TRADEOFF_TRIAL_POLICY": "baseline", "TRADEOFF_TRIAL_SERVICE_ACCOUNTS": "default, ml"}
    from_env = settings_from(namespaces=["a"], env=env).trial_policy
    assert (from_env.level, from_env.service_accounts) == ("baseline", ("default", "ml"))
    flags = settings_from(
        namespaces=["a"],
        trial_policy="privileged",
        trial_service_accounts=["trainer", "trainer"],
        env=env,
    ).trial_policy
    assert (flags.level, flags.service_accounts) == ("privileged", ("trainer",))
    with pytest.raises(SettingsError, match="TRADEOFF_TRIAL_POLICY: must be one of"):
        settings_from(namespaces=["a"], env={"TRADEOFF_TRIAL_POLICY": "open"})
    with pytest.raises(SettingsError, match="TRADEOFF_TRIAL_SERVICE_ACCOUNTS: name at least"):
        settings_from(namespaces=["a"], env={"TRADEOFF_TRIAL_SERVICE_ACCOUNTS": " , "})


def test_economics_config_shape() -> None:
    config = economics_from_json(
        {
            "pricing": {"cpuHour": 0.05, "memoryGiBHour": 0.01, "gpuHour": 2.0},
            "carbon": {"gramsPerKWh": 300, "pue": 1.2},
            "regions": {"Mars-North-1": 5},
            "instancePrices": {"m5.large": 0.096},
            "spotDiscount": 0.6,
        },
        "f.json",
    )
    assert (config.cpu_hour, config.memory_gib_hour, config.gpu_hour) == (0.05, 0.01, 2.0)
    assert (config.grams_per_kwh, config.pue, config.spot_discount) == (300, 1.2, 0.6)
    assert config.region_intensity["mars-north-1"] == 5
    assert "eu-north-1" in config.region_intensity  # the built-in table stays
    assert config.instance_prices == {"m5.large": 0.096}
    with pytest.raises(SettingsError, match=r"f.json: unknown field price"):
        economics_from_json({"price": {}}, "f.json")
    with pytest.raises(SettingsError, match=r"f.json: unknown field carbon.grams"):
        economics_from_json({"carbon": {"grams": 1}}, "f.json")
    with pytest.raises(SettingsError, match=r"pue must be >= 1.0"):
        economics_from_json({"carbon": {"pue": 0.5}}, "f.json")
