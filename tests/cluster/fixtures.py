"""pytest fixtures for the cluster harness; import them in a conftest.py:

from tests.cluster.fixtures import cluster  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Cluster


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A fresh emulated cluster (API emulator + local kubelet + the repo's CRDs)."""
    with Cluster() as running:
        yield running
