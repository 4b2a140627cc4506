"""Reading evidence JSON without trusting it: a nesting-depth limit checked on the raw text before
``json.loads`` (a hostile file nested thousands deep would otherwise raise ``RecursionError`` in the
parser or in any code that walks it), and one ``(object, why-not)`` reader used by verify, the gate and
the output guard. Standard library and orjson only, so the gate stays light."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

import orjson

from janus_core.hashing import json_value_kinds

#: Deepest JSON nesting an evidence reader accepts: the deepest evidence file (the DSPy eval report's
#: metric bundle) nests 6 levels; anything beyond 64 is malformed.
MAX_JSON_DEPTH = 64


#: Every byte but the brackets and the quote (UTF-8 multi-byte sequences hold no ASCII byte).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
#: A string literal once escapes and everything but brackets and quotes are gone.
_BARE_STRING = re.compile(rb'"[^"]*"')
#: Opening brackets to 2, closing ones to 0 (a depth step plus one).
_STEP = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def json_depth_ok(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """False when the JSON text nests ``[`` / ``{`` deeper than ``limit`` (brackets inside strings
    ignored). C-level byte operations first reduce the text to its structure: escaped backslashes and
    escaped quotes are dropped, then every byte but brackets and quotes, then the empty quote pairs
    (two adjacent quotes are the ends of one string, or the end of one and the start of the next
    with nothing between, so dropping them never moves a bracket in or out of a string), then the
    strings left (those holding brackets); the running depth of the brackets is then summed up."""
    raw = data.encode("utf-8", errors="surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return True
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    steps = _BARE_STRING.sub(b"", structure).translate(_STEP, b'"')  # "[{" -> 2, "]}" -> 0, lone quotes out
    return not steps or max(accumulate(b - 1 for b in steps)) <= limit


def parse_json_object(data: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, None)`` for a JSON object, else ``(None, why)``: not UTF-8, not JSON, nested deeper
    than :data:`MAX_JSON_DEPTH`, or not an object.

    orjson parses first (C level, several times faster on the 50 MB gate files). It refuses what
    ``json`` accepts beyond RFC 8259 (NaN, infinities, lone surrogates, a byte-order mark) and reads
    an integer beyond 64 bits as a float, so its object is taken only when it holds no float (the
    evidence writes numbers as decimal strings) and nests no deeper than the limit (both from
    :func:`janus_core.hashing.json_value_kinds`); anything else is parsed by ``json`` itself, after
    the depth check on the text, so the object or the reason is always what ``json`` gives."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        kinds, depth = json_value_kinds(obj) or (set(), 0)
        if float not in kinds:
            if depth > MAX_JSON_DEPTH:
                return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
            return (obj, None) if type(obj) is dict else (None, "not a JSON object")
    return _parse_with_json(data)


def _parse_with_json(data: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """:func:`parse_json_object` by ``json`` itself, after :func:`json_depth_ok` on the text."""
    if not json_depth_ok(data):
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, None
