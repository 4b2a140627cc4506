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
    """SHA-256 hex digest of the canonical JSON of ``x`` (UTF-8), the bytes of :func:`canonical_bytes`."""
    return hashlib.sha256(canonical_bytes(x)).hexdigest()


def canonical_bytes(x: Any) -> bytes:
    """``canonical_json(x)`` as UTF-8 bytes. JSON-native values (:func:`_json_native`) are written by
    orjson (compact, sorted keys: the same separators) with the characters ``ensure_ascii`` escapes
    escaped afterwards, as :func:`dumps` does; anything else by ``json`` itself."""
    return _orjson_ascii(x, orjson.OPT_SORT_KEYS) or canonical_json(x).encode("utf-8")


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
    ``dict`` values: the values orjson writes as ``json`` does (a float, NaN, a subclass or
    anything else goes through ``json`` itself). The types of a container's items are collected at
    C level (``set(map(type, ...))``), so only nested containers are visited one by one."""
    stack = [obj]
    scalars, containers = _SCALARS, _CONTAINERS
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:  # keys: orjson refuses any but str (and str subclasses it writes as json does)
            values = item.values()
        elif kind is list or kind is tuple:
            values = item
        else:
            return kind in scalars
        kinds = set(map(type, values))
        if kinds <= scalars:
            continue
        if not kinds <= _NATIVE:
            return False
        stack.extend(value for value in values if type(value) in containers)
    return True


_SCALARS = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})
_NATIVE = _SCALARS | _CONTAINERS
#: orjson writes UTF-8 and DEL as is; ``ensure_ascii`` escapes every character outside space..tilde.
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
    return _orjson_ascii(obj, orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE) or (
        json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n"
    ).encode("utf-8")


def _orjson_ascii(obj: Any, option: int) -> bytes | None:
    """orjson's bytes of a JSON-native ``obj`` with ``option``, then every character outside space..tilde
    escaped as ``json``'s ``ensure_ascii`` does (orjson writes UTF-8 and DEL raw, only ever inside
    strings); None when ``obj`` is not JSON-native or orjson refuses it (integers beyond 64 bits,
    lone surrogates)."""
    if not _json_native(obj):
        return None
    try:
        out = orjson.dumps(obj, option=option)
    except TypeError:  # orjson.JSONEncodeError
        return None
    if out.isascii() and b"\x7f" not in out:
        return out
    return _NOT_ASCII.sub(_escape_ascii, out.decode("utf-8")).encode("utf-8")
