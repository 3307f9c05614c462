"""A YAML loader for untrusted manifests: PyYAML's safe loader, with bounds.

The safe loader already refuses tags that would run code (`!!python/object`). This one
also refuses, as a YAML error with its line and column, what would take the reader's
memory or time out of proportion to the file or surprise its author:

- aliases that expand to far more values than the file holds ("billion laughs"): PyYAML
  shares an aliased value, but everything that walks the document walks every copy;
- a key given twice in one mapping (kubectl refuses it too; PyYAML keeps the last);
- integers too long to convert (Python refuses more than 4300 digits, with a traceback).

- nesting deeper than `MAX_DEPTH` (libyaml's composer recurses in C and crashes the
  process on a million brackets): `check_depth` reads the events first, without recursion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "GuardedLoader", "check_depth"]

MAX_DEPTH = 100
"""Deeper nesting is refused: a pod spec nests about 10 levels deep."""

MAX_INT_DIGITS = 100
"""Longer integers are refused: no field takes one (int64 has 19 digits)."""

ALIAS_EXPANSION_RATIO = 10
ALIAS_EXPANSION_FLOOR = 10_000
"""A document may expand, through its aliases, to at most ratio x its distinct values + floor."""

_MERGE = "tag:yaml.org,2002:merge"

# libyaml's parser where PyYAML was built with it: ten times faster than the pure-Python one.
if TYPE_CHECKING:
    _Base = yaml.SafeLoader
else:
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _expanded_size(root: Node) -> tuple[int, int]:
    """(values counting every alias as a copy, distinct values) under `root`, in linear time."""
    size: dict[int, int] = {}
    order: list[Node] = []
    stack: list[Node] = [root]
    while stack:  # distinct nodes, parents before children
        node = stack.pop()
        if id(node) in size:
            continue
        size[id(node)] = 0
        order.append(node)
        stack.extend(_children(node))
    for node in reversed(order):  # children before parents (the graph is acyclic)
        size[id(node)] = 1 + sum(size[id(child)] for child in _children(node))
    return size[id(root)], len(order)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_depth(text: str) -> None:
    """Raise a YAMLError at the first collection nested deeper than `MAX_DEPTH`."""
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark: Any = event.start_mark  # libyaml's Mark has the fields of PyYAML's
                raise ConstructorError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", mark
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class GuardedLoader(_Base):
    """PyYAML's SafeLoader that refuses alias bombs, duplicate keys and huge integers."""

    def construct_document(self, node: Node) -> Any:
        expanded, distinct = _expanded_size(node)
        if expanded > ALIAS_EXPANSION_RATIO * distinct + ALIAS_EXPANSION_FLOOR:
            raise ConstructorError(
                None,
                None,
                f"aliases expand the document to {expanded:,} values (it holds {distinct:,}); "
                "write the values out",
                node.start_mark,
            )
        return super().construct_document(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"key {key_node.value!r} is given twice",
                        key_node.start_mark,
                    )
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise ConstructorError(
                None,
                None,
                f"an integer of {digits:,} digits is too long (at most {MAX_INT_DIGITS})",
                node.start_mark,
            )
        return int(super().construct_yaml_int(node))


GuardedLoader.add_constructor("tag:yaml.org,2002:int", GuardedLoader.construct_yaml_int)
