"""Built-in CASH workload: one scikit-learn classifier on a bundled dataset.

Run as ``python -m trial_runner.sklearn --dataset=digits --model=svm --C=3``.
Options that do not apply to the chosen model are accepted and ignored; a bad
value exits with code 2 and a one-line message. Reports the held-out
``accuracy`` (also per epoch or stage, with ``step``, for iterative models),
``balanced_accuracy``, ``fit_seconds``, ``model_size_bytes`` (the pickled
fitted pipeline) and ``n_train``, and saves the held-out predictions as the
artifact ``predictions.csv``: ``index,y_true,y_pred`` and, with ``--predictions
proba`` (the default) where the model has them, one ``proba_<class>`` column per
class; the held-out set depends only on ``--dataset``, ``--seed`` and
``--test_size``, so the rows of trials sharing them align. Nothing is
downloaded; runs are deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import csv
import io
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from trial_runner import report, save_artifact
from trial_runner.s3 import S3Error
from trial_runner.sklearn_options import build_parser

__all__ = ["build_parser", "held_out", "main", "predictions_csv", "run"]

REPORTS_PER_RUN = 10


def held_out(pipeline: Any, x_test: Any, proba: bool) -> tuple[Any, Any]:
    """(predicted labels, class probabilities or None) on the held-out set, in one pass.

    With probabilities the labels are their argmax over the sorted classes, which is what
    each of these models predicts (the same ties too), so k-NN is not queried twice.
    """
    if proba and hasattr(pipeline, "predict_proba"):  # not an SVM: it has no probabilities
        probabilities = pipeline.predict_proba(x_test)
        return pipeline.classes_[probabilities.argmax(axis=1)], probabilities
    return pipeline.predict(x_test), None


def predictions_csv(classes: Any, y_test: Any, predicted: Any, probabilities: Any) -> bytes:
    """The held-out predictions as CSV: index, true and predicted label (and probabilities)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["index", "y_true", "y_pred"]
    if probabilities is not None:
        header += [f"proba_{c}" for c in classes]
    writer.writerow(header)
    for i, (truth, guess) in enumerate(zip(y_test, predicted, strict=True)):
        row = [i, truth, guess]
        if probabilities is not None:
            row += [f"{p:.6g}" for p in probabilities[i]]
        writer.writerow(row)
    return out.getvalue().encode()


def _load(dataset: str, seed: int, n_samples: int) -> tuple[Any, Any]:
    from sklearn import datasets

    if dataset == "synthetic":
        features, labels = datasets.make_classification(
            n_samples=n_samples, n_features=20, n_informative=10, n_classes=3, random_state=seed
        )
        return features, labels
    loaders = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
    }
    features, labels = loaders[dataset](return_X_y=True)
    return features, labels


def _split(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    import numpy as np
    from sklearn.model_selection import train_test_split

    features, labels = _load(args.dataset, args.seed, args.n_samples)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=args.test_size, stratify=labels, random_state=args.seed
    )
    n_classes = len(np.unique(y_train))
    keep = max(n_classes, round(args.data_fraction * len(y_train)))
    # A stratified split must leave at least one sample per class on each side.
    if keep <= len(y_train) - n_classes:
        x_train, _, y_train, _ = train_test_split(
            x_train, y_train, train_size=keep, stratify=y_train, random_state=args.seed
        )
    return x_train, x_test, y_train, y_test


def _preprocessing(args: argparse.Namespace) -> list[tuple[str, Any]]:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    steps: list[tuple[str, Any]] = []
    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    if args.scaler in scalers:
        steps.append(("scaler", scalers[args.scaler]()))
    if args.pca > 0:
        components = None if args.pca >= 1.0 else args.pca
        steps.append(("pca", PCA(n_components=components, svd_solver="full")))
    return steps


def _estimator(args: argparse.Namespace) -> Any:
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm

    if args.n_estimators is None:
        args.n_estimators = 50 if args.model == "boosting" else 100
    rate = args.learning_rate
    forest_options = {
        "n_estimators": args.n_estimators,
        "max_depth": args.max_depth,
        "min_samples_leaf": args.min_samples_leaf,
        "random_state": args.seed,
        "n_jobs": 1,
    }
    factories: dict[str, Callable[[], Any]] = {
        "logreg": lambda: linear_model.LogisticRegression(C=args.C, max_iter=500),
        "svm": lambda: svm.SVC(C=args.C, gamma=args.gamma, kernel=args.kernel),
        "knn": lambda: neighbors.KNeighborsClassifier(args.n_neighbors, weights=args.weights),
        "forest": lambda: ensemble.RandomForestClassifier(**forest_options),
        "extra_trees": lambda: ensemble.ExtraTreesClassifier(**forest_options),
        "boosting": lambda: ensemble.GradientBoostingClassifier(
            n_estimators=args.n_estimators,
            learning_rate=rate or 0.1,
            max_depth=args.max_depth or 3,
            min_samples_leaf=args.min_samples_leaf,
            random_state=args.seed,
        ),
        "hist_boosting": lambda: ensemble.HistGradientBoostingClassifier(
            max_iter=args.n_estimators,
            learning_rate=rate or 0.1,
            max_depth=args.max_depth,
            min_samples_leaf=args.min_samples_leaf,
            early_stopping=False,
            random_state=args.seed,
        ),
        "mlp": lambda: neural_network.MLPClassifier(
            hidden_layer_sizes=(args.hidden_units,) * args.layers,
            alpha=args.alpha,
            learning_rate_init=rate or 1e-3,
            batch_size=args.batch_size,
            random_state=args.seed,
        ),
    }
    return factories[args.model]()


def _chunks(total: int) -> list[int]:
    """About ``REPORTS_PER_RUN`` increasing sizes ending at ``total``."""
    step = max(1, -(-total // REPORTS_PER_RUN))
    return [*range(step, total, step), total]


def _fit(model: Any, args: argparse.Namespace, x: Any, y: Any, x_test: Any, y_test: Any) -> float:
    """Fit ``model``, reporting intermediate accuracy; returns the seconds spent fitting."""
    import numpy as np

    def accuracy(predicted: Any) -> float:
        return float(np.mean(predicted == y_test))

    started = time.perf_counter()
    if args.model == "mlp":
        seconds, classes = 0.0, np.unique(y)
        for epoch in range(1, args.epochs + 1):
            started = time.perf_counter()
            model.partial_fit(x, y, classes=classes)
            seconds += time.perf_counter() - started
            report(step=epoch, accuracy=accuracy(model.predict(x_test)), loss=model.loss_)
        return seconds
    if args.model in ("forest", "extra_trees"):
        seconds = 0.0
        model.set_params(warm_start=True)
        for size in _chunks(args.n_estimators):
            started = time.perf_counter()
            model.set_params(n_estimators=size).fit(x, y)
            seconds += time.perf_counter() - started
            report(step=size, accuracy=accuracy(model.predict(x_test)))
        model.set_params(warm_start=False)
        return seconds
    model.fit(x, y)
    seconds = time.perf_counter() - started
    if args.model in ("boosting", "hist_boosting"):
        marks = set(_chunks(args.n_estimators))
        for stage, predicted in enumerate(model.staged_predict(x_test), start=1):
            if stage in marks:
                report(step=stage, accuracy=accuracy(predicted))
    return seconds


def run(args: argparse.Namespace) -> None:
    """Train and evaluate the configured model, reporting its metrics."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import Pipeline

    x_train, x_test, y_train, y_test = _split(args)
    started = time.perf_counter()
    preprocessing = Pipeline(_preprocessing(args) or [("identity", "passthrough")])
    x_fit = preprocessing.fit_transform(x_train)
    seconds = time.perf_counter() - started
    model = _estimator(args)
    seconds += _fit(model, args, x_fit, y_train, preprocessing.transform(x_test), y_test)
    pipeline = Pipeline([*preprocessing.steps, ("model", model)])
    predicted, probabilities = held_out(pipeline, x_test, args.predictions == "proba")
    if args.predictions != "none":
        content = predictions_csv(pipeline.classes_, y_test, predicted, probabilities)
        save_artifact("predictions.csv", content)
    report(
        accuracy=float((predicted == y_test).mean()),
        balanced_accuracy=float(balanced_accuracy_score(y_test, predicted)),
        fit_seconds=seconds,
        model_size_bytes=len(pickle.dumps(pipeline)),
        n_train=len(y_train),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options and run; model errors end with one line on stderr and code 1."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except ValueError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "ValueError"
        print(
            f"trial_runner.sklearn: error: {args.model} on {args.dataset}: {first_line}",
            file=sys.stderr,
        )
        return 1
    except S3Error as error:  # the artifact bucket refused or cannot be reached
        print(f"trial_runner.sklearn: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
