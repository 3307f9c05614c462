"""Trials priced with measured energy (Kepler) and node prices (OpenCost) from a real
Prometheus.

A test double of Kepler's and OpenCost's exporters (`kepler_opencost_double`) serves
counters that grow with each emulated pod's run; Debian's `prometheus` scrapes it every
second; the real operator runs with `--prometheus-url`. Trial 0's pod is served with Kepler
0.10's metrics, trial 1's with Kepler 0.9's, trial 2's not at all. The trials must record
`source: measured` and energy, CPU time and cost that add up to what the double served.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, study_manifest, trials, wait_study
from tests.e2e.kepler_opencost_double import (
    CPU_CORES,
    PRICES,
    WATTS,
    WATTS_09,
    WORKING_SET,
    Flavour,
    KeplerOpenCostDouble,
)
from tests.e2e.prometheus_server import (
    free_port,
    http_ok,
    query,
    require_prometheus,
    start_prometheus,
    stop_prometheus,
    wait_for,
)

# One worker runs the module, so its Prometheus starts once (`--dist loadgroup`).
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(150),
    pytest.mark.xdist_group("prometheus"),
]

STUDY = "measured"
PUE = 1.135
VCPU, GIB = 0.25, 0.125  # the requests of study_manifest's trial container
SLACK_S = 0.5
"""Seconds of energy the measurement may be off: scrape timing on a loaded machine."""
JOULES_PER_KWH = 3.6e6


def flavour(pod: str) -> Flavour:
    """Trial 0's pod speaks Kepler 0.10, trial 1's Kepler 0.9, trial 2's nothing."""
    return {"-0000-a1": "0.10", "-0001-a1": "0.9"}.get(pod[len(STUDY) :])


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The trials of a study run with --prometheus-url, the operator's log and the double."""
    require_prometheus()
    home = tmp_path_factory.mktemp("measured")
    with Cluster() as cluster:
        double = KeplerOpenCostDouble(cluster, flavour).start()
        process, url = start_prometheus(home, {"exporter": double.port})
        operator = None
        try:
            wait_for(lambda: http_ok(f"{url}/-/ready"), 30, "prometheus to be ready")
            wait_for(lambda: query(url, 'up{job="exporter"} == 1'), 30, "a first scrape")
            flags = ["--namespace", cluster.namespace, "--standalone", "--prometheus-url", url]
            operator = Operator(cluster, flags, {}, home / "operator.log")
            manifest = study_manifest(
                STUDY, budget={"maxTrials": 3, "parallelism": 3}, env={"SLEEP": "5"}
            )
            result = apply(cluster, manifest)
            assert result.returncode == 0, result.stderr
            assert wait_study(cluster, STUDY, timeout=90)["status"]["state"] == "Succeeded"
            yield {
                "trials": trials(cluster, STUDY),
                "log": operator.log_path.read_text(),
                "served": dict(double.served),
            }
        finally:
            if operator is not None:
                operator.kill()
            stop_prometheus(process)
            double.stop()


def economics(trial: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = trial["status"]["economics"]
    return found


def device_joules(econ: dict[str, Any]) -> float:
    return float(econ["energyKWh"]) / PUE * JOULES_PER_KWH


def served(double: dict[str, float], pod: str, *parts: str) -> float:
    """The last value the double served of the pod's series whose labels name all parts."""
    return sum(
        value
        for series, value in double.items()
        if f'pod_name="{pod}"' in series and all(p in series for p in parts)
    )


def test_kepler_010_energy_sums_package_and_dram_only(finished: dict[str, Any]) -> None:
    econ = economics(finished["trials"][0])
    watts = WATTS["package"] + WATTS["dram"]
    expected = watts * econ["durationSeconds"]
    assert econ["source"] == "measured"
    assert econ["sources"]["energy"]["source"] == "measured", econ["sources"]
    detail = econ["sources"]["energy"]["detail"]
    assert "kepler_pod_cpu_joules_total zones dram+package (not added: core, uncore)" in detail
    assert device_joules(econ) == pytest.approx(expected, abs=watts * SLACK_S), detail
    # The final values the double served (the terminated series) agree, and the
    # terminated series were not added to the running ones.
    pod, final = f"{STUDY}-0000-a1", 'state="terminated"'
    total = sum(served(finished["served"], pod, f'zone="{z}"', final) for z in ("package", "dram"))
    assert total == pytest.approx(expected, abs=watts * SLACK_S)
    assert device_joules(econ) == pytest.approx(total, abs=watts * SLACK_S)


def test_kepler_09_energy_is_the_fallback(finished: dict[str, Any]) -> None:
    econ = economics(finished["trials"][1])
    watts = sum(WATTS_09.values())
    assert econ["sources"]["energy"]["source"] == "measured", econ["sources"]
    assert "kepler_container_joules_total" in econ["sources"]["energy"]["detail"]
    expected = watts * econ["durationSeconds"]
    assert device_joules(econ) == pytest.approx(expected, abs=watts * SLACK_S)
    assert device_joules(econ) <= served(finished["served"], f"{STUDY}-0001-a1") + watts


def test_a_pod_kepler_never_saw_is_estimated_and_says_why(finished: dict[str, Any]) -> None:
    econ = economics(finished["trials"][2])
    energy = econ["sources"]["energy"]
    assert energy["source"] == "estimated"
    assert energy["detail"].startswith("power model from measured CPU time; Kepler: no ")
    # The estimate: 0.25 vCPU idle plus the measured CPU-seconds at the busy-idle
    # difference, plus 0.125 GiB of memory.
    hours = econ["durationSeconds"] / 3600
    cpu_wh = VCPU * 0.74 * hours + econ["cpuSeconds"] / 3600 * (3.5 - 0.74)
    memory_wh = GIB * 2**30 / 1e9 * 0.392 * hours
    assert econ["energyKWh"] == pytest.approx(PUE * (cpu_wh + memory_wh) / 1000, rel=1e-9)
    assert f"pod default/{STUDY}-0002-a1: energy estimated: Kepler: no" in finished["log"]


def test_usage_comes_from_cadvisor_without_the_pod_level_series(finished: dict[str, Any]) -> None:
    for trial in finished["trials"]:
        econ = economics(trial)
        expected = CPU_CORES * econ["durationSeconds"]
        assert econ["cpuSeconds"] == pytest.approx(expected, abs=CPU_CORES * SLACK_S)
        assert "usage (cAdvisor): " in econ["sources"]["prices"]["detail"]
        assert "peak 0.5 GiB" in econ["sources"]["prices"]["detail"]


def test_every_trial_is_billed_max_of_request_and_usage_at_opencost_prices(
    finished: dict[str, Any],
) -> None:
    for trial in finished["trials"]:
        econ = economics(trial)
        prices = econ["sources"]["prices"]
        assert prices["source"] == "measured", prices
        assert prices["detail"].startswith("OpenCost node local-node (spot): 0.05 USD/vCPU-h")
        vcpu = max(VCPU, econ["cpuSeconds"] / econ["durationSeconds"])  # usage: 0.9 > 0.25
        gib = max(GIB, WORKING_SET / 2**30)  # usage: 0.5 > 0.125
        assert vcpu > VCPU and gib > GIB
        hourly = vcpu * PRICES["node_cpu_hourly_cost"] + gib * PRICES["node_ram_hourly_cost"]
        expected = econ["durationSeconds"] / 3600 * hourly
        assert econ["costUSD"] == pytest.approx(expected, rel=1e-9), trial["metadata"]["name"]


def test_the_log_names_the_prometheus(finished: dict[str, Any]) -> None:
    assert (
        "Energy and prices measured: Kepler and OpenCost at http://127.0.0.1:" in (finished["log"])
    )


def test_an_unreachable_prometheus_never_fails_a_trial(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    op = operator("--standalone", "--prometheus-url", closed)
    result = apply(cluster, study_manifest("unmeasured", budget={"maxTrials": 1}))
    assert result.returncode == 0, result.stderr
    assert wait_study(cluster, "unmeasured", timeout=60)["status"]["state"] == "Succeeded"
    (trial,) = trials(cluster, "unmeasured")
    sources = economics(trial)["sources"]
    unreachable = f"Prometheus {closed} unreachable"
    assert sources["energy"]["source"] == "estimated"
    assert sources["energy"]["detail"].startswith(
        f"power model from requests and duration; Kepler: {unreachable}"
    )
    assert sources["prices"]["source"] == "configured"
    assert sources["prices"]["detail"].startswith(f"OpenCost: {unreachable}")
    assert economics(trial)["source"] == "estimated"
    assert f"energy estimated: Kepler: {unreachable}" in op.log
