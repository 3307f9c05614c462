"""Sampler and pruning state on records is authenticated: only state this engine's key
signed is used.

Optuna keeps some sampler state in trial attributes, and CMA-ES keeps its optimizer there
as a pickle. A record is data written to a store others may touch, so the state it carries
is signed (HMAC-SHA256 over the study, the trial number and the state) when the engine
proposes the trial, and a record whose state does not verify is used without it: its
parameters and results still count, its state never reaches a deserialiser. The pruner's
state (successive-halving rungs, which Optuna's pruners compare as numbers) is signed the
same way each time the engine decides on a running trial.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any

SIGNATURE = "signature"
KEY_BYTES = 32


def unsigned_line(trial: str, what: str = "sampler state") -> str:
    """What the adapters say of a record whose sampler (or pruning) state did not verify."""
    return (
        f"trial {trial}: its {what} is not signed by this study's key; the trial"
        f" counts, its {what} is ignored"
    )


def pruning_label(study: str) -> str:
    """What pruning state is signed for: not the study's name, so that a record's signed
    sampler state copied into its pruning state does not verify (no study name has a #)."""
    return f"{study}#pruning"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=True)


def _quick_canonical() -> Callable[[Any], str]:
    """`_CANONICAL.encode` for state read from records, without the encoder it builds per
    call: json's C encoder made once (no cycle check: state from a record has no cycles,
    and one in a state made here ends in RecursionError, which fails verification)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _CANONICAL.encode
    encode = make(
        None, _CANONICAL.default, json.encoder.encode_basestring_ascii, None, ":", ",",
        True, False, True,
    )  # fmt: skip
    return lambda value: "".join(encode(value, 0))


_ENCODE = _quick_canonical()


def _digest(key: bytes, study: str, number: int, state: Mapping[str, Any]) -> str:
    body = _CANONICAL.encode({"study": study, "number": number, "state": state})
    return hmac.digest(key, body.encode(), "sha256").hex()


def sign(key: bytes, study: str, number: int, state: Mapping[str, Any]) -> dict[str, Any]:
    """`state` with its signature added (an empty state stays empty)."""
    if not state:
        return {}
    return {**state, SIGNATURE: _digest(key, study, number, state)}


def verified(
    key: bytes, study: str, number: int, signed: Mapping[str, Any]
) -> tuple[dict[str, Any], bool]:
    """(the state without its signature, whether it verified); unverified state is empty."""
    return _verified(signed, lambda state: _digest(key, study, number, state))


class Verifier:
    """`verified` for one key and study, cheaper per record (a cold rebuild verifies every
    record): HMAC-SHA256's inner and outer hashes keyed once (RFC 2104, as the `hmac`
    module keys them) and copied per record, the study's JSON made once, one call."""

    def __init__(self, key: bytes, study: str) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self._study = _CANONICAL.encode(study)

    def digest(self, number: int, state: Mapping[str, Any]) -> str:
        """`_digest(key, study, number, state)`: the same canonical JSON, keys sorted."""
        body = '{"number":%d,"state":%s,"study":%s}' % (  # noqa: UP031
            number,
            _ENCODE(state),
            self._study,
        )
        inner = self._inner.copy()
        inner.update(body.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def sign(self, number: int, state: Mapping[str, Any]) -> dict[str, Any]:
        """`sign(key, study, number, state)`."""
        return {**state, SIGNATURE: self.digest(number, state)} if state else {}

    def verified(self, number: int, signed: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the state without its signature, whether it verified); unverified state is
        empty. `_verified` with `digest`, in one call."""
        if not signed:
            return {}, True
        state = dict(signed)
        given = state.pop(SIGNATURE, None)
        try:
            ok = isinstance(given, str) and hmac.compare_digest(given, self.digest(number, state))
        except (TypeError, ValueError, RecursionError):  # not JSON: certainly not ours
            ok = False
        return (state, True) if ok else ({}, False)


def _verified(
    signed: Mapping[str, Any], digest: Callable[[dict[str, Any]], str]
) -> tuple[dict[str, Any], bool]:
    if not signed:
        return {}, True
    state = {k: v for k, v in signed.items() if k != SIGNATURE}
    given = signed.get(SIGNATURE)
    try:
        ok = isinstance(given, str) and hmac.compare_digest(given, digest(state))
    except (TypeError, ValueError, RecursionError):  # not JSON: certainly not ours
        ok = False
    return (state, True) if ok else ({}, False)
