"""The paper's structured model output: its grammar, the parser (:func:`parse_completion`) and
the writer (:func:`format_completion`).

Structured output grammar (what :func:`parse_completion` accepts)
-----------------------------------------------------------------
The paper's model writes three tagged sections, in this order, each exactly once::

    <market_influence> free text: how the news bears on the company and its market </market_influence>
    <car_analysis> free text: the expected abnormal return and why </car_analysis>
    <conclusion>
    action: long | short | hold
    event_type: one of the ten slugs, an English or Chinese type name or alias, or none
    strength: strong | weak
    car: a signed decimal (-0.0123, 1.5e-3) or percentage (-1.23%), or none
    </conclusion>

Tag names are case-insensitive; whitespace is free around tags and inside the conclusion. Only
whitespace may stand outside the three sections (any other text is "irrelevant text" and makes the
output malformed). Inside ``<conclusion>`` each non-empty line is ``key: value`` (``:``, ``=`` or the
full-width ``：``), keys case-insensitive, each of the four keys exactly once. ``market_influence``
and ``car_analysis`` must not be empty. An event type the taxonomy does not know is malformed;
``none``/``unknown`` means no type was predicted. A malformed output is kept: ``format_ok`` false,
action ``hold``, the other predictions null, and ``format_error`` saying which rule failed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from janus_core.data.events import EVENT_TYPES, UNKNOWN_EVENT_TYPE, normalise_event_type

ACTIONS: tuple[str, ...] = ("long", "short", "hold")
STRENGTHS: tuple[str, ...] = ("strong", "weak")
SECTION_TAGS: tuple[str, ...] = ("market_influence", "car_analysis", "conclusion")
CONCLUSION_KEYS: tuple[str, ...] = ("action", "event_type", "strength", "car")

_SECTION_RE = re.compile(r"<(market_influence|car_analysis|conclusion)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_ANY_TAG_RE = re.compile(r"</?\s*(market_influence|car_analysis|conclusion)\s*>", re.IGNORECASE)
_KV_RE = re.compile(r"^\s*([A-Za-z_ ]+?)\s*[:=：]\s*(.*?)\s*$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")
NONE_WORDS = frozenset({"none", "null", "n/a", "na", "unknown", "-", ""})


class DecisionsError(ValueError):
    """A decisions table or a completion breaks a rule of the decisions contract."""


@dataclass(frozen=True)
class ParsedCompletion:
    """The result of :func:`parse_completion`. When ``format_ok`` is false, ``action`` is ``hold``,
    the predictions are ``None`` and ``format_error`` names the broken rule."""

    format_ok: bool
    action: str
    predicted_event_type: str | None
    predicted_strength: str | None
    predicted_car: float | None
    market_influence: str | None
    car_analysis: str | None
    format_error: str | None
    #: Decimals the CAR was written with (its precision), None when no CAR was written.
    car_decimals: int | None = None

    @classmethod
    def malformed(cls, reason: str) -> "ParsedCompletion":
        return cls(False, "hold", None, None, None, None, None, reason)


def completion_text(completion: object) -> str | None:
    """The output text of a completion given as a string or as chat messages
    (``[{"role": "assistant", "content": ...}, ...]``, the content of the assistant messages joined
    by newlines); ``None`` for anything else."""
    if completion is None or isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)):
        parts = [
            m.get("content")
            for m in completion
            if isinstance(m, dict) and m.get("role", "assistant") == "assistant" and isinstance(m.get("content"), str)
        ]
        return "\n".join(parts) if parts else None
    return None


def _parse_car(value: str) -> float | None:
    v = value.strip().replace(" ", "")
    if v.lower() in NONE_WORDS:
        return None
    if _NUMBER_RE.match(v) is None:
        raise DecisionsError(f"car value {value!r} is not a decimal or percentage")
    number = float(v.rstrip("%"))
    return number / 100.0 if v.endswith("%") else number


def parse_completion(text: object) -> ParsedCompletion:
    """Parse a model's full output in the structured format (module docstring). Never raises on
    malformed output: it returns ``format_ok=False``, action ``hold`` and the reason."""
    text = completion_text(text)
    if text is None:
        return ParsedCompletion.malformed("no completion text")
    sections = list(_SECTION_RE.finditer(text))
    names = [m.group(1).lower() for m in sections]
    if len(_ANY_TAG_RE.findall(text)) != 2 * len(sections):
        return ParsedCompletion.malformed("unbalanced or nested section tags")
    if names != list(SECTION_TAGS):
        return ParsedCompletion.malformed(
            f"sections must be {', '.join(SECTION_TAGS)} once each in this order; found {names or 'none'}"
        )
    outside = _SECTION_RE.sub("", text)
    if outside.strip():
        return ParsedCompletion.malformed(f"text outside the tagged sections ({len(outside.strip())} characters)")
    body = {name: m.group(2).strip() for name, m in zip(names, sections)}
    for name in ("market_influence", "car_analysis"):
        if not body[name]:
            return ParsedCompletion.malformed(f"empty <{name}> section")
    values: dict[str, str] = {}
    for line in body["conclusion"].splitlines():
        if not line.strip():
            continue
        m = _KV_RE.match(line)
        key = m.group(1).strip().lower().replace(" ", "_") if m else None
        if key not in CONCLUSION_KEYS:
            return ParsedCompletion.malformed(f"conclusion line {line.strip()!r} is not 'key: value' with a known key")
        if key in values:
            return ParsedCompletion.malformed(f"conclusion key {key!r} given twice")
        values[key] = m.group(2)
    return parse_conclusion(values, body["market_influence"], body["car_analysis"])


def parse_conclusion(
    values: Mapping[str, object], market_influence: str | None = None, car_analysis: str | None = None
) -> ParsedCompletion:
    """Read the four conclusion values (``action``, ``event_type``, ``strength``, ``car``) by the
    rules of the grammar; values may be text or, for ``car``, a number, and ``None`` means "none".
    Used for the ``<conclusion>`` block and for predictions that arrive as separate fields (DSPy)."""
    missing = [k for k in CONCLUSION_KEYS if k not in values]
    if missing:
        return ParsedCompletion.malformed(f"conclusion lacks {', '.join(missing)}")
    text = {k: "none" if values[k] is None else str(values[k]) for k in CONCLUSION_KEYS}
    action = text["action"].strip().lower()
    if action not in ACTIONS:
        return ParsedCompletion.malformed(f"action {text['action']!r} not in {'|'.join(ACTIONS)}")
    strength = text["strength"].strip().lower()
    if strength not in STRENGTHS:
        return ParsedCompletion.malformed(f"strength {text['strength']!r} not in {'|'.join(STRENGTHS)}")
    raw_type = text["event_type"].strip()
    event_type: str | None = None
    if raw_type.lower() not in NONE_WORDS:
        event_type = normalise_event_type(raw_type)
        if event_type == UNKNOWN_EVENT_TYPE:
            return ParsedCompletion.malformed(f"event_type {raw_type!r} is not in the taxonomy")
    try:
        car = _parse_car(text["car"])
    except DecisionsError as exc:
        return ParsedCompletion.malformed(str(exc))
    if car is not None and not math.isfinite(car):
        return ParsedCompletion.malformed(f"car value {text['car']!r} is not finite")
    decimals = written_decimals(text["car"]) if car is not None and isinstance(values["car"], str) else None
    return ParsedCompletion(True, action, event_type, strength, car, market_influence, car_analysis, None, decimals)


def format_completion(
    action: str,
    event_type: str | None,
    strength: str,
    car: float | None,
    market_influence: str,
    car_analysis: str,
) -> str:
    """Write a structured output that :func:`parse_completion` reads back exactly (``car`` with
    6 decimals)."""
    car_text = "none" if car is None else f"{car:.6f}"
    return (
        f"<market_influence>{market_influence}</market_influence>\n"
        f"<car_analysis>{car_analysis}</car_analysis>\n"
        f"<conclusion>\naction: {action}\nevent_type: {event_type or 'none'}\n"
        f"strength: {strength}\ncar: {car_text}\n</conclusion>"
    )


def written_decimals(car_text: str | None) -> int | None:
    """Decimals a completion wrote its CAR with (``-1.23%`` -> 4, ``1.5e-3`` -> 4), None for none."""
    if car_text is None:
        return None
    v = car_text.strip().replace(" ", "")
    percent = v.endswith("%")
    mantissa, _, exponent = v.rstrip("%").lower().partition("e")
    decimals = len(mantissa.partition(".")[2]) - (int(exponent) if exponent else 0)
    return decimals + (2 if percent else 0)


#: Columns of :func:`parse_completions`: the fields of :class:`ParsedCompletion` with their dtypes.
PARSED_SCHEMA: dict[str, pl.DataType] = {
    "format_ok": pl.Boolean(),
    "action": pl.String(),
    "predicted_event_type": pl.String(),
    "predicted_strength": pl.String(),
    "predicted_car": pl.Float64(),
    "market_influence": pl.String(),
    "car_analysis": pl.String(),
    "format_error": pl.String(),
    "car_decimals": pl.Int64(),
}
#: Every character Python's ``str.strip`` removes (those with ``str.isspace``; a test checks the list).
PYTHON_WHITESPACE: tuple[int, ...] = (
    *range(0x09, 0x0E),
    *range(0x1C, 0x21),
    0x85,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
)
_STRIPPED = "".join(chr(c) for c in PYTHON_WHITESPACE)
#: The canonical shape :func:`format_completion` writes: fixed tags, keys and separators, sections
#: without ``<`` (so no other tag), a CAR in plain ASCII decimals with at most 15 integer digits (so
#: finite) or ``none``. Written so that each character has one way on (a one-pass regex: captures
#: at automaton speed); the event type and the section edges are checked after it.
_CANONICAL_RE = (
    r"\A<market_influence>(?P<market_influence>[^<]+)</market_influence>\n"
    r"<car_analysis>(?P<car_analysis>[^<]+)</car_analysis>\n"
    r"<conclusion>\naction: (?P<action>long|short|hold)\n"
    r"event_type: (?P<event_type>[a-z_]+)\n"
    r"strength: (?P<strength>strong|weak)\n"
    r"car: (?P<car>none|-?[0-9]{1,15}\.(?P<fraction>[0-9]{1,17}))\n</conclusion>\z"
)


#: The columns of :data:`PARSED_SCHEMA` that only describe the text (the sections and the reason a
#: malformed output failed); ``parse_completions(..., reasons=False)`` leaves them out.
REASON_COLUMNS: tuple[str, ...] = ("market_influence", "car_analysis", "format_error")
#: The first characters (none, ``<`` or whitespace: ``PYTHON_WHITESPACE``) a well-formed text may
#: open with. Any other stands outside every section (each section starts with ``<``) and
#: ``str.strip`` keeps it, so :func:`parse_completion` finds the text malformed whatever else it holds.
_OPENINGS: tuple[str, ...] = ("", "<", *(chr(c) for c in PYTHON_WHITESPACE))


def parse_completions(texts: pl.Series, *, reasons: bool = True) -> pl.DataFrame:
    """:func:`parse_completion` of every text of a String column, one row each in order, columns
    ``PARSED_SCHEMA`` (without ``REASON_COLUMNS`` when ``reasons`` is false). A text in the
    canonical shape (``_CANONICAL_RE``) whose event type is a taxonomy slug or ``none`` and whose
    sections neither start nor end with whitespace (so ``str.strip`` leaves them as written, and
    they are not empty) is read column-wise: action, strength and sections as written,
    ``event_type`` null for ``none``, ``predicted_car`` the decimal (null for ``none``) with
    ``car_decimals`` its digits after the point. A null text is malformed ("no completion text").
    Without ``reasons``, a text that opens outside the sections (with none of ``_OPENINGS``) is
    malformed too, and read as such column-wise (its reason, the one thing that depends on the rest of the
    text, is not asked for). Every other text goes through :func:`parse_completion` itself, each
    distinct text once (the distinct texts found and mapped back to their rows by polars, with no
    per-row Python), so each malformed output keeps its exact reason: the result is that of
    :func:`parse_completion` row by row."""
    schema = {c: t for c, t in PARSED_SCHEMA.items() if reasons or c not in REASON_COLUMNS}
    texts = texts.cast(pl.String)
    first = texts.str.head(1)
    # only a text opening with "<" can have the canonical shape: the regex skips the others
    groups = pl.select(pl.when(first == "<").then(texts)).to_series().str.extract_groups(_CANONICAL_RE).struct.unnest()
    unstripped = [pl.col(c).str.strip_chars(_STRIPPED) == pl.col(c) for c in ("market_influence", "car_analysis")]
    matched = groups.select(
        pl.col("event_type").is_in([*EVENT_TYPES, "none"]).and_(*unstripped).fill_null(False)
    ).to_series()
    null = texts.is_null()
    # settled: malformed whatever the rest of the text says (no text, or one opening outside the sections)
    settled = null if reasons else null | ~first.is_in(_OPENINGS).fill_null(True)
    car = pl.col("car").replace("none", None)
    columns = {
        "format_ok": pl.when(matched).then(True).otherwise(pl.when(settled).then(False)),
        "action": pl.when(settled).then(pl.lit("hold")).otherwise(pl.col("action")),
        "predicted_event_type": pl.col("event_type").replace("none", None),
        "predicted_strength": pl.col("strength"),
        "predicted_car": car.cast(pl.Float64),
        "market_influence": pl.col("market_influence"),
        "car_analysis": pl.col("car_analysis"),
        "format_error": pl.when(null).then(pl.lit("no completion text")),
        "car_decimals": pl.when(car.is_not_null()).then(pl.col("fraction").str.len_chars().cast(pl.Int64)),
    }
    frame = groups.select(columns[name].alias(name) for name in schema).cast(schema)
    slow = (~matched & ~settled).arg_true()
    if slow.len() == 0:
        return frame
    slow_texts = texts.gather(slow)
    distinct = slow_texts.unique(maintain_order=True)
    parsed = [parse_completion(t) for t in distinct.to_list()]
    said = pl.DataFrame([[getattr(p, name) for p in parsed] for name in schema], schema=schema, orient="col")
    # each row from the column-wise frame, or from its distinct text's parse (rows after the frame's)
    rows = np.arange(frame.height, dtype=np.int64)
    rows[slow.to_numpy()] = frame.height + slow_texts.cast(pl.Enum(distinct)).to_physical().to_numpy().astype(np.int64)
    return pl.concat([frame, said])[rows]
