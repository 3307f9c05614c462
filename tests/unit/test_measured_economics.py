"""Measured economics: the PromQL client, Kepler's zone rule, OpenCost prices, the fallback
reasons, and how an attempt is priced with them.

HTTP behaviour is checked against a loopback server that answers like Prometheus's
`/api/v1/query` (a test double); what Kepler and OpenCost series mean is checked with a
fake that answers queries by the metric they name.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.unit.test_pods import NODE, ended_pod, make_study
from tradeoff.api.economics import EconomicsSpec, Pricing
from tradeoff.economics import EconomicsConfig
from tradeoff.economics.measured import (
    KeplerEnergy,
    Measurement,
    NodePrices,
    Usage,
    cadvisor_usage,
    kepler_energy,
    measure,
    opencost_prices,
    zones_to_sum,
)
from tradeoff.economics.prometheus import Prometheus, PrometheusError, Sample, parse_vector
from tradeoff.kube import pod_price
from tradeoff.kube.measure import Measure, measurer
from tradeoff.kube.settings import SettingsError, settings_from

START = datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)
END = START + timedelta(seconds=4)


# -- the HTTP client ------------------------------------------------------------------------
def vector(*samples: tuple[dict[str, str], float]) -> dict[str, Any]:
    result = [{"metric": m, "value": [1.0, str(v)]} for m, v in samples]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@pytest.fixture
def server() -> Iterator[Callable[[int, Any, float], str]]:
    """A loopback HTTP server answering every GET with (status, JSON body) after a delay;
    it records the query parameters it got in `seen`."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, body: Any, delay: float = 0.0) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)  # before answering: the client may check at once
                time.sleep(delay)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client timed out
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(httpd)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{httpd.server_address[1]}/"

    seen: list[str] = []
    start.seen = seen  # type: ignore[attr-defined]
    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_a_query_sends_the_expression_and_time_and_reads_the_vector(server: Any) -> None:
    url = server(200, vector(({"zone": "package"}, 12.5), ({"zone": "dram"}, 2.0)))
    found = Prometheus(url).query('up{job="x"}', END)
    assert found == [Sample({"zone": "package"}, 12.5), Sample({"zone": "dram"}, 2.0)]
    assert server.seen == [f"/api/v1/query?query=up%7Bjob%3D%22x%22%7D&time={END.timestamp():.3f}"]


def test_prometheus_errors_are_one_line(server: Any) -> None:
    bad = server(400, {"status": "error", "errorType": "bad_data", "error": "parse error\nat 3"})
    with pytest.raises(PrometheusError, match=r"HTTP 400: parse error$"):
        Prometheus(bad).query("up", END)
    slow = server(200, vector(), 2.0)
    with pytest.raises(PrometheusError, match="unreachable: timed out"):
        Prometheus(slow, timeout=0.2).query("up", END)
    with pytest.raises(PrometheusError, match=r"^Prometheus http://127.0.0.1:9 unreachable"):
        Prometheus("http://127.0.0.1:9").query("up", END)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "the answer is not JSON"),
        (json.dumps({"status": "error", "error": "boom"}).encode(), "query failed: boom"),
        (
            json.dumps({"status": "success", "data": {"resultType": "matrix"}}).encode(),
            "expected a vector, got 'matrix'",
        ),
        (
            json.dumps(
                {"status": "success", "data": {"resultType": "vector", "result": [{"v": 1}]}}
            ).encode(),
            "a malformed sample",
        ),
    ],
)
def test_answers_that_are_not_vectors_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(PrometheusError, match=message):
        parse_vector(body)


def test_not_a_number_samples_are_dropped() -> None:
    body = json.dumps(vector(({"a": "1"}, 1.0)))
    assert parse_vector(body.replace('"1.0"', '"NaN"').encode()) == []


# -- the zone rule --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zones", "summed", "skipped"),
    [
        ({"package", "dram"}, ["dram", "package"], []),
        ({"package", "core", "uncore", "dram"}, ["dram", "package"], ["core", "uncore"]),
        (
            {"package-0", "package-1", "dram-0", "core-0"},
            ["dram-0", "package-0", "package-1"],
            ["core-0"],
        ),
        ({"psys", "package", "dram"}, ["dram", "package"], ["psys"]),
        ({"psys", "core", "dram"}, ["psys"], ["core", "dram"]),
        ({"core", "uncore", "dram"}, ["core", "dram", "uncore"], []),
        ({"dram"}, [], ["dram"]),
    ],
)
def test_overlapping_zones_are_never_added(
    zones: set[str], summed: list[str], skipped: list[str]
) -> None:
    assert zones_to_sum(zones) == (summed, skipped)


# -- Kepler and OpenCost, with a fake Prometheus -----------------------------------------
class FakePrometheus(Prometheus):
    """Answers a query by the first metric name it contains; records the queries."""

    def __init__(self, answers: dict[str, list[Sample]], error: str | None = None) -> None:
        super().__init__("http://prometheus.test")
        self.answers, self.error, self.queries = answers, error, []

    def query(self, expr: str, at: datetime) -> list[Sample]:
        self.queries.append((expr, at))
        if self.error:
            raise PrometheusError(self.error)
        for metric, samples in self.answers.items():
            if f"{metric}{{" in expr:
                return samples
        return []


def zone(name: str, joules: float) -> Sample:
    return Sample({"zone": name}, joules)


def test_kepler_010_sums_package_and_dram_at_the_run_end() -> None:
    prom = FakePrometheus(
        {
            "kepler_pod_cpu_joules_total": [
                zone("package", 3600.0),
                zone("core", 2000.0),
                zone("dram", 360.0),
            ],
            "kepler_pod_gpu_joules_total": [Sample({}, 36.0)],
        }
    )
    found = kepler_energy(prom, "team-a", "demo-0003-a1", START, END)
    assert found.kwh == pytest.approx((3600 + 360 + 36) / 3.6e6)
    assert found.detail.startswith(
        "Kepler kepler_pod_cpu_joules_total zones dram+package (not added: core): 3960 J; "
        "kepler_pod_gpu_joules_total: 36 J"
    )
    expr, at = prom.queries[0]
    assert at == END
    assert 'pod_namespace="team-a", pod_name="demo-0003-a1"' in expr
    assert "count_over_time(kepler_pod_cpu_joules_total{" in expr and "[4000ms]" in expr


def test_kepler_09_is_the_fallback() -> None:
    prom = FakePrometheus({"kepler_container_joules_total": [Sample({}, 7200.0)]})
    found = kepler_energy(prom, "team-a", "p", START, END)
    assert found.kwh == pytest.approx(0.002)
    assert found.detail.startswith("Kepler 0.9 kepler_container_joules_total")
    assert 'container_namespace="team-a", pod_name="p"' in prom.queries[-1][0]


@pytest.mark.parametrize(
    ("answers", "error", "gpus", "reason"),
    [
        ({}, None, 0, "Kepler: no samples of pod team-a/p by the run's end"),
        (
            {"kepler_pod_cpu_joules_total": [zone("dram", 5.0)]},
            None,
            0,
            "Kepler: kepler_pod_cpu_joules_total has no CPU zone (zones: dram)",
        ),
        (
            {"kepler_pod_cpu_joules_total": [zone("package", 5.0)]},
            None,
            1,
            "Kepler: no kepler_pod_gpu_joules_total for a pod with 1 GPU(s)",
        ),
        ({}, "Prometheus http://p unreachable: refused", 0, "Kepler: Prometheus http://p"),
    ],
)
def test_missing_energy_says_why(
    answers: dict[str, list[Sample]], error: str | None, gpus: int, reason: str
) -> None:
    found = kepler_energy(FakePrometheus(answers, error), "team-a", "p", START, END, gpus)
    assert found.kwh is None
    assert found.detail.startswith(reason)


PRICES = {
    "node_cpu_hourly_cost": [Sample({}, 0.04)],
    "node_ram_hourly_cost": [Sample({}, 0.005)],
    "node_gpu_hourly_cost": [Sample({}, 2.5)],
    "kubecost_node_is_spot": [Sample({}, 0.0)],
}


def test_opencost_prices_of_the_node_over_the_run() -> None:
    prom = FakePrometheus(PRICES)
    found = opencost_prices(prom, "n1", START, END)
    assert (found.cpu_hour, found.memory_gib_hour, found.gpu_hour) == (0.04, 0.005, 2.5)
    assert found.spot is False and found.known
    assert found.detail.startswith("OpenCost node n1 (on-demand): 0.04 USD/vCPU-h, 0.005")
    assert prom.queries[0] == ('avg(avg_over_time(node_cpu_hourly_cost{node="n1"}[300000ms]))', END)
    assert prom.queries[3][0].startswith("max(max_over_time(kubecost_node_is_spot{")


@pytest.mark.parametrize(
    ("drop", "value", "gpus", "reason"),
    [
        ("node_ram_hourly_cost", None, 0, "OpenCost: no node_ram_hourly_cost for node n1"),
        ("node_gpu_hourly_cost", None, 2, "OpenCost: no node_gpu_hourly_cost for node n1"),
        ("node_cpu_hourly_cost", -1.0, 0, "OpenCost: node_cpu_hourly_cost of node n1 is negative"),
    ],
)
def test_missing_prices_say_why(drop: str, value: float | None, gpus: int, reason: str) -> None:
    answers = {**PRICES, drop: [] if value is None else [Sample({}, value)]}
    found = opencost_prices(FakePrometheus(answers), "n1", START, END, gpus)
    assert not found.known and found.detail.startswith(reason)


def test_a_pod_without_node_has_no_prices() -> None:
    found = measure(FakePrometheus(PRICES), "ns", "p", None, START, END)
    assert found.prices.detail == "OpenCost: the pod was bound to no node"


# -- an attempt priced with measurements ---------------------------------------------------
def reading(kwh: float | None, prices: bool = True, usage: Usage | None = None) -> Measure:
    energy = KeplerEnergy(kwh, "Kepler read" if kwh is not None else "Kepler: no samples")
    node = (
        NodePrices(0.1, 0.01, None, True, "OpenCost node n1 (spot)")
        if prices
        else NodePrices(None, None, None, None, "OpenCost: no node_cpu_hourly_cost")
    )
    calls: list[tuple[Any, ...]] = []

    def read(*args: Any) -> Measurement:
        calls.append(args)
        return Measurement(energy, node, usage or Usage(None, None, "usage: none"))

    read.calls = calls  # type: ignore[attr-defined]
    return read


def test_measured_energy_and_prices_price_the_attempt() -> None:
    read = reading(0.01)
    econ = pod_price.price(
        make_study(), ended_pod(), NODE, EconomicsConfig(), "trial", END, {"energy": 5.0}, read
    )
    assert econ is not None and econ.sources is not None
    assert read.calls == [("", "demo-0003-a1", "n1", START, END, 0)]  # type: ignore[attr-defined]
    running = ended_pod()
    running["status"]["containerStatuses"][0]["state"] = {
        "running": {"startedAt": "2026-01-01T12:00:01Z"}
    }
    pod_price.price(make_study(), running, NODE, EconomicsConfig(), "trial", END, None, read)
    assert read.calls[-1] == ("", "demo-0003-a1", "n1", START, None, 0)  # type: ignore[attr-defined]
    assert econ.energy_kwh == pytest.approx(0.01 * 1.135)  # Kepler wins over the report
    assert econ.sources.energy.model_dump() == {"source": "measured", "detail": "Kepler read"}
    assert econ.cost_usd == pytest.approx(4 / 3600 * (2 * 0.1 + 1 * 0.01))  # no spot discount
    assert econ.sources.prices.source == "measured" and econ.source == "measured"


def test_usage_is_billed_when_above_the_request() -> None:
    usage = Usage(12.0, 3.0, "usage (cAdvisor): 12 CPU-s, peak 3 GiB")  # 3 vCPU over 4 s
    read = reading(0.01, usage=usage)
    econ = pod_price.price(
        make_study(), ended_pod(), NODE, EconomicsConfig(), "trial", END, None, read
    )
    assert econ is not None and econ.sources is not None
    assert econ.cpu_seconds == 12.0 and (econ.vcpu, econ.memory_gib) == (2.0, 1.0)
    assert econ.cost_usd == pytest.approx(4 / 3600 * (3 * 0.1 + 3 * 0.01))
    assert econ.sources.prices.detail == (
        "OpenCost node n1 (spot); usage (cAdvisor): 12 CPU-s, peak 3 GiB"
    )
    below = reading(0.01, usage=Usage(1.0, 0.25, "usage (cAdvisor): 1 CPU-s, peak 0.25 GiB"))
    econ = pod_price.price(
        make_study(), ended_pod(), NODE, EconomicsConfig(), "trial", END, None, below
    )
    assert econ is not None
    assert econ.cost_usd == pytest.approx(4 / 3600 * (2 * 0.1 + 1 * 0.01))  # the requests


def test_cadvisor_usage_leaves_out_the_pod_level_series() -> None:
    prom = FakePrometheus(
        {
            "container_cpu_usage_seconds_total": [Sample({}, 7.5)],
            "container_memory_working_set_bytes": [Sample({}, 2**29)],
        }
    )
    found = cadvisor_usage(prom, "ns", "p", START, END)
    assert (found.cpu_seconds, found.memory_gib) == (7.5, 0.5)
    assert found.detail == "usage (cAdvisor): 7.5 CPU-s, peak 0.5 GiB"
    for expr, _ in prom.queries:
        assert 'namespace="ns", pod="p", container!="", container!="POD"' in expr
    assert cadvisor_usage(FakePrometheus({}), "ns", "p", START, END).detail == (
        "usage: no cAdvisor series of pod ns/p"
    )
    failed = cadvisor_usage(FakePrometheus({}, "Prometheus x unreachable"), "ns", "p", START, END)
    assert (failed.cpu_seconds, failed.detail) == (None, "usage: Prometheus x unreachable")


def test_missing_measurements_fall_back_with_the_reason() -> None:
    study, pod = make_study(), ended_pod()
    econ = pod_price.price(
        study, pod, NODE, EconomicsConfig(), "trial", END, None, reading(None, False)
    )
    plain = pod_price.price(study, pod, NODE, EconomicsConfig(), "trial", END)
    assert econ is not None and econ.sources is not None and plain is not None
    assert (econ.energy_kwh, econ.cost_usd) == (plain.energy_kwh, plain.cost_usd)
    assert (
        econ.sources.energy.detail == "power model from requests and duration; Kepler: no samples"
    )
    assert econ.sources.prices.model_dump() == {
        "source": "configured",
        "detail": "OpenCost: no node_cpu_hourly_cost; usage: none",
    }
    assert econ.source == "estimated"
    reported = pod_price.price(
        study, pod, NODE, EconomicsConfig(), "trial", END, {"energy": 0.5}, reading(None)
    )
    assert reported is not None and reported.sources is not None
    assert reported.sources.energy.detail == "reported by the trial; Kepler: no samples"


def test_the_study_pricing_still_wins_and_says_so() -> None:
    study = make_study()
    overrides = EconomicsSpec(pricing=Pricing(cpu_hour=1.0))
    study.spec = study.spec.model_copy(update={"economics": overrides})
    read = reading(0.01)
    econ = pod_price.price(study, ended_pod(), NODE, EconomicsConfig(), "trial", END, None, read)
    assert econ is not None and econ.sources is not None
    assert econ.cost_usd == pytest.approx(4 / 3600 * (2 * 1.0 + 1 * 0.01))
    assert econ.sources.prices.detail == (
        "OpenCost node n1 (spot); usage: none; the study's spec.economics.pricing wins: cpuHour"
    )


def test_the_measurer_waits_for_a_scrape_after_the_end_and_logs_fallbacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert measurer(None, 5.0, 2.0) is None
    slept: list[float] = []
    read = measurer("http://127.0.0.1:9", 0.5, 2.0, slept.append)
    assert read is not None
    found = read("ns", "p", "n1", datetime.now(UTC) - timedelta(seconds=5), datetime.now(UTC), 0)
    assert slept and 1.5 < slept[0] <= 2.0
    assert found.energy.kwh is None and "unreachable" in found.energy.detail
    read("ns", "p", "n1", datetime.now(UTC) - timedelta(seconds=5), None, 0)  # still running
    assert len(slept) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings[0].startswith("pod ns/p: energy estimated: Kepler: Prometheus")
    assert warnings[1].startswith("pod ns/p: prices configured: OpenCost: Prometheus")


def test_the_prometheus_url_setting() -> None:
    env = {"TRADEOFF_PROMETHEUS_URL": "http://prometheus.monitoring:9090/"}
    settings = settings_from(namespaces=["a"], env=env)
    assert settings.prometheus_url == "http://prometheus.monitoring:9090"
    flag = settings_from(namespaces=["a"], prometheus_url="https://p/prom", env=env)
    assert flag.prometheus_url == "https://p/prom"
    assert settings_from(namespaces=["a"], env={}).prometheus_url is None
    with pytest.raises(SettingsError, match=r"^TRADEOFF_PROMETHEUS_URL: expected http"):
        settings_from(namespaces=["a"], env={"TRADEOFF_PROMETHEUS_URL": "ftp://p"})
    with pytest.raises(SettingsError, match=r"^TRADEOFF_PROMETHEUS_SETTLE: must be greater"):
        settings_from(namespaces=["a"], env={"TRADEOFF_PROMETHEUS_SETTLE": "0"})
