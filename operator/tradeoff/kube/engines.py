"""One engine per Study, kept between passes, and the key that signs sampler state.

The engine keeps the Optuna study it derives from the records, so passes over a study
cost what changed, not what exists. It is a memo: dropped when the Study's spec changes
(or the Study is replaced), rebuilt from the records when needed. The signing key lives
in a Secret the operator creates in its own namespace, so every replica and every
restart verifies what an earlier one recorded.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kubernetes.client.exceptions import ApiException

from tradeoff.api.study import Study
from tradeoff.engine import Engine
from tradeoff.engine.priors import Source, match
from tradeoff.engine.signing import new_key
from tradeoff.kube.client import Kube

KEY_FIELD = "key"


def load_or_create_key(kube: Kube, namespace: str, name: str) -> bytes:
    """The signing key in Secret `namespace/name`, created with a fresh key if missing."""
    for _ in range(3):
        secret = kube.get_secret(namespace, name)
        if secret is not None:
            data = (secret.get("data") or {}).get(KEY_FIELD)
            if not data:
                raise ValueError(f"Secret {namespace}/{name} has no '{KEY_FIELD}' entry")
            return base64.b64decode(data)
        try:
            kube.create_secret(
                namespace,
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": name,
                        "labels": {"app.kubernetes.io/managed-by": "tradeoff"},
                    },
                    "type": "Opaque",
                    "data": {KEY_FIELD: base64.b64encode(new_key()).decode()},
                },
            )
        except ApiException as error:
            if error.status != 409:  # another replica created it first: read theirs
                raise
    raise RuntimeError(f"Secret {namespace}/{name} could not be read or created")


class Engines:
    """Engines by Study, each behind its own lock (trial drivers and passes share them)."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._engines: dict[tuple[str, str], tuple[str, Engine, threading.Lock]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def use(
        self,
        namespace: str,
        study: Study,
        uid: str,
        algorithm: str,
        sources: Callable[[], list[Source]] | None = None,
    ) -> Iterator[Engine]:
        """The Study's engine, held exclusively for the duration of the block.

        `sources` gives the warm-start sources; it is called only when an engine is made
        (their trials no longer change: see `tradeoff.kube.warmstart`)."""
        identity = f"{uid}:{algorithm}:{study.spec.model_dump_json()}"
        with self._guard:
            kept = self._engines.get((namespace, study.metadata.name))
            if kept is None or kept[0] != identity:
                engine = Engine(
                    study.spec,
                    algorithm,
                    study=study.metadata.name,
                    key=self.key,
                    priors=match(study.spec, sources() if sources else []),
                )
                kept = (identity, engine, threading.Lock())
                self._engines[(namespace, study.metadata.name)] = kept
        with kept[2]:
            yield kept[1]

    def forget(self, namespace: str, name: str) -> None:
        with self._guard:
            self._engines.pop((namespace, name), None)
