from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.fixtures import cluster
from tests.cluster.harness import DATA, Cluster

__all__ = ["cluster", "widgets"]


@pytest.fixture
def widgets(cluster: Cluster) -> Iterator[Cluster]:
    """A cluster that also serves the harness's test CRD (`widgets.example.dev`)."""
    cluster.load_yaml(DATA / "widget-crd.yaml")
    yield cluster
