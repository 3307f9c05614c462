"""The CRDs in crds/: fresh, structural, and accepting what the operator writes."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel

from tradeoff.api import Study, Trial
from tradeoff.api.crd import HEADER, INT_OR_STRING, PRESERVE, generated_files, main
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.status import (
    Condition,
    FrontPoint,
    Insight,
    Recommendation,
    StudyStatus,
    Totals,
)
from tradeoff.api.trial import StepValue, TrialStatus
from tradeoff.validate import load_study

REPO = Path(__file__).parents[2]
CRDS = REPO / "crds"
MANIFESTS = sorted((REPO / "examples").glob("*.yaml")) + sorted(
    (Path(__file__).parent / "manifests" / "good").glob("*.yaml")
)
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def load_crd(plural: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CRDS / f"{plural}.tradeoff.dev.yaml").read_text())
    return data


def open_api(plural: str) -> dict[str, Any]:
    schema: dict[str, Any] = load_crd(plural)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """A structural OpenAPI node as draft-4 JSON Schema; unknown fields count as errors.

    The API server would prune them silently, which for the operator means lost data.
    """
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get(INT_OR_STRING):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        out["type"] = [*([out["type"]] if isinstance(out["type"], str) else out["type"]), "null"]
    out.pop("default", None)
    if "properties" in node:
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
        if not node.get(PRESERVE):
            out["additionalProperties"] = False
    if "items" in node:
        out["items"] = to_json_schema(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = to_json_schema(node["additionalProperties"])
    return out


def check(plural: str, document: dict[str, Any]) -> None:
    schema = to_json_schema(open_api(plural))
    schema["properties"]["metadata"]["additionalProperties"] = True
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for key, child in (node.get("properties") or {}).items():
        yield from nodes(child, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        yield from nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from nodes(node["additionalProperties"], f"{path}.*")


def test_crds_are_fresh(tmp_path: Path) -> None:
    assert main(argparse.Namespace(output=tmp_path, check=False)) == 0
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert written == {p.name: p.read_bytes() for p in CRDS.glob("*.yaml")}, (
        "crds/ is stale: run `tradeoff crds`"
    )
    assert generated_files() == generated_files()
    assert all(text.startswith(HEADER) for text in generated_files().values())


def test_check_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(output=tmp_path, check=True)
    assert main(args) == 1
    assert main(argparse.Namespace(output=tmp_path, check=False)) == 0
    capsys.readouterr()
    assert main(args) == 0
    stale = tmp_path / "trials.tradeoff.dev.yaml"
    stale.write_text(stale.read_text() + "# edited\n")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "trials.tradeoff.dev.yaml" in err


@pytest.mark.parametrize("plural", ["studies", "trials"])
def test_crd_shape(plural: str) -> None:
    crd = load_crd(plural)
    kubernetes_validate.validate(crd, kubernetes_validate.utils.latest_version(), strict=True)
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{plural}.tradeoff.dev"
    assert (spec["group"], spec["scope"]) == ("tradeoff.dev", "Namespaced")
    assert spec["names"]["plural"] == plural and spec["names"]["categories"] == ["tradeoff"]
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("plural", ["studies", "trials"])
def test_schema_is_structural(plural: str) -> None:
    root = open_api(plural)
    assert root["type"] == "object" and PRESERVE not in root
    assert root["properties"]["metadata"] == {"type": "object"}
    for path, node in nodes(root):
        assert node.get("type") or node.get(PRESERVE) or node.get(INT_OR_STRING), path
        if node.get(INT_OR_STRING):
            assert "type" not in node, path
        for key in ("$ref", "anyOf", "allOf", "oneOf", "const", "title", "$defs"):
            assert key not in node, f"{path}: {key}"
        assert not ("properties" in node and "additionalProperties" in node), path
        assert not isinstance(node.get("additionalProperties"), bool), path
        assert node.get("default", 0) is not None, path
        assert isinstance(node.get("exclusiveMinimum", True), bool), path
        if "default" in node:
            jsonschema.Draft4Validator(to_json_schema(node)).validate(node["default"])


def test_descriptions_are_kept() -> None:
    spec = open_api("studies")["properties"]["spec"]["properties"]
    assert "search space" in spec["parameters"]["description"]
    parameter = spec["parameters"]["items"]["properties"]
    assert parameter["when"]["description"].startswith("Conditional parameter")
    assert parameter["values"]["items"] == {PRESERVE: True}
    assert parameter["step"]["exclusiveMinimum"] is True
    assert spec["budget"]["properties"]["maxTrials"]["minimum"] == 1
    assert spec["objectives"]["minItems"] == 1
    assert spec["trialTemplate"]["properties"]["pod"][PRESERVE] is True


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_manifests_fit_the_schema(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    check("studies", raw)
    check("studies", load_study(path).wire())


def full_study() -> Study:
    study = load_study(MANIFESTS[0])
    study.status = StudyStatus(
        state="Running",
        conditions=[Condition(type="Running", status="True", last_transition_time=NOW)],
        observed_generation=1,
        start_time=NOW,
        progress="12/40",
        pareto_front=[FrontPoint(trial="x-0007", values={"accuracy": 0.97, "cost": 0.0004})],
        recommended=Recommendation(
            trial="x-0007",
            policy="knee",
            parameters={"model": "svm", "C": 1.5, "n": 3, "flag": True},
            values={"accuracy": 0.97},
        ),
        recommended_summary="x-0007 accuracy=0.97",
        hypervolume=0.71,
        totals=Totals(cost_usd=0.01, carbon_grams=17.0, energy_kwh=0.04),
        insights=[
            Insight(
                kind="edge",
                subject="C",
                objective="accuracy",
                message="C: the 4 best trials ...",
                evidence={"side": "high", "best": 980.5, "topTrials": 4},
            )
        ],
        insights_from=10,
    )
    return study


def full_trial() -> Trial:
    trial = Trial.new("x", 7, {"model": "svm", "C": 1.5, "n": 3, "flag": True}, {"gen": [1, 2]})
    trial.status = TrialStatus(
        state="Succeeded",
        conditions=[Condition(type="Succeeded", status="True", reason="Done")],
        pod_name="x-0007-1",
        start_time=NOW,
        completion_time=NOW,
        attempts=1,
        metrics={"accuracy": 0.97},
        intermediate=[StepValue(step=1, value=0.5)],
        last_intermediate={"accuracy": 0.9},
        economics=TrialEconomics(
            duration_seconds=12.0,
            energy_kwh=0.0001,
            carbon_grams=0.05,
            cost_usd=0.0002,
            source="estimated",
            vcpu=1.0,
            memory_gib=0.5,
            grams_per_kwh=475.0,
        ),
        values=[0.97, 0.0002],
        feasible=True,
        violations={"cost": 0.1},
        reason="Completed",
        pruning_state={"rungs": {"0": 0.5}},
    )
    return trial


def test_full_objects_fit_the_schema() -> None:
    check("studies", full_study().wire())
    check("trials", full_trial().wire())
    nulls = full_trial().model_dump(mode="json", by_alias=True)
    check("trials", nulls)  # optional fields written as null are accepted (nullable)


def test_schema_refuses_what_the_models_refuse() -> None:
    study = full_study().wire()
    bad = copy.deepcopy(study)
    bad["spec"]["budget"]["maxTrials"] = 0  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        check("studies", bad)
    bad = copy.deepcopy(study)
    bad["spec"]["algorithm"]["name"] = "bayesian"  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        check("studies", bad)
    bad = copy.deepcopy(study)
    bad["spec"]["budget"]["timeout"] = "ten minutes"  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        check("studies", bad)
    bad = copy.deepcopy(study)
    bad["spec"]["budjet"] = {}  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):  # the API server would prune it
        check("studies", bad)


def field_exists(model: type[BaseModel], path: list[str]) -> bool:
    """Whether a wire path like ['status', 'totals', 'costUSD'] names a model field."""
    current: Any = model
    for part in path:
        fields = {f.alias or n: f for n, f in getattr(current, "model_fields", {}).items()}
        if part not in fields:
            return False
        annotation = fields[part].annotation
        args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
        current = args[0] if len(args) == 1 else annotation
    return True


@pytest.mark.parametrize(("plural", "model"), [("studies", Study), ("trials", Trial)])
def test_printer_columns_point_at_fields(plural: str, model: type[BaseModel]) -> None:
    columns = load_crd(plural)["spec"]["versions"][0]["additionalPrinterColumns"]
    names = [c["name"] for c in columns]
    assert "State" in names and "Age" in names
    for column in columns:
        path = column["jsonPath"].lstrip(".").split(".")
        if path[0] == "metadata":
            assert path == ["metadata", "creationTimestamp"]
            continue
        assert field_exists(model, path), column


def test_printer_columns_read_the_status() -> None:
    study = full_study().wire()
    assert study["status"]["progress"] == "12/40"  # type: ignore[index]
    assert study["status"]["totals"]["costUSD"] == 0.01  # type: ignore[index]
    trial = full_trial().wire()
    assert trial["status"]["economics"]["costUSD"] == 0.0002  # type: ignore[index]
    assert trial["status"]["podName"] == "x-0007-1"  # type: ignore[index]
