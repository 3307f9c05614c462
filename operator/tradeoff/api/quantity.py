"""Kubernetes resource quantities (``500m``, ``2``, ``512Mi``, ``1e3``) as plain numbers.

The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource``: a signed decimal
number followed by an optional binary-SI suffix (``Ki`` .. ``Ei``), decimal-SI suffix
(``n``, ``u``, ``m``, ``k``, ``M`` .. ``E``) or decimal exponent (``e3``, ``E-2``).
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_cpu", "parse_memory_gib", "parse_quantity"]

_BINARY_SI = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SI = {
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<exponent>[eE][+-]?[0-9]+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?))"
)
_GIB = 2**30


def parse_quantity(value: str | int | float) -> float:
    """The numeric value of a Kubernetes quantity (``"1500m"`` -> 1.5, ``"1Ki"`` -> 1024)."""
    if isinstance(value, bool):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = _QUANTITY.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"not a Kubernetes quantity: {value!r}")
        number = float(match["number"] + (match["exponent"] or ""))
        if match["suffix"] in _BINARY_SI:
            number *= _BINARY_SI[match["suffix"]]
        elif match["suffix"] is not None:
            number *= _DECIMAL_SI[match["suffix"]]
    else:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    if not math.isfinite(number):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return number


def _non_negative(value: str | int | float, what: str) -> float:
    number = parse_quantity(value)
    if number < 0:
        raise ValueError(f"{what} must not be negative: {value!r}")
    return number


def parse_cpu(value: str | int | float) -> float:
    """CPU quantity in cores (vCPU): ``"500m"`` -> 0.5, ``"2"`` -> 2.0."""
    return _non_negative(value, "a CPU quantity")


def parse_memory_gib(value: str | int | float) -> float:
    """Memory quantity in GiB: ``"512Mi"`` -> 0.5, ``"1G"`` -> 0.931..., ``1073741824`` -> 1.0."""
    return _non_negative(value, "a memory quantity") / _GIB
