"""Reading Study manifests: the file and its YAML, then the structure the models check.

This is the first of the two phases of validation; the engine's checks (can the algorithm
and the pruner run this spec?) are the second. `tradeoff.engine.validation.validate_study`
runs both and is what every caller uses.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tradeoff.api.checks import parse_fields
from tradeoff.api.errors import ManifestError, format_validation_error
from tradeoff.api.guarded_yaml import GuardedLoader, check_depth
from tradeoff.api.study import API_VERSION, Study, StudySpec

ENGINE_FIELDS = ("objectives", "parameters", "algorithm", "budget", "early_stopping")
"""The spec fields the engine's checks read."""

MAX_MANIFEST_BYTES = 3 * 2**20
"""Larger files are refused unread: the API server takes at most 3 MiB in one request."""


def check_structure(document: Any, source: str = "") -> Study:
    """The document as a Study, or ManifestError listing every problem the models find."""
    where = f"{source}: " if source else ""
    if not isinstance(document, dict):
        kind = {"list": "a list", "str": "a string"}.get(
            type(document).__name__, type(document).__name__
        )
        raise ManifestError([f"{where}expected a Study mapping (got {kind})"])
    problems: list[str] = []
    if document.get("apiVersion") != API_VERSION:
        problems.append(
            f"{where}apiVersion: must be {API_VERSION} (got {document.get('apiVersion')!r})"
        )
    if document.get("kind") != "Study":
        problems.append(f"{where}kind: must be Study (got {document.get('kind')!r})")
    if problems:
        raise ManifestError(problems)
    try:
        return Study.model_validate(document)
    except ValidationError as exc:
        raise ManifestError(
            [where + line for line in format_validation_error(exc, Study)]
        ) from None


def spec_draft(document: Any) -> StudySpec | None:
    """The spec of a document that failed validation, as far as the engine's checks read it.

    Built without validation from the `ENGINE_FIELDS` that parse (one that does not takes
    its default) when the objectives and parameters parse; None otherwise. It lets the
    engine report its problems alongside the structural ones; nothing runs from a draft.
    """
    spec = document.get("spec") if isinstance(document, dict) else None
    if not isinstance(spec, dict):
        return None
    fields = parse_fields(StudySpec, spec, ENGINE_FIELDS)
    if "objectives" not in fields or "parameters" not in fields:
        return None
    return StudySpec.model_construct(**fields)


class _KubectlLoader(GuardedLoader):
    """PyYAML's safe loader (with the bounds of `GuardedLoader`), reading booleans as
    kubectl does (YAML 1.1 in full): PyYAML keeps `y`, `Y`, `n` and `N` strings, kubectl
    makes them true and false, so a manifest `tradeoff run` accepted could be refused by
    the API server."""


class _KubectlDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting the strings kubectl would read as booleans."""


_KUBECTL_BOOLS = re.compile(r"^(?:y|Y|n|N)$")
for _cls in (_KubectlLoader, _KubectlDumper):
    _cls.add_implicit_resolver("tag:yaml.org,2002:bool", _KUBECTL_BOOLS, list("yYnN"))


def _bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("y", "yes", "true", "on")


_KubectlLoader.add_constructor("tag:yaml.org,2002:bool", _bool)


def dump_yaml(data: Any, **options: Any) -> str:
    """YAML for a manifest or a value, read back the same by kubectl and `read_documents`
    (a string `y` is written quoted)."""
    return str(yaml.dump(data, Dumper=_KubectlDumper, **options))


def read_capped(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path`` read as a user names it (a pipe of the shell's
    ``<(...)`` too); an ``OSError`` (``EFBIG``) saying so if there are more (``/dev/zero``)."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"
        raise OSError(errno.EFBIG, f"larger than {size}", str(path))
    return data


def read_documents(path: str | Path) -> list[Any]:
    """The YAML documents of a file (at least one), or ManifestError in one line."""
    file = Path(path)
    try:
        text = read_capped(file, MAX_MANIFEST_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ManifestError([f"{file}: no such file"]) from None
    except IsADirectoryError:
        raise ManifestError([f"{file}: is a directory, not a manifest"]) from None
    except UnicodeDecodeError:
        raise ManifestError([f"{file}: not a text file (UTF-8 expected)"]) from None
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            limit = MAX_MANIFEST_BYTES >> 20
            raise ManifestError(
                [f"{file}: larger than {limit} MiB, the most a manifest may be"]
            ) from None
        raise ManifestError([f"{file}: cannot read ({exc.strerror or exc})"]) from None
    try:
        check_depth(text)
        documents = [d for d in yaml.load_all(text, _KubectlLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError([f"{file}: {at}YAML syntax error: {problem}"]) from None
    if not documents:
        raise ManifestError([f"{file}: the file is empty"])
    return documents


def read_manifest(path: str | Path) -> Any:
    """The Study document in a YAML file: its one document of kind Study, else its first
    document. A file of several Studies is refused (one would run, the others silently not)."""
    documents = read_documents(path)
    studies = [d for d in documents if isinstance(d, dict) and d.get("kind") == "Study"]
    if len(studies) > 1:
        names = ", ".join(str((s.get("metadata") or {}).get("name", "?"))[:60] for s in studies[:5])
        more = f" and {len(studies) - 5} more" if len(studies) > 5 else ""
        raise ManifestError(
            [f"{path}: holds {len(studies)} Studies ({names}{more}): put each in a file of its own"]
        )
    return studies[0] if studies else documents[0]
