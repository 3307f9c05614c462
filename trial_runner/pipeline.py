"""Built-in pipeline workload: a scikit-learn pipeline built as a graph, and how complex it is.

Run as ``python -m trial_runner.pipeline --dataset=digits --features=raw+pca --head=stack
--members=svm+knn --final=logreg``. The graph, from data to prediction:

- a scaler (``--scaler``, as in ``trial_runner.sklearn``);
- feature branches joined side by side (``--features``, ``+``-separated, a FeatureUnion when
  there are several): ``raw`` (the scaled features), ``pca`` (``--pca_components``, a
  fraction of the variance), ``kbest`` (``--kbest_k``, univariate selection), ``poly``
  (degree-2 interactions of the first ``--poly_inputs`` features) and ``nystroem`` (an RBF
  kernel map with ``--nystroem_components``);
- a head (``--head``): ``single`` (the ``--model`` of ``trial_runner.sklearn`` with its
  options), ``vote`` (soft voting over ``--members``) or ``stack`` (``--members`` stacked
  under a ``--final`` estimator, scikit-learn's cross-validated stacking).

The options of ``trial_runner.sklearn`` apply (data, split, seed, scaler and each model
family's own; a member takes the options of its family), except its ``--pca``: here PCA is a
branch. Reports ``accuracy`` and ``balanced_accuracy`` on the held-out split, and the
pipeline's complexity: ``n_steps`` (estimators and transformers in the graph),
``n_features`` (features the head sees), ``inference_ms`` (CPU milliseconds to predict 1000
samples, the best of three), ``model_size_bytes`` (the pickled fitted pipeline),
``fit_seconds`` and ``n_train``; saves the held-out predictions as ``trial_runner.sklearn``
does (``--predictions``). Bad options exit 2 with one line; a graph that cannot be
fitted exits 1 with one line. Nothing is downloaded; runs are deterministic for a seed.
"""

from __future__ import annotations

import argparse
import copy
import pickle
import sys
import time
from collections.abc import Sequence
from typing import Any

from trial_runner import report, save_artifact, sklearn_options
from trial_runner import sklearn as flat
from trial_runner.s3 import S3Error
from trial_runner.sklearn_options import MODELS, bounded

__all__ = ["BRANCHES", "HEADS", "build_parser", "main", "run"]

BRANCHES = ("raw", "pca", "kbest", "poly", "nystroem")
HEADS = ("single", "vote", "stack")
FINALS = ("logreg", "forest", "knn")
INFERENCE_ROWS = 1000


def _parts(kind: str, allowed: Sequence[str]) -> Any:
    """A parser of a ``+``-separated list of distinct names from `allowed`."""

    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split("+")]
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected names joined by '+', each {kind} one of {', '.join(allowed)}"
            )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"{text!r}: a {kind} is named twice")
        return names

    return parse


def build_parser() -> argparse.ArgumentParser:
    """``trial_runner.sklearn``'s options plus the graph's (both spellings of each)."""
    parser = sklearn_options.build_parser()
    parser.prog = "trial_runner.pipeline"
    parser.description = __doc__.split("\n\n")[0] if __doc__ else None

    def add(name: str, **options: Any) -> None:
        spellings = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        parser.add_argument(*spellings, dest=name, **options)

    add("features", type=_parts("feature branch", BRANCHES), default=["raw"])
    add("pca_components", type=bounded(float, 0.0, 1.0, low_open=True), default=0.9)
    add("kbest_k", type=bounded(int, 1), default=20)
    add("poly_inputs", type=bounded(int, 1, 64), default=8)
    add("nystroem_components", type=bounded(int, 1, 2000), default=100)
    add("head", choices=HEADS, default="single")
    add("members", type=_parts("member", MODELS), default=["logreg", "knn"])
    add("final", choices=FINALS, default="logreg")
    return parser


def _branch(name: str, args: argparse.Namespace, n_features: int) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.kernel_approximation import Nystroem
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures

    if name == "raw":
        return "passthrough"
    if name == "pca":
        components = None if args.pca_components >= 1.0 else args.pca_components
        return PCA(n_components=components, svd_solver="full", random_state=args.seed)
    if name == "kbest":
        return SelectKBest(f_classif, k=min(args.kbest_k, n_features))
    if name == "poly":
        inputs = min(args.poly_inputs, n_features)
        first = FunctionTransformer(_first_columns, kw_args={"count": inputs})
        interactions = PolynomialFeatures(degree=2, interaction_only=True, include_bias=False)
        return Pipeline([("first", first), ("interactions", interactions)])
    return Nystroem(n_components=args.nystroem_components, random_state=args.seed)


def _first_columns(x: Any, count: int) -> Any:
    return x[:, :count]


def _member(model: str, args: argparse.Namespace, probabilities: bool = False) -> Any:
    """A member of the given family, with the options of that family; with `probabilities`,
    an SVM is calibrated (soft voting averages probabilities; a stack reads its scores)."""
    from sklearn.calibration import CalibratedClassifierCV

    options = copy.copy(args)
    options.model = model
    estimator = flat._estimator(options)
    if model == "mlp":
        estimator.set_params(max_iter=args.epochs)
    if model == "svm" and probabilities:
        return CalibratedClassifierCV(estimator, ensemble=False)
    return estimator


def graph(args: argparse.Namespace, n_features: int) -> Any:
    """The unfitted pipeline the options describe."""
    from sklearn import ensemble, linear_model, neighbors
    from sklearn.pipeline import FeatureUnion, Pipeline

    steps: list[tuple[str, Any]] = [
        (name, step) for name, step in flat._preprocessing(args) if name == "scaler"
    ]
    branches = [(name, _branch(name, args, n_features)) for name in args.features]
    if branches != [("raw", "passthrough")]:
        steps.append(("features", FeatureUnion(branches) if len(branches) > 1 else branches[0][1]))
    if args.head == "single":
        head = _member(args.model, args)
    else:
        members = [(m, _member(m, args, args.head == "vote")) for m in args.members]
        if args.head == "vote":
            head = ensemble.VotingClassifier(members, voting="soft")
        else:
            finals = {
                "logreg": lambda: linear_model.LogisticRegression(max_iter=500),
                "forest": lambda: ensemble.RandomForestClassifier(
                    n_estimators=100, random_state=args.seed, n_jobs=1
                ),
                "knn": lambda: neighbors.KNeighborsClassifier(),
            }
            head = ensemble.StackingClassifier(members, final_estimator=finals[args.final]())
    steps.append(("model", head))
    return Pipeline(steps)


def count_steps(node: Any) -> int:
    """Estimators and transformers in an unfitted graph; "passthrough" counts none."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(node, str) or node is None:
        return 0
    if isinstance(node, Pipeline):
        return sum(count_steps(step) for _, step in node.steps)
    if isinstance(node, FeatureUnion):
        return sum(count_steps(step) for _, step in node.transformer_list)
    if isinstance(node, StackingClassifier):
        return sum(count_steps(m) for _, m in node.estimators) + count_steps(node.final_estimator)
    if isinstance(node, CalibratedClassifierCV):
        return count_steps(node.estimator)
    if isinstance(node, VotingClassifier):
        return sum(count_steps(m) for _, m in node.estimators)
    return 1


def inference_ms(pipeline: Any, x: Any) -> float:
    """CPU milliseconds to predict `INFERENCE_ROWS` rows (rows of `x` repeated), best of 3."""
    import numpy as np

    rows = np.resize(x, (INFERENCE_ROWS, x.shape[1]))
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        pipeline.predict(rows)
        best = min(best, time.process_time() - started)
    return best * 1000


def run(args: argparse.Namespace) -> None:
    """Fit the graph and report its accuracy and complexity."""
    from sklearn.metrics import balanced_accuracy_score

    x_train, x_test, y_train, y_test = flat._split(args)
    pipeline = graph(args, x_train.shape[1])
    steps = count_steps(pipeline)  # before fitting: a fitted union turns "passthrough" into a step
    started = time.perf_counter()
    pipeline.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started
    predicted, probabilities = flat.held_out(pipeline, x_test, args.predictions == "proba")
    if args.predictions != "none":
        content = flat.predictions_csv(pipeline.classes_, y_test, predicted, probabilities)
        save_artifact("predictions.csv", content)
    head_input = pipeline[:-1].transform(x_test[:1]) if len(pipeline) > 1 else x_test[:1]
    report(
        accuracy=float((predicted == y_test).mean()),
        balanced_accuracy=float(balanced_accuracy_score(y_test, predicted)),
        n_steps=steps,
        n_features=int(head_input.shape[1]),
        inference_ms=inference_ms(pipeline, x_test),
        model_size_bytes=len(pickle.dumps(pipeline)),
        fit_seconds=fit_seconds,
        n_train=len(y_train),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options and run; a graph that cannot be fitted ends with one line and code 1."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except ValueError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "ValueError"
        shape = f"{'+'.join(args.features)} -> {args.head}"
        print(
            f"trial_runner.pipeline: error: {shape} on {args.dataset}: {first_line}",
            file=sys.stderr,
        )
        return 1
    except S3Error as error:  # the artifact bucket refused or cannot be reached
        print(f"trial_runner.pipeline: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
