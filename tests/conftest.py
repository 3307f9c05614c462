"""Settings for the whole suite, made before anything imports the package."""

from __future__ import annotations

import os

# The engine checks that adapters log every record change they make (engine/records.py);
# subprocesses (local runs, the operator) inherit it.
os.environ["TRADEOFF_VERIFY_RECORDS"] = "1"
