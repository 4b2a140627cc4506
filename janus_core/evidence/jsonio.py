"""Reading evidence JSON without trusting it: a nesting-depth limit checked on the raw text before
``json.loads`` (a hostile file nested thousands deep would otherwise raise ``RecursionError`` in the
parser or in any code that walks it), and one ``(object, why-not)`` reader used by verify, the gate and
the output guard. Standard library only, so the gate stays light."""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest JSON nesting an evidence reader accepts: the deepest evidence file (the DSPy eval report's
#: metric bundle) nests 6 levels; anything beyond 64 is malformed.
MAX_JSON_DEPTH = 64


#: A JSON string literal (quotes included, escapes inside), and anything that is not a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth_ok(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """False when the JSON text nests ``[`` / ``{`` deeper than ``limit`` (brackets inside strings
    ignored). The strings and everything but the brackets are dropped by C-level regular expressions
    first, so only the brackets are walked (a 4 MB evidence file has a few thousand)."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if ch in "[{":
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def parse_json_object(data: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, None)`` for a JSON object, else ``(None, why)``: not UTF-8, not JSON, nested deeper
    than :data:`MAX_JSON_DEPTH`, or not an object."""
    if not json_depth_ok(data):
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(obj, dict):
        return None, "not a JSON object"
    return obj, None
