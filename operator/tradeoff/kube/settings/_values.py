"""Parsers of single setting values (ports, addresses, counts, seconds) that name the
flag or variable in their one-line error."""

from __future__ import annotations

import ipaddress

from tradeoff.kube.settings._model import SettingsError


def port(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a port number, got {text!r}") from None
    if not 0 < value < 65536:
        raise SettingsError(f"{name}: a port must be between 1 and 65535, got {value}")
    return value


def address(text: str, name: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise SettingsError(
            f"{name}: expected an IP address such as 127.0.0.1, 0.0.0.0 or ::, got {text!r}"
        ) from None


def count(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {text!r}") from None
    if value < 1:
        raise SettingsError(f"{name}: must be at least 1, got {value}")
    return value


def seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name}: expected seconds, got {text!r}") from None
    if not value > 0:
        raise SettingsError(f"{name}: must be greater than 0, got {text}")
    return value


def flag(text: str, name: str) -> bool:
    """A yes/no setting: true/false (also 1/0, yes/no); empty means no."""
    value = text.strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name}: expected true or false, got {text!r}")
