"""The Grafana dashboard: its queries use only the operator's families, and parse as PromQL."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tradeoff.metrics import PrometheusObserver

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "charts" / "tradeoff" / "dashboards" / "tradeoff.json"
)
VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def board() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in board()["panels"] if p["type"] != "row"]


def expressions() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def variable_queries() -> dict[str, str]:
    return {
        v["name"]: v["query"]["query"]
        for v in board()["templating"]["list"]
        if v["type"] == "query"
    }


def family_names() -> set[str]:
    """Every sample name the observer can expose (histogram and counter suffixes included)."""
    registry = CollectorRegistry()
    PrometheusObserver(registry)
    names = set()
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
    return names


def test_every_query_uses_only_the_observers_families() -> None:
    known = family_names()
    queries = expressions() + list(variable_queries().values())
    assert len(queries) >= 15
    for query in queries:
        used = set(re.findall(r"\btradeoff_[a-z_]+", query))
        assert used, query
        assert used <= known, f"{query}: unknown {sorted(used - known)}"


def test_the_dashboard_covers_every_family() -> None:
    used = {n for q in expressions() for n in re.findall(r"\btradeoff_[a-z_]+", q)}
    stems = {re.sub(r"_(bucket|total)$", "", n) for n in used}
    expected = {
        "tradeoff_studies", "tradeoff_trials", "tradeoff_trials_finished",
        "tradeoff_trial_duration_seconds", "tradeoff_best_value", "tradeoff_hypervolume",
        "tradeoff_pareto_front_size", "tradeoff_study_cost_usd", "tradeoff_study_energy_kwh",
        "tradeoff_study_carbon_grams", "tradeoff_pareto_point", "tradeoff_sampler_suggest_seconds",
        "tradeoff_reconcile_errors", "tradeoff_study_info", "tradeoff_parameter_importance",
    }  # fmt: skip
    assert stems == expected


def test_variables_and_layout() -> None:
    defined = {v["name"] for v in board()["templating"]["list"]}
    assert {"datasource", "namespace", "study", "x_objective", "y_objective"} <= defined
    for text in expressions() + list(variable_queries().values()):
        for name in VARIABLE.findall(text):
            assert name in defined or name.startswith("__"), f"{text}: ${name} is not defined"
    ids = [p["id"] for p in board()["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in board()["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not mine & cells, f"panel {p['title']} overlaps another"
        cells |= mine


def test_the_pareto_front_is_an_xy_chart_of_two_objectives() -> None:
    (xy,) = [p for p in panels() if p["type"] == "xychart"]
    exprs = [t["expr"] for t in xy["targets"]]
    assert len(exprs) == 2 and all("tradeoff_pareto_point" in e for e in exprs)
    assert 'objective="$x_objective"' in exprs[0] and 'objective="$y_objective"' in exprs[1]
    assert all(t["format"] == "table" and t["instant"] for t in xy["targets"])
    assert xy["transformations"][0] == {
        "id": "joinByField",
        "options": {"byField": "point", "mode": "outer"},
    }
    assert xy["repeat"] == "study"
    # Two different default axes: ascending and descending order of the objective names.
    sorts = {
        v["name"]: v["sort"] for v in board()["templating"]["list"] if "objective" in v["name"]
    }
    assert sorts == {"x_objective": 1, "y_objective": 2}


def test_histogram_quantiles_keep_the_le_label() -> None:
    for expr in expressions():
        if "histogram_quantile" in expr:
            assert re.search(r"sum by \((le, \w+|\w+, le)\)", expr), expr


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed"
)
def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (templating variables substituted) as a recording rule."""
    substitutions = {
        "namespace": "ns", "study": "demo", "x_objective": "accuracy", "y_objective": "cost",
        "__rate_interval": "1m", "__interval": "15s", "__range": "1h",
    }  # fmt: skip

    def concrete(expr: str) -> str:
        return VARIABLE.sub(lambda m: substitutions[m[1]], expr)

    rules = [
        {"record": f"dashboard:query_{i}", "expr": concrete(e)} for i, e in enumerate(expressions())
    ]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout
