"""Just enough Kubernetes protobuf to accept kubectl's typed creates (`kubectl create
namespace|configmap|secret|serviceaccount`), which send `application/vnd.kubernetes.protobuf`.

The body is the `k8s\\0` magic plus a `runtime.Unknown` envelope whose `raw` bytes are the
typed object; only the messages and fields below are decoded.
"""

from __future__ import annotations

import base64
from typing import Any

from .errors import ApiError

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# message name -> field number -> (json name, kind); kinds: str, int, bool, bytes, map, mapbytes,
# list:str, or a message name (prefixed "msg:"; "list:msg:" for repeated messages)
SCHEMAS: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "msg:TypeMeta"), 2: ("raw", "bytes")},
    "TypeMeta": {1: ("apiVersion", "str"), 2: ("kind", "str")},
    "ObjectMeta": {
        1: ("name", "str"),
        2: ("generateName", "str"),
        3: ("namespace", "str"),
        11: ("labels", "map"),
        12: ("annotations", "map"),
        13: ("ownerReferences", "list:msg:OwnerReference"),
        14: ("finalizers", "list:str"),
    },
    "OwnerReference": {
        1: ("kind", "str"),
        3: ("name", "str"),
        4: ("uid", "str"),
        5: ("apiVersion", "str"),
        6: ("controller", "bool"),
        7: ("blockOwnerDeletion", "bool"),
    },
    "LocalObjectReference": {1: ("name", "str")},
    "NamespaceSpec": {1: ("finalizers", "list:str")},
    "Namespace": {1: ("metadata", "msg:ObjectMeta"), 2: ("spec", "msg:NamespaceSpec")},
    "ConfigMap": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("data", "map"),
        3: ("binaryData", "mapbytes"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("data", "mapbytes"),
        3: ("type", "str"),
        4: ("stringData", "map"),
        5: ("immutable", "bool"),
    },
    "ServiceAccount": {
        1: ("metadata", "msg:ObjectMeta"),
        3: ("imagePullSecrets", "list:msg:LocalObjectReference"),
        4: ("automountServiceAccountToken", "bool"),
    },
}


TOP_LEVEL = frozenset({"Namespace", "ConfigMap", "Secret", "ServiceAccount"})


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Wire-level (field number, value) pairs; varints as int, length-delimited as bytes."""
    fields: list[tuple[int, int | bytes]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            fields.append((number, value))
        elif wire == 2:
            length, position = _varint(data, position)
            fields.append((number, data[position : position + length]))
            position += length
        elif wire == 1:
            position += 8
        elif wire == 5:
            position += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return fields


def _map_entry(raw: bytes, as_bytes: bool) -> tuple[str, str]:
    entry = dict(_fields(raw))
    key, value = entry.get(1, b""), entry.get(2, b"")
    assert isinstance(key, bytes) and isinstance(value, bytes)
    text = base64.b64encode(value).decode() if as_bytes else value.decode()
    return key.decode(), text


def decode_message(data: bytes, name: str) -> dict[str, Any]:
    schema = SCHEMAS[name]
    result: dict[str, Any] = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        field, kind = schema[number]
        if kind in ("map", "mapbytes"):
            assert isinstance(value, bytes)
            key, text = _map_entry(value, kind == "mapbytes")
            result.setdefault(field, {})[key] = text
        elif kind.startswith("list:"):
            item_kind = kind.removeprefix("list:")
            assert isinstance(value, bytes)
            item: Any = (
                value.decode() if item_kind == "str" else decode_message(value, item_kind[4:])
            )
            result.setdefault(field, []).append(item)
        elif kind.startswith("msg:"):
            assert isinstance(value, bytes)
            result[field] = decode_message(value, kind[4:])
        elif kind == "str":
            assert isinstance(value, bytes)
            result[field] = value.decode()
        elif kind == "bytes":
            result[field] = value
        elif kind == "bool":
            result[field] = bool(value)
        else:
            result[field] = value
    return result


def decode_object(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a protobuf request body; 415 for kinds not covered."""
    if not body.startswith(MAGIC):
        raise ApiError(415, "the protobuf body does not start with the Kubernetes magic prefix")
    envelope = decode_message(body[len(MAGIC) :], "Unknown")
    type_meta = envelope.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    if kind not in TOP_LEVEL:
        raise ApiError(
            415,
            f"the Kubernetes API emulator cannot decode protobuf {kind or 'objects'}; "
            "send JSON (e.g. kubectl apply -f)",
        )
    obj = decode_message(envelope.get("raw", b""), kind)
    obj["apiVersion"] = type_meta.get("apiVersion", "v1")
    obj["kind"] = kind
    return obj
