"""Canonical hashing and number formatting shared by manifests and gate evidence.

The lane's convention (lane-contract.md): ``H(x) = sha256(json.dumps(x, sort_keys=True,
separators=(",", ":"), ensure_ascii=True).encode("utf-8")).hexdigest()``. Numbers inside evidence
records are decimal strings with no exponent, so hashes never depend on float formatting.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import orjson

DECIMAL_PLACES = 10


def canonical_json(x: Any) -> str:
    """``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``."""
    return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def H(x: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``x`` (UTF-8)."""
    return hashlib.sha256(canonical_json(x).encode("utf-8")).hexdigest()


def text_hashes(texts: list[str]) -> list[str]:
    """``H(t)`` of every string ``t``: the canonical JSON of a string is its ASCII-escaped literal."""
    return [hashlib.sha256(encode_basestring_ascii(t).encode("ascii")).hexdigest() for t in texts]


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of raw bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decimal_str(x: float | int | None, places: int = DECIMAL_PLACES) -> str | None:
    """Format a number as a plain decimal string: rounded half-even to ``places`` decimals,
    trailing zeros stripped, no exponent, ``"0"`` for zero (and for -0). ``None`` stays ``None``.

    Raises ``ValueError`` for NaN or infinity (evidence never carries them) and for a number too large
    to write at that precision (input validation keeps prices far below that).
    """
    if x is None:
        return None
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"non-finite number {x!r} cannot be written as evidence")
    try:
        q = Decimal(repr(float(x)) if isinstance(x, float) else int(x)).quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        raise ValueError(f"number {x!r} is too large to write with {places} decimals as evidence") from None
    s = format(q, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", ""):
        s = "0"
    return s


def _json_native(obj: Any) -> bool:
    """True when ``obj`` holds only exact ``str``, ``int``, ``bool``, ``None``, ``list``, ``tuple`` and
    ``dict`` with ``str`` keys: the values :func:`dumps` hands to orjson (a float, NaN, a subclass or
    anything else goes through ``json`` itself, whose text orjson does not reproduce)."""
    stack = [obj]
    scalars = _SCALARS
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in scalars:
            continue
        if kind is dict:
            for key, value in item.items():
                if type(key) is not str:
                    return False
                if type(value) not in scalars:
                    stack.append(value)
        elif kind is list or kind is tuple:
            stack.extend(value for value in item if type(value) not in scalars)
        else:
            return False
    return True


_SCALARS = frozenset({str, int, bool, type(None)})
#: orjson writes UTF-8 and DEL as is; ``ensure_ascii`` escapes every character outside space..tilde.
_NOT_ASCII_BYTES = re.compile(rb"[\x7f-\xff]")
_NOT_ASCII = re.compile(r"[^\x00-\x7e]")


def _escape_ascii(match: re.Match[str]) -> str:
    """``json``'s ``ensure_ascii`` escape of one character (surrogate pairs beyond the BMP)."""
    return encode_basestring_ascii(match.group())[1:-1]


def dumps(obj: Any) -> bytes:
    """The one byte form of every JSON file of an export:
    ``json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\\n"`` as UTF-8.

    Evidence holds only strings, integers, booleans and nulls (numbers are decimal strings), which
    orjson (C-level) writes in the same layout; the characters ``ensure_ascii`` escapes and orjson
    writes raw (non-ASCII and DEL, only ever inside strings) are then escaped as ``json`` does, so
    the bytes are the same (tested). Anything else (floats, subclasses, integers beyond 64 bits,
    lone surrogates) goes through ``json.dumps`` itself."""
    if _json_native(obj):
        try:
            out = orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits, lone surrogates
            pass
        else:
            if _NOT_ASCII_BYTES.search(out) is None:
                return out
            return _NOT_ASCII.sub(_escape_ascii, out.decode("utf-8")).encode("utf-8")
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("utf-8")
