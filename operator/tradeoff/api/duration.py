"""Durations written the Kubernetes way: `90s`, `10m`, `1h30m`, or a number of seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DURATION_SECONDS = 3650 * 86400.0
"""Ten years: longer would overflow the clock's arithmetic (a date past the year 9999)."""
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$|^[0-9]+$"


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`; raises ValueError naming the bad text."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"must be a positive duration (got {text})")
        return _at_most_max(float(text), text)
    value = str(text).strip()
    if value.isdigit():
        seconds = float(value)
    else:
        pos, seconds = 0, 0.0
        for match in _PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos != len(value) or not value:
            raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 10m, 1h30m)")
    if seconds <= 0:
        raise ValueError(f"must be a positive duration (got {value!r})")
    return _at_most_max(seconds, value)


def _at_most_max(seconds: float, text: object) -> float:
    if not seconds <= MAX_DURATION_SECONDS:
        raise ValueError(f"must be at most 3650d, ten years (got {text!r})")
    return seconds


def _check(value: str) -> str:
    parse_duration(value)
    return value


def _from_number(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a duration such as 90s, 10m or 1h30m (got {value!r})")
    return value


Duration = Annotated[
    str,
    BeforeValidator(_from_number),
    AfterValidator(_check),
    # A whole number of seconds is accepted too, so the CRD takes an int or a string.
    Field(json_schema_extra={"pattern": DURATION_PATTERN, "x-kubernetes-int-or-string": True}),
]
"""A duration string, checked on validation; `parse_duration` turns it into seconds."""
