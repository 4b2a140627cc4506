"""Canonical hashing and number formatting shared by manifests and gate evidence.

The lane's convention (lane-contract.md): ``H(x) = sha256(json.dumps(x, sort_keys=True,
separators=(",", ":"), ensure_ascii=True).encode("utf-8")).hexdigest()``. Numbers inside evidence
records are decimal strings with no exponent, so hashes never depend on float formatting.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from itertools import chain, compress, repeat
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


def json_atom(value: Any) -> str:
    """``canonical_json(value)``: written directly for an exact ``str`` (its ASCII-escaped literal),
    ``int``, ``bool`` or ``None``; anything else by ``json`` itself."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return canonical_json(value)


def json_atoms(values: Sequence[Any]) -> list[str]:
    """:func:`json_atom` of every value; a column of only exact strings, or only exact integers (or
    strings and None), is written at C level."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return list(map(encode_basestring_ascii, values))
    if kinds <= {int}:
        return list(map(int.__repr__, values))
    return list(map(json_atom, values))


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


#: A plain decimal string (optional minus, digits, optional fraction): what :func:`decimal_str` writes.
PLAIN_DECIMAL = r"^-?[0-9]+(?:\.[0-9]+)?$"


def record_values(rows: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """``row.get(key)`` of every record (C level: ``row[key]`` while every record has the key)."""
    try:
        return list(map(operator.itemgetter(key), rows))
    except KeyError:
        return list(map(dict.get, rows, repeat(key)))


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
    anything else goes through ``json`` itself). :func:`json_value_kinds` collects the types of
    every value one nesting level at a time, at C level, so no Python code runs per value."""
    return json_value_kinds(obj, _NATIVE) is not None


def json_value_kinds(obj: Any, allowed: frozenset[type] | None = None) -> tuple[set[type], int] | None:
    """The exact types of ``obj`` and of every value inside it (dict keys aside) and its nesting depth
    (0 for a scalar; a dict, list or tuple is 1 plus the deepest container it holds: how the brackets
    of its JSON text nest); None as soon as a type outside ``allowed`` (when given) is met. Only exact
    ``dict``, ``list`` and ``tuple`` are containers (a subclass is a value of its own type).

    Containers are visited in groups of the same depth: the values of a group's dicts and the items
    of its lists and tuples are chained and their types collected by ``set(map(type, ...))``
    (C level), and the containers among them (picked out by ``itertools.compress``, C level too) are
    the next group. A small group is split into one group per container, so a large list of records
    stays a group of its own and no Python code runs per value."""
    kinds = {type(obj)}
    if allowed is not None and not kinds <= allowed:
        return None
    depth = 0
    stack: list[tuple[list[Any], int]] = [([obj], 1)] if type(obj) in _CONTAINERS else []
    while stack:
        group, level = stack.pop()
        depth = max(depth, level)
        for part in [group] if len(group) > _SMALL_GROUP else [[c] for c in group]:
            values = list(_children(part))
            found = set(map(type, values))
            if allowed is not None and not found <= allowed:
                return None
            kinds |= found
            if not found.isdisjoint(_CONTAINERS):
                inner = values if found <= _CONTAINERS else list(compress(values, _kind_mask(values, _CONTAINERS)))
                stack.append((inner, level + 1))
    return kinds, depth


def json_round_trip(obj: Any, max_depth: int | None = None) -> Any | None:
    """The object ``json.loads(dumps(obj))`` gives, built without writing or parsing text, or None when
    that is not shown: every value an exact ``dict`` (with ``str`` keys), ``list``, ``str``, ``int``,
    ``bool`` or None (a tuple would come back a list, a float in another form), each dict rebuilt
    with its keys sorted, as the written text has them. A list of records that all have the same
    sorted keys and only scalar values is the parsed list already and is shared, not copied: the
    caller reads it and never changes it. None too when ``obj`` nests deeper than ``max_depth``."""
    found = json_value_kinds(obj, _ROUND_TRIP)
    if found is None or (max_depth is not None and found[1] > max_depth):
        return None
    try:
        return _twin(obj)
    except _NotShown:
        return None


class _NotShown(Exception):
    """A dict key that is not an exact ``str`` (:func:`json_round_trip`)."""


def _twin(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        if not set(map(type, value)) <= {str}:
            raise _NotShown
        return {key: _twin(value[key]) for key in sorted(value)}
    if kind is list:
        return value if _flat_sorted_records(value) else [_twin(item) for item in value]
    return value


def _flat_sorted_records(rows: list[Any]) -> bool:
    """Whether ``rows`` are dicts with one and the same sorted ``str`` key tuple and scalar values."""
    if not rows or set(map(type, rows)) != {dict}:
        return False
    layouts = set(map(tuple, rows))
    if len(layouts) != 1:
        return False
    keys = next(iter(layouts))
    if list(keys) != sorted(keys) or not set(map(type, keys)) <= {str}:
        return False
    return set(map(type, chain.from_iterable(map(dict.values, rows)))) <= _SCALARS


#: Up to this many containers of one depth are visited one by one (:func:`json_value_kinds`).
_SMALL_GROUP = 16


def _kind_mask(values: list[Any], kinds: frozenset[type]) -> Iterator[bool]:
    """Whether the exact type of each value is one of ``kinds`` (C level)."""
    return map(kinds.__contains__, map(type, values))


def _children(containers: list[Any]) -> Iterator[Any]:
    """The values of the dicts and the items of the lists and tuples in ``containers``, chained."""
    dicts = list(compress(containers, _kind_mask(containers, _DICT)))
    if len(dicts) == len(containers):
        return chain.from_iterable(map(dict.values, dicts))
    sequences = compress(containers, map(operator.not_, _kind_mask(containers, _DICT)))
    return chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(sequences))


_SCALARS = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})
_NATIVE = _SCALARS | _CONTAINERS
_DICT = frozenset({dict})
_ROUND_TRIP = frozenset({str, int, bool, type(None), dict, list})
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
