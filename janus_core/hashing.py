"""Canonical hashing and number formatting shared by manifests and gate evidence.

The lane's convention (lane-contract.md): ``H(x) = sha256(json.dumps(x, sort_keys=True,
separators=(",", ":"), ensure_ascii=True).encode("utf-8")).hexdigest()``. Numbers inside evidence
records are decimal strings with no exponent, so hashes never depend on float formatting.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

DECIMAL_PLACES = 10


def canonical_json(x: Any) -> str:
    """``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``."""
    return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def H(x: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``x`` (UTF-8)."""
    return hashlib.sha256(canonical_json(x).encode("utf-8")).hexdigest()


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


def _indented(obj: Any, pad: str, out: list[str]) -> None:
    """Append the ``json.dumps(sort_keys=True, indent=2, ensure_ascii=True)`` text of ``obj`` at
    indentation ``pad`` to ``out``. Only JSON-native values (str keys, str/int/bool/None, lists,
    tuples, dicts) are accepted; anything else raises ``TypeError``."""
    if isinstance(obj, str):
        out.append(encode_basestring_ascii(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif type(obj) is int:
        out.append(int.__repr__(obj))
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        inner = pad + "  "
        out.append("{")
        first = True
        for key in sorted(obj):
            if not isinstance(key, str):
                raise TypeError(f"non-string key {key!r}")
            out.append(("\n" if first else ",\n") + inner + encode_basestring_ascii(key) + ": ")
            _indented(obj[key], inner, out)
            first = False
        out.append("\n" + pad + "}")
    elif isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        inner = pad + "  "
        out.append("[")
        for i, item in enumerate(obj):
            out.append(("\n" if i == 0 else ",\n") + inner)
            _indented(item, inner, out)
        out.append("\n" + pad + "]")
    else:
        raise TypeError(f"not a JSON-native value: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    """The one byte form of every JSON file of an export:
    ``json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\\n"`` as UTF-8.

    Evidence holds only strings, integers, booleans and nulls (numbers are decimal strings), which
    a direct writer renders several times faster than ``json``'s pure-Python indenting encoder, to
    the same bytes (tested); anything else goes through ``json.dumps`` itself."""
    out: list[str] = []
    try:
        _indented(obj, "", out)
    except TypeError:
        return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=True) + "\n").encode("utf-8")
    out.append("\n")
    return "".join(out).encode("utf-8")
