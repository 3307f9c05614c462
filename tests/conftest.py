"""Settings for the whole suite, made before anything imports the package."""

from __future__ import annotations

import os

import pytest

# The engine checks that adapters log every record change they make (engine/records.py);
# subprocesses (local runs, the operator) inherit it.
os.environ["TRADEOFF_VERIFY_RECORDS"] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the long tests first: with `-n 2`, quick unit tests then fill the end of the
    run instead of one worker finishing a long end-to-end test alone (a stable sort, the
    same on every xdist worker)."""
    items.sort(key=_weight)


def _weight(item: pytest.Item) -> int:
    if item.get_closest_marker("slow"):
        return 0
    if item.get_closest_marker("e2e"):
        return 1
    return 3 if "/unit/" in str(item.path) else 2
