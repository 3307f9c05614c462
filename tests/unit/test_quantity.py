"""Kubernetes quantities: every suffix, exponents, plain numbers and bad input."""

from __future__ import annotations

import pytest

from tradeoff.api.quantity import parse_cpu, parse_memory_gib, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500m", 0.5),
        ("2", 2.0),
        ("0.25", 0.25),
        (".5", 0.5),
        ("1.", 1.0),
        ("+3", 3.0),
        ("100n", 100e-9),
        ("250u", 250e-6),
        ("1500m", 1.5),
        ("2k", 2000.0),
        ("3M", 3e6),
        ("4G", 4e9),
        ("5T", 5e12),
        ("6P", 6e15),
        ("7E", 7e18),
        ("1Ki", 1024.0),
        ("1Mi", 1024.0**2),
        ("1Gi", 1024.0**3),
        ("1Ti", 1024.0**4),
        ("1Pi", 1024.0**5),
        ("1Ei", 1024.0**6),
        ("1e3", 1000.0),
        ("1E3", 1000.0),  # "E" followed by digits is an exponent, not exa
        ("25e-2", 0.25),
        ("1.5e+1", 15.0),
        ("-1", -1.0),  # the grammar is signed; cpu/memory refuse it below
        (" 2 ", 2.0),
        (3, 3.0),
        (0.5, 0.5),
    ],
)
def test_parse_quantity(text: str | float, expected: float) -> None:
    assert parse_quantity(text) == pytest.approx(expected, rel=1e-12)


def test_parse_cpu() -> None:
    assert parse_cpu("500m") == 0.5
    assert parse_cpu("2") == 2.0
    assert parse_cpu(4) == 4.0
    assert parse_cpu("100m") == pytest.approx(0.1)


def test_parse_memory_gib() -> None:
    assert parse_memory_gib("512Mi") == 0.5
    assert parse_memory_gib("2Gi") == 2.0
    assert parse_memory_gib("1Ti") == 1024.0
    assert parse_memory_gib(2**30) == 1.0
    # 1G = 10^9 bytes = 10^9 / 2^30 GiB = 0.931322574615...
    assert parse_memory_gib("1G") == pytest.approx(0.9313225746154785)
    assert parse_memory_gib("1e9") == pytest.approx(0.9313225746154785)


@pytest.mark.parametrize(
    "text",
    ["5 cores", "", "m", "1.2.3", "1Ki3", "1KiB", "1mi", "1K", "e3", "1e", "1e3Mi", "1 Gi", "abc"],
)
def test_invalid_quantity_names_the_value(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a Kubernetes quantity: ") as caught:
        parse_quantity(text)
    assert repr(text) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_exact_message() -> None:
    with pytest.raises(ValueError) as caught:
        parse_cpu("5 cores")
    assert str(caught.value) == "not a Kubernetes quantity: '5 cores'"


@pytest.mark.parametrize("value", [True, None, [1], float("nan"), float("inf"), "1e999"])
def test_non_quantities_refused(value: object) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(value)  # type: ignore[arg-type]


def test_negative_resources_refused() -> None:
    with pytest.raises(ValueError, match="CPU quantity must not be negative: '-1'"):
        parse_cpu("-1")
    with pytest.raises(ValueError, match="memory quantity must not be negative"):
        parse_memory_gib("-512Mi")
