"""JSON merge patch, JSON patch and an approximation of strategic merge patch.

The patched object is new where the patch changes it and shares the rest with the target
(copying only the changed path is what keeps a patch cheap): the target is never changed,
and the caller copies the result before changing it in place.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, bad_request
from .jsondata import clone

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE, JSON_PATCH, STRATEGIC, APPLY)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _is_named_list(value: Any) -> bool:
    """A list merged by name: objects each with a string `name` (the merge key), as the
    lists of containers, env and volumes are; any other list is replaced."""
    return isinstance(value, list) and all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in value
    )


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Merge patch, except lists of named objects merge by `name`; `$` directives are dropped."""
    if not isinstance(patch, dict):
        return clone(patch)
    if patch.get("$patch") == "replace":
        return {k: clone(v) for k, v in patch.items() if not k.startswith("$")}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif _is_named_list(value) and _is_named_list(result.get(key)) and value:
            merged = {item["name"]: item for item in result[key]}
            for item in value:
                if item.get("$patch") == "delete":
                    merged.pop(item["name"], None)
                else:
                    merged[item["name"]] = strategic_merge_patch(merged.get(item["name"]), item)
            result[key] = list(merged.values())
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r} in json patch")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str, *, writable: bool = False) -> tuple[Any, str]:
    """The container `parts` ends in, and the last key; `writable`: each container on the
    way is replaced by a copy of itself first, so changing it leaves what `doc` shares
    with the patch's target as it was (the top of `doc` must be a copy already)."""
    node = doc
    index: int | str
    for part in parts[:-1]:
        if isinstance(node, list):
            try:
                index = int(part)
                child = node[index]
            except (ValueError, IndexError) as exc:
                raise _missing(path) from exc
        elif isinstance(node, dict) and part in node:
            index, child = part, node[part]
        else:
            raise _missing(path)
        if writable and isinstance(child, dict | list):
            child = node[index] = type(child)(child)
        node = child
    return node, parts[-1]


def _missing(path: str) -> ApiError:
    return ApiError(
        422,
        f"the server rejected our request due to an error in our request: "
        f"jsonpatch: path {path!r} does not exist",
    )


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, key = _parent(doc, parts, path)
    try:
        return parent[int(key)] if isinstance(parent, list) else parent[key]
    except (KeyError, ValueError, IndexError) as exc:
        raise _missing(path) from exc


def _remove(doc: Any, path: str) -> Any:
    parent, key = _parent(doc, _pointer(path), path, writable=True)
    try:
        return parent.pop(int(key)) if isinstance(parent, list) else parent.pop(key)
    except (KeyError, ValueError, IndexError) as exc:
        raise _missing(path) from exc


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, key = _parent(doc, parts, path, writable=True)
    if isinstance(parent, list):
        if replace:
            parent[int(key)] = value
        else:
            parent.insert(len(parent) if key == "-" else int(key), value)
    elif isinstance(parent, dict):
        if replace and key not in parent:
            raise _missing(path)
        parent[key] = value
    else:
        raise _missing(path)
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 operations: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    doc = type(target)(target) if isinstance(target, dict | list) else target
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        if op == "add":
            doc = _add(doc, path, clone(operation.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            doc = _add(doc, path, clone(operation.get("value")), replace=True)
        elif op == "move":
            doc = _add(doc, path, _remove(doc, operation["from"]))
        elif op == "copy":
            doc = _add(doc, path, clone(_get(doc, operation["from"])))
        elif op == "test":
            if _get(doc, path) != operation.get("value"):
                raise ApiError(422, f"the server rejected our request: test failed at {path!r}")
        else:
            raise bad_request(f"unexpected json patch operation {op!r}")
    return doc


def apply_patch(patch_type: str, target: Any, body: Any) -> Any:
    """The patched object for one of the supported content types."""
    if patch_type == JSON_PATCH:
        return json_patch(target, body)
    if patch_type in (STRATEGIC, APPLY):
        return strategic_merge_patch(target, body)
    return merge_patch(target, body)
