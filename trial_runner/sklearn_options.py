"""The command-line options of the built-in scikit-learn workload (`trial_runner.sklearn`).

The datasets, models and scalers it knows, and a parser that checks every value's type
and range before anything is loaded: a bad value exits with code 2 and one line, no
usage block. `trial_runner.pipeline` takes the same options and adds its graph's, with
the same number parsers (`bounded`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["DATASETS", "MODELS", "SCALERS", "bounded", "build_parser"]

DESCRIPTION = "Built-in CASH workload: one scikit-learn classifier on a bundled dataset."

DATASETS = ("digits", "breast_cancer", "wine", "iris", "synthetic")
MODELS = ("logreg", "svm", "knn", "forest", "extra_trees", "boosting", "hist_boosting", "mlp")
SCALERS = ("none", "standard", "minmax", "robust")


class _Parser(argparse.ArgumentParser):
    """Argument parser whose errors are one line (no usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def bounded(
    kind: Callable[[str], Any], low: float, high: float | None = None, low_open: bool = False
) -> Callable[[str], Any]:
    """A parser of a `kind` number within [low, high] (low excluded with `low_open`)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        too_low = value <= low if low_open else value < low
        if too_low or (high is not None and value > high):
            upper = "inf)" if high is None else f"{high}]"
            bounds = f"{'(' if low_open else '['}{low}, {upper}"
            raise argparse.ArgumentTypeError(f"{text!r} is outside {bounds}")
        return value

    return parse


def _gamma(text: str) -> float | str:
    if text in ("scale", "auto"):
        return text
    return float(bounded(float, 0.0, low_open=True)(text))


def _max_depth(text: str) -> int | None:
    if text.lower() in ("none", "0"):
        return None
    return int(bounded(int, 1)(text))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (both ``--a_b`` and ``--a-b`` spellings)."""
    parser = _Parser(prog="trial_runner.sklearn", description=DESCRIPTION)

    def add(name: str, **options: Any) -> None:
        spellings = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        parser.add_argument(*spellings, dest=name, **options)

    add("dataset", choices=DATASETS, default="digits")
    add(
        "n_samples",
        type=bounded(int, 100, 1_000_000),
        default=2000,
        help="samples of the generated 'synthetic' data (other datasets are fixed)",
    )
    add("model", choices=MODELS, default="logreg")
    add("scaler", choices=SCALERS, default="standard")
    add(
        "pca",
        type=bounded(float, 0.0, 1.0),
        default=0.0,
        help="fraction of variance to keep (0: no PCA, 1: all components)",
    )
    add("data_fraction", type=bounded(float, 0.0, 1.0, low_open=True), default=1.0)
    add("test_size", type=bounded(float, 0.0, 0.9, low_open=True), default=0.25)
    add("seed", type=bounded(int, 0), default=0)
    add("C", type=bounded(float, 0.0, low_open=True), default=1.0)
    add("gamma", type=_gamma, default="scale")
    add("kernel", choices=("rbf", "linear", "poly", "sigmoid"), default="rbf")
    add("n_neighbors", type=bounded(int, 1), default=5)
    add("weights", choices=("uniform", "distance"), default="uniform")
    add(
        "n_estimators",
        type=bounded(int, 1),
        default=None,
        help="trees or stages (boosting: 50, others: 100 by default)",
    )
    add("max_depth", type=_max_depth, default=None, help="tree depth; 'none' for unlimited")
    add("min_samples_leaf", type=bounded(int, 1), default=1)
    add(
        "learning_rate",
        type=bounded(float, 0.0, low_open=True),
        default=None,
        help="boosting: 0.1, mlp: 0.001 by default",
    )
    add("hidden_units", type=bounded(int, 1), default=64)
    add("layers", type=bounded(int, 1, 8), default=1)
    add("alpha", type=bounded(float, 0.0), default=1e-4)
    add("epochs", type=bounded(int, 1), default=30)
    add("batch_size", type=bounded(int, 1), default=32, help="mlp minibatch size")
    add(
        "predictions",
        choices=("proba", "labels", "none"),
        default="proba",
        help="held-out predictions saved as predictions.csv: with class probabilities"
        " (where the model has them), labels only, or none",
    )
    return parser
