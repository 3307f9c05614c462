"""The economics model against hand-computed expectations (arithmetic written out)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from tradeoff.api.economics import CarbonSettings, EconomicsSpec, Pricing, TrialEconomics
from tradeoff.economics import (
    DEFAULT_MEMORY_GIB,
    DEFAULT_VCPU,
    REGION_GRAMS_PER_KWH,
    EconomicsConfig,
    NodeInfo,
    Resources,
    config_for_node,
    node_info_from_labels,
    node_info_from_node,
    price_trial,
    resources_from_pod_spec,
    totals,
)

DEFAULT = EconomicsConfig.default()
GB_PER_GIB = 1.073741824  # 2**30 / 10**9


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9)


# --- defaults ---------------------------------------------------------------------------


def test_defaults_are_the_documented_ones() -> None:
    assert (DEFAULT.cpu_min_watts, DEFAULT.cpu_max_watts) == (0.74, 3.5)
    assert DEFAULT.memory_watts_per_gb == 0.392
    assert DEFAULT.pue == 1.135
    assert DEFAULT.grams_per_kwh == 475.0
    assert (DEFAULT.cpu_hour, DEFAULT.memory_gib_hour, DEFAULT.gpu_hour) == (
        0.031611,
        0.004237,
        0.95,
    )
    assert DEFAULT.gpu_watts["T4"] == (8.0, 71.0)
    assert DEFAULT.gpu_watts["A10G"] == (18.0, 153.0)
    assert DEFAULT.gpu_watts["V100"] == (35.0, 306.0)
    assert DEFAULT.gpu_watts["A100"] == (46.0, 407.0)
    assert DEFAULT.spot_discount == 0.7
    assert dict(DEFAULT.instance_prices) == {}


def test_region_table_is_plausible() -> None:
    assert len(REGION_GRAMS_PER_KWH) >= 15
    for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "eu-north-1"):
        assert region in REGION_GRAMS_PER_KWH
    for region in ("europe-west4", "us-central1", "westeurope"):
        assert region in REGION_GRAMS_PER_KWH
    assert all(0 < grams < 1000 for grams in REGION_GRAMS_PER_KWH.values())
    # Hydro-powered Sweden is far cleaner than coal-heavy India.
    assert REGION_GRAMS_PER_KWH["eu-north-1"] < 50 < 600 < REGION_GRAMS_PER_KWH["ap-south-1"]


# --- price_trial ------------------------------------------------------------------------


def test_estimated_trial() -> None:
    result = price_trial(Resources(vcpu=2, memory_gib=4), 1800, DEFAULT)
    hours = 0.5
    cpu_wh = 2 * (0.74 + 3.5) / 2 * hours  # = 2.12
    memory_wh = 4 * GB_PER_GIB * 0.392 * hours  # = 0.841813590016
    kwh = 1.135 * (cpu_wh + memory_wh) / 1000  # = 0.003361658...
    assert cpu_wh == approx(2.12)
    assert result.energy_kwh == approx(kwh)
    assert result.energy_kwh == approx(1.135 * 2.961813590016 / 1000)
    assert result.carbon_grams == approx(kwh * 475)
    # 0.5 h x (2 x 0.031611 + 4 x 0.004237) = 0.5 x 0.08017 = 0.040085
    assert result.cost_usd == approx(0.040085)
    assert result.source == "estimated"
    assert result.cpu_seconds is None
    assert (result.vcpu, result.memory_gib, result.gpus) == (2, 4, 0)
    assert (result.grams_per_kwh, result.pue) == (475.0, 1.135)


def test_measured_cpu_seconds() -> None:
    # 2 vCPU for 1 h, 5400 CPU-seconds used (1.5 cores on average).
    result = price_trial(Resources(vcpu=2, memory_gib=0), 3600, DEFAULT, cpu_seconds=5400)
    cpu_wh = 2 * 0.74 * 1 + 5400 / 3600 * (3.5 - 0.74)  # 1.48 + 4.14 = 5.62
    assert cpu_wh == approx(5.62)
    assert result.energy_kwh == approx(1.135 * 5.62 / 1000)
    # Billed vCPU = max(2, 5400 / 3600 = 1.5) = 2 -> 1 h x 2 x 0.031611
    assert result.cost_usd == approx(0.063222)
    assert result.source == "measured"
    assert result.cpu_seconds == 5400


def test_measured_usage_above_request_is_billed() -> None:
    # A trial that requested 1 vCPU but burst to 3 cores for 1 h.
    result = price_trial(Resources(vcpu=1, memory_gib=0), 3600, DEFAULT, cpu_seconds=10800)
    assert result.cost_usd == approx(3 * 0.031611)  # max(1, 10800 / 3600 = 3) = 3
    assert result.energy_kwh == approx(1.135 * (1 * 0.74 + 3 * 2.76) / 1000)  # 9.02 Wh
    assert result.vcpu == 1


def test_reported_energy_replaces_the_estimate() -> None:
    resources = Resources(vcpu=2, memory_gib=4)
    estimated = price_trial(resources, 1800, DEFAULT)
    reported = price_trial(resources, 1800, DEFAULT, energy_kwh=0.01)
    # Device energy 0.01 kWh x PUE 1.135 = 0.01135 kWh; x 475 g/kWh = 5.39125 g
    assert reported.energy_kwh == approx(0.01135)
    assert reported.carbon_grams == approx(5.39125)
    assert reported.cost_usd == approx(estimated.cost_usd)  # energy does not change price
    assert reported.source == "measured"


def test_gpu_trial_with_model_from_label() -> None:
    resources = Resources(vcpu=4, memory_gib=16, gpus=1, gpu_model="NVIDIA-A100-SXM4-40GB")
    result = price_trial(resources, 3600, DEFAULT)
    cpu_wh = 4 * 2.12  # 8.48
    memory_wh = 16 * GB_PER_GIB * 0.392  # 6.734508...
    gpu_wh = 1 * (46 + 407) / 2  # 226.5
    assert result.energy_kwh == approx(1.135 * (cpu_wh + memory_wh + gpu_wh) / 1000)
    # 4 x 0.031611 + 16 x 0.004237 + 1 x 0.95 = 0.126444 + 0.067792 + 0.95 = 1.144236
    assert result.cost_usd == approx(1.144236)
    assert result.gpu_model == "A100"


@pytest.mark.parametrize(
    ("label", "model", "watts"),
    [
        ("Tesla-T4", "T4", (8, 71)),
        ("nvidia-tesla-t4", "T4", (8, 71)),  # GKE accelerator label
        ("NVIDIA-A10G", "A10G", (18, 153)),  # must not match A100
        ("NVIDIA-A100-80GB-PCIe", "A100", (46, 407)),
        ("Tesla-V100-SXM2-16GB", "V100", (35, 306)),
        ("a10g", "A10G", (18, 153)),  # Karpenter instance-gpu-name
        ("Tesla-P40", "P40", (30, 255)),  # a whole token: not the P4
        ("NVIDIA-H100-80GB-HBM3", "V100", (35, 306)),  # unknown -> the default model
        (None, "V100", (35, 306)),
    ],
)
def test_gpu_model_lookup(label: str | None, model: str, watts: tuple[float, float]) -> None:
    assert DEFAULT.gpu_power(label) == (model, *watts)


def test_unknown_gpu_uses_the_default_model() -> None:
    result = price_trial(Resources(vcpu=0, memory_gib=0, gpus=2), 7200, DEFAULT)
    # 2 GPUs x (35 + 306) / 2 W x 2 h = 682 Wh; x 1.135 = 774.07 Wh
    assert result.energy_kwh == approx(0.77407)
    assert result.cost_usd == approx(2 * 2 * 0.95)
    assert result.gpu_model == "V100"


def test_zero_duration_is_free() -> None:
    # Even with a few CPU-seconds (a rounded-down duration), nothing is charged.
    result = price_trial(Resources(vcpu=8, memory_gib=32, gpus=1), 0, DEFAULT, cpu_seconds=0.4)
    assert (result.energy_kwh, result.carbon_grams, result.cost_usd) == (0, 0, 0)
    assert result.duration_seconds == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_s": -1.0},
        {"duration_s": math.nan},
        {"duration_s": math.inf},
        {"cpu_seconds": -5.0},
        {"cpu_seconds": math.nan},
        {"energy_kwh": -0.1},
        {"energy_kwh": math.nan},
    ],
)
def test_bad_inputs_refused(kwargs: dict[str, float]) -> None:
    arguments: dict[str, Any] = {"duration_s": 60.0, **kwargs}
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"^{name} must be a finite number >= 0"):
        price_trial(Resources(vcpu=1, memory_gib=1), config=DEFAULT, **arguments)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Resources(vcpu=-1, memory_gib=1),
        lambda: Resources(vcpu=1, memory_gib=math.nan),
        lambda: Resources(vcpu=1, memory_gib=1, gpus=-1),
    ],
)
def test_bad_resources_refused(make: Any) -> None:
    with pytest.raises(ValueError, match=r"^resources\."):
        make()


def test_totals() -> None:
    a = price_trial(Resources(vcpu=1, memory_gib=1), 3600, DEFAULT)
    b = price_trial(Resources(vcpu=2, memory_gib=0), 1800, DEFAULT, energy_kwh=0.002)
    summed = totals([a, b])
    assert summed.cost_usd == approx(a.cost_usd + b.cost_usd)
    assert summed.carbon_grams == approx(a.carbon_grams + b.carbon_grams)
    assert summed.energy_kwh == approx(a.energy_kwh + 0.002 * 1.135)
    assert totals([]).wire() == {"costUSD": 0.0, "carbonGrams": 0.0, "energyKWh": 0.0}


# --- configuration: overrides, node, region, spot, instance prices -----------------------


def test_study_overrides() -> None:
    spec = EconomicsSpec.model_validate(
        {"pricing": {"cpuHour": 0.05, "memoryGiBHour": 0.01}, "carbon": {"pue": 1.5}}
    )
    config = DEFAULT.with_overrides(spec)
    assert (config.cpu_hour, config.memory_gib_hour, config.gpu_hour) == (0.05, 0.01, 0.95)
    assert (config.pue, config.grams_per_kwh) == (1.5, 475.0)
    assert DEFAULT.with_overrides(None) is DEFAULT
    assert DEFAULT.with_overrides(EconomicsSpec()) == DEFAULT


def test_region_picks_intensity() -> None:
    us_east = config_for_node(DEFAULT, NodeInfo(region="us-east-1"), None)
    assert us_east.grams_per_kwh == 379.069
    sweden = config_for_node(DEFAULT, NodeInfo(region="eu-north-1"), None)
    result = price_trial(Resources(vcpu=1, memory_gib=0), 3600, sweden, region="eu-north-1")
    # 1 vCPU x 2.12 W x 1 h x 1.135 = 2.4062 Wh; x 8.8 g/kWh = 0.02117456 g
    assert result.carbon_grams == approx(0.0024062 * 8.8)
    assert (result.grams_per_kwh, result.region) == (8.8, "eu-north-1")
    unknown = config_for_node(DEFAULT, NodeInfo(region="mars-north-1"), None)
    assert unknown.grams_per_kwh == 475.0


def test_spot_discount() -> None:
    spot = config_for_node(DEFAULT, NodeInfo(spot=True), None)
    # 70 % off: 0.031611 x 0.3 = 0.0094833; 0.004237 x 0.3 = 0.0012711; 0.95 x 0.3 = 0.285
    assert spot.cpu_hour == approx(0.0094833)
    assert spot.memory_gib_hour == approx(0.0012711)
    assert spot.gpu_hour == approx(0.285)
    assert spot.grams_per_kwh == DEFAULT.grams_per_kwh  # carbon is the same on spot


def test_instance_price_is_split_in_the_default_ratio() -> None:
    base = replace(DEFAULT, instance_prices={"m5.large": 0.096})
    node = NodeInfo(instance_type="m5.large", vcpu=2, memory_gib=8)
    config = config_for_node(base, node, None)
    # At default prices the node would cost 2 x 0.031611 + 8 x 0.004237 = 0.097118 $/h;
    # every price is scaled by 0.096 / 0.097118 so the node costs exactly 0.096 $/h.
    scale = 0.096 / 0.097118
    assert config.cpu_hour == approx(0.031611 * scale)
    assert config.memory_gib_hour == approx(0.004237 * scale)
    assert 2 * config.cpu_hour + 8 * config.memory_gib_hour == approx(0.096)
    # Spot on top: 0.096 x 0.3 = 0.0288 for the whole node.
    spot = config_for_node(base, replace(node, spot=True), None)
    assert 2 * spot.cpu_hour + 8 * spot.memory_gib_hour == approx(0.0288)
    # Without the node's capacity the price cannot be split: defaults stay.
    assert config_for_node(base, NodeInfo(instance_type="m5.large"), None) == base


def test_study_overrides_win_over_the_node() -> None:
    spec = EconomicsSpec(pricing=Pricing(cpu_hour=0.1), carbon=CarbonSettings(grams_per_kwh=100.0))
    node = NodeInfo(region="eu-north-1", spot=True)
    config = config_for_node(DEFAULT, node, spec)
    assert config.grams_per_kwh == 100.0  # not eu-north-1's 8.8
    assert config.cpu_hour == 0.1  # not discounted: the study said so
    assert config.memory_gib_hour == approx(0.004237 * 0.3)  # not overridden: spot price
    assert config_for_node(DEFAULT, None, spec) == DEFAULT.with_overrides(spec)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match=r"economics\.pue must be >= 1\.0"):
        EconomicsConfig(pue=0.9)
    with pytest.raises(ValueError, match=r"economics\.spot_discount must be in \[0, 1\)"):
        EconomicsConfig(spot_discount=1.0)
    with pytest.raises(ValueError, match=r"economics\.cpu_hour must be a finite number"):
        EconomicsConfig(cpu_hour=-0.1)
    with pytest.raises(ValueError, match="exceeds"):
        EconomicsConfig(cpu_min_watts=5.0)
    with pytest.raises(ValueError, match="default_gpu_model 'H100' is not in gpu_watts"):
        EconomicsConfig(default_gpu_model="H100")
    with pytest.raises(TypeError):
        DEFAULT.region_intensity["us-east-1"] = 0.0  # type: ignore[index]


# --- node labels -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "spot"),
    [
        ({"eks.amazonaws.com/capacityType": "SPOT"}, True),
        ({"eks.amazonaws.com/capacityType": "ON_DEMAND"}, False),
        ({"karpenter.sh/capacity-type": "spot"}, True),
        ({"karpenter.sh/capacity-type": "on-demand"}, False),
        ({"cloud.google.com/gke-spot": "true"}, True),
        ({"cloud.google.com/gke-preemptible": "true"}, True),
        ({"kubernetes.azure.com/scalesetpriority": "spot"}, True),
        ({"kubernetes.azure.com/scalesetpriority": "regular"}, False),
        ({}, False),
    ],
)
def test_spot_labels(labels: dict[str, str], spot: bool) -> None:
    assert node_info_from_labels(labels).spot is spot


def test_node_labels() -> None:
    node = node_info_from_labels(
        {
            "topology.kubernetes.io/region": "us-west-2",
            "node.kubernetes.io/instance-type": "g5.xlarge",
            "nvidia.com/gpu.product": "NVIDIA-A10G",
        }
    )
    assert node == NodeInfo(region="us-west-2", instance_type="g5.xlarge", gpu_model="NVIDIA-A10G")
    legacy = node_info_from_labels(
        {
            "failure-domain.beta.kubernetes.io/region": "europe-west4",
            "beta.kubernetes.io/instance-type": "n2-standard-4",
            "cloud.google.com/gke-accelerator": "nvidia-tesla-t4",
        }
    )
    assert (legacy.region, legacy.instance_type, legacy.gpu_model) == (
        "europe-west4",
        "n2-standard-4",
        "nvidia-tesla-t4",
    )


def test_node_object_capacity() -> None:
    node = node_info_from_node(
        {
            "metadata": {"labels": {"topology.kubernetes.io/region": "eu-west-1"}},
            "status": {"capacity": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}},
        }
    )
    assert (node.region, node.vcpu, node.memory_gib, node.gpus) == ("eu-west-1", 4.0, 16.0, 1)
    broken = node_info_from_node({"status": {"capacity": {"cpu": "lots"}}})
    assert broken == NodeInfo()


# --- pod specs -----------------------------------------------------------------------------


def test_resources_summed_over_containers() -> None:
    pod = {
        "containers": [
            {"name": "trial", "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}},
            # no requests: Kubernetes defaults the request to the limit
            {"name": "sidecar", "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}}},
        ],
        "initContainers": [
            {"name": "fetch", "resources": {"requests": {"cpu": "8", "memory": "8Gi"}}},
            {
                "name": "proxy",  # a native sidecar runs all along
                "restartPolicy": "Always",
                "resources": {"requests": {"cpu": "250m"}},
            },
        ],
    }
    # 1.5 + 0.5 + 0.25 vCPU; 1 + 0.5 GiB; the plain init container is not counted
    assert resources_from_pod_spec(pod) == Resources(vcpu=2.25, memory_gib=1.5)


def test_requests_win_over_limits() -> None:
    pod = {
        "containers": [
            {"resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "4", "memory": "2Gi"}}}
        ]
    }
    assert resources_from_pod_spec(pod) == Resources(vcpu=1.0, memory_gib=2.0)


def test_defaults_when_nothing_is_requested() -> None:
    assert resources_from_pod_spec({"containers": [{"name": "trial"}]}) == Resources(
        vcpu=DEFAULT_VCPU, memory_gib=DEFAULT_MEMORY_GIB
    )
    assert (DEFAULT_VCPU, DEFAULT_MEMORY_GIB) == (1.0, 0.5)
    only_cpu = {"containers": [{"resources": {"requests": {"cpu": "250m"}}}]}
    assert resources_from_pod_spec(only_cpu) == Resources(vcpu=0.25, memory_gib=0.5)


def test_gpus_and_model_from_node_selector() -> None:
    pod = {
        "nodeSelector": {"nvidia.com/gpu.product": "Tesla-T4"},
        "containers": [
            {
                "resources": {
                    "requests": {"cpu": 4, "memory": "8Gi"},
                    "limits": {"nvidia.com/gpu": 2},
                }
            }
        ],
    }
    assert resources_from_pod_spec(pod) == Resources(
        vcpu=4.0, memory_gib=8.0, gpus=2, gpu_model="Tesla-T4"
    )


def test_kubernetes_client_dicts_work_too() -> None:
    pod = {
        "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
        "init_containers": [{"restart_policy": "Always", "resources": {"requests": {"cpu": "1"}}}],
        "containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}],
    }
    assert resources_from_pod_spec(pod) == Resources(
        vcpu=1.0, memory_gib=0.5, gpus=1, gpu_model="nvidia-tesla-t4"
    )


def test_bad_quantity_names_the_field() -> None:
    pod = {"containers": [{}, {"resources": {"requests": {"cpu": "5 cores"}}}]}
    with pytest.raises(ValueError) as caught:
        resources_from_pod_spec(pod)
    assert str(caught.value) == (
        "containers[1].resources.requests.cpu: not a Kubernetes quantity: '5 cores'"
    )
    fractional_gpu = {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "500m"}}}]}
    with pytest.raises(ValueError, match=r"limits\.nvidia\.com/gpu: GPUs must be a whole number"):
        resources_from_pod_spec(fractional_gpu)


# --- wire models ---------------------------------------------------------------------------


def test_pricing_aliases_round_trip() -> None:
    pricing = Pricing.model_validate({"cpuHour": 0.04, "memoryGiBHour": 0.005, "gpuHour": 1.2})
    assert (pricing.cpu_hour, pricing.memory_gib_hour, pricing.gpu_hour) == (0.04, 0.005, 1.2)
    assert pricing.wire() == {"cpuHour": 0.04, "memoryGiBHour": 0.005, "gpuHour": 1.2}
    assert Pricing.model_validate(pricing.wire()) == pricing
    carbon = CarbonSettings.model_validate({"gramsPerKWh": 300, "pue": 1.2})
    assert carbon.wire() == {"gramsPerKWh": 300.0, "pue": 1.2}


@pytest.mark.parametrize(
    ("model", "data", "where"),
    [
        (Pricing, {"memoryGibHour": 0.01}, "memoryGibHour"),  # near-miss spelling
        (Pricing, {"cpuHour": -1}, "cpuHour"),
        (CarbonSettings, {"pue": 0.9}, "pue"),
        (CarbonSettings, {"gramsPerKWh": -1}, "gramsPerKWh"),
        (EconomicsSpec, {"pricing": {"ramHour": 1}}, "pricing.ramHour"),
    ],
)
def test_bad_wire_input_refused(model: Any, data: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    locations = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert where in locations


def test_trial_economics_wire_names() -> None:
    result = price_trial(
        Resources(vcpu=1, memory_gib=2, gpus=1, gpu_model="Tesla-T4"),
        60,
        DEFAULT,
        cpu_seconds=30,
        region="us-east-1",
    )
    wire = result.wire()
    assert set(wire) == {
        "durationSeconds",
        "cpuSeconds",
        "energyKWh",
        "carbonGrams",
        "costUSD",
        "source",
        "vcpu",
        "memoryGiB",
        "gpus",
        "gpuModel",
        "gramsPerKWh",
        "pue",
        "region",
        "sources",
    }
    assert wire["sources"] == {
        "energy": {"source": "estimated", "detail": "power model from measured CPU time"},
        "prices": {"source": "configured"},
        "intensity": {"source": "configured"},
    }
    assert TrialEconomics.model_validate(wire) == result
    with pytest.raises(ValidationError):
        TrialEconomics.model_validate({**wire, "source": "guessed"})


def test_add_attempt_sums_what_every_attempt_cost() -> None:
    from tradeoff.economics import add_attempt

    config = EconomicsConfig.default()
    first = price_trial(Resources(vcpu=1, memory_gib=1), 60, config)
    second = price_trial(Resources(vcpu=1, memory_gib=1), 30, config, cpu_seconds=20)
    assert add_attempt(None, first) == first
    total = add_attempt(first, second)
    assert total.duration_seconds == 90
    assert total.cost_usd == pytest.approx(first.cost_usd + second.cost_usd)
    assert total.carbon_grams == pytest.approx(first.carbon_grams + second.carbon_grams)
    assert total.cpu_seconds == 20 and total.source == "measured"
