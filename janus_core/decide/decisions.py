"""Decisions: the decisions table of the data contract and the paper's structured model output.

A *decision* is what a strategy does with one event: ``long``, ``short`` or ``hold``, optionally with
its predicted event type, strength and CAR, a rationale and the model's full output text.

Decisions frame (canonical columns and dtypes after :func:`validate_decisions`)
-------------------------------------------------------------------------------
``event_id`` String, ``strategy_id`` String, ``action`` String (long|short|hold),
``predicted_event_type`` String (one of ``events.EVENT_TYPES``; null when none was predicted),
``predicted_strength`` String (strong|weak, nullable), ``predicted_car`` Float64 (nullable),
``rationale`` String (nullable), ``completion`` String (nullable: the model's full output text),
``format_ok`` Boolean (the completion parsed in the structured format below; true for the
baseline policies, which write structured completions). Extra columns are kept after these.

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
from pathlib import Path

import polars as pl

from janus_core.data.events import (
    EVENT_TYPES,
    UNKNOWN_EVENT_TYPE,
    normalise_event_type,
    normalise_event_types,
)
from janus_core.data.tables import load_table

ACTIONS: tuple[str, ...] = ("long", "short", "hold")
STRENGTHS: tuple[str, ...] = ("strong", "weak")
SECTION_TAGS: tuple[str, ...] = ("market_influence", "car_analysis", "conclusion")
CONCLUSION_KEYS: tuple[str, ...] = ("action", "event_type", "strength", "car")

DECISION_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "strategy_id": pl.String(),
    "action": pl.String(),
    "predicted_event_type": pl.String(),
    "predicted_strength": pl.String(),
    "predicted_car": pl.Float64(),
    "rationale": pl.String(),
    "completion": pl.String(),
    "format_ok": pl.Boolean(),
}
REQUIRED_DECISION_COLUMNS: tuple[str, ...] = ("event_id", "strategy_id", "action")

_SECTION_RE = re.compile(r"<(market_influence|car_analysis|conclusion)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_ANY_TAG_RE = re.compile(r"</?\s*(market_influence|car_analysis|conclusion)\s*>", re.IGNORECASE)
_KV_RE = re.compile(r"^\s*([A-Za-z_ ]+?)\s*[:=：]\s*(.*?)\s*$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")
_NONE_WORDS = frozenset({"none", "null", "n/a", "na", "unknown", "-", ""})


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
    if v.lower() in _NONE_WORDS:
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
    if raw_type.lower() not in _NONE_WORDS:
        event_type = normalise_event_type(raw_type)
        if event_type == UNKNOWN_EVENT_TYPE:
            return ParsedCompletion.malformed(f"event_type {raw_type!r} is not in the taxonomy")
    try:
        car = _parse_car(text["car"])
    except DecisionsError as exc:
        return ParsedCompletion.malformed(str(exc))
    if car is not None and not math.isfinite(car):
        return ParsedCompletion.malformed(f"car value {text['car']!r} is not finite")
    return ParsedCompletion(True, action, event_type, strength, car, market_influence, car_analysis, None)


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


def decisions_from_completions(frame: pl.DataFrame) -> pl.DataFrame:
    """Turn model outputs into a decisions table. ``frame`` has ``event_id``, ``strategy_id`` and
    ``completion`` (text); every row is kept, in order. Adds ``format_error`` (null when the output
    parsed). The rationale is the ``<car_analysis>`` text of a well-formed output."""
    missing = [c for c in ("event_id", "strategy_id", "completion") if c not in frame.columns]
    if missing:
        raise DecisionsError(f"completions frame lacks column(s) {', '.join(missing)}")
    parsed = [parse_completion(t) for t in frame["completion"].to_list()]
    out = frame.select("event_id", "strategy_id", "completion").with_columns(
        pl.Series("action", [p.action for p in parsed], dtype=pl.String),
        pl.Series("predicted_event_type", [p.predicted_event_type for p in parsed], dtype=pl.String),
        pl.Series("predicted_strength", [p.predicted_strength for p in parsed], dtype=pl.String),
        pl.Series("predicted_car", [p.predicted_car for p in parsed], dtype=pl.Float64),
        pl.Series("rationale", [p.car_analysis for p in parsed], dtype=pl.String),
        pl.Series("format_ok", [p.format_ok for p in parsed], dtype=pl.Boolean),
        pl.Series("format_error", [p.format_error for p in parsed], dtype=pl.String),
    )
    return out.select(*DECISION_SCHEMA, "format_error")


def _first_bad_row(df: pl.DataFrame, bad: pl.Expr) -> int | None:
    idx = df.select(bad.fill_null(False).arg_true().first()).item()
    return None if idx is None else int(idx)


def _normalise_predicted_types(out: pl.DataFrame, source_name: str) -> pl.DataFrame:
    """Map aliases of ``predicted_event_type`` to slugs and none-words to null; unknown types raise."""
    raw_type = pl.col("predicted_event_type").str.strip_chars()
    out = out.with_columns(
        pl.when(raw_type.is_null() | raw_type.str.to_lowercase().is_in(sorted(_NONE_WORDS)))
        .then(None)
        .otherwise(raw_type)
        .alias("predicted_event_type")
    )
    normalised = normalise_event_types(out["predicted_event_type"].fill_null(UNKNOWN_EVENT_TYPE))
    bad_type = out["predicted_event_type"].is_not_null() & (normalised == UNKNOWN_EVENT_TYPE)
    if bad_type.any():
        row = int(bad_type.arg_true()[0])
        raise DecisionsError(
            f"{source_name}: row {row}, column 'predicted_event_type': value "
            f"{out['predicted_event_type'][row]!r} is not one of the ten event types {', '.join(EVENT_TYPES)}"
        )
    out = out.with_columns(
        pl.when(pl.col("predicted_event_type").is_null()).then(None).otherwise(normalised).alias("predicted_event_type")
    )
    return out


def validate_decisions(df: pl.DataFrame, source_name: str, *, unique: bool = True) -> pl.DataFrame:
    """Check a decisions table against the contract and return it in canonical form (column order
    and dtypes of ``DECISION_SCHEMA``, extra columns kept after them, rows in input order).

    Rules, each failure raising :class:`DecisionsError` naming ``source_name``, the row and column:
    required columns present; ``event_id``, ``strategy_id``, ``action`` non-null; ``action`` in
    long|short|hold; ``predicted_strength`` in strong|weak or null; ``predicted_event_type`` a
    taxonomy type (aliases normalised; ``unknown``/empty becomes null); ``predicted_car`` numeric and
    finite; with ``unique``, at most one decision per (event_id, strategy_id).
    Absent optional columns are added as nulls; an absent ``format_ok`` is derived by parsing
    ``completion`` (false where there is no completion).
    """
    missing = [c for c in REQUIRED_DECISION_COLUMNS if c not in df.columns]
    if missing:
        raise DecisionsError(f"{source_name}: decisions table lacks required column(s) {', '.join(missing)}")
    out = df
    for col, dtype in DECISION_SCHEMA.items():
        if col == "format_ok":
            continue
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(col))
            continue
        try:
            out = out.with_columns(pl.col(col).cast(dtype, strict=True))
        except pl.exceptions.InvalidOperationError as exc:
            raise DecisionsError(f"{source_name}: column {col!r} cannot be read as {dtype}: {exc}") from None
    for col in REQUIRED_DECISION_COLUMNS:
        row = _first_bad_row(out, pl.col(col).is_null())
        if row is not None:
            raise DecisionsError(f"{source_name}: row {row}, column {col!r}: value is missing (rule: required)")
    checks = (
        ("action", ~pl.col("action").is_in(ACTIONS), f"not one of {'|'.join(ACTIONS)}"),
        (
            "predicted_strength",
            pl.col("predicted_strength").is_not_null() & ~pl.col("predicted_strength").is_in(STRENGTHS),
            f"not one of {'|'.join(STRENGTHS)}",
        ),
        ("predicted_car", ~pl.col("predicted_car").is_finite(), "not a finite number"),
    )
    for col, bad, rule in checks:
        row = _first_bad_row(out, bad)
        if row is not None:
            raise DecisionsError(f"{source_name}: row {row}, column {col!r}: value {out[col][row]!r} {rule}")
    if not out.select(pl.col("predicted_event_type").is_in(EVENT_TYPES).or_(pl.col("predicted_event_type").is_null())
                      .all()).item():
        out = _normalise_predicted_types(out, source_name)
    if "format_ok" in out.columns:
        row = _first_bad_row(out, pl.col("format_ok").is_null())
        if row is not None:
            raise DecisionsError(f"{source_name}: row {row}, column 'format_ok': value is missing (rule: boolean)")
        out = out.with_columns(pl.col("format_ok").cast(pl.Boolean, strict=True))
    else:
        ok = [False if t is None else parse_completion(t).format_ok for t in out["completion"].to_list()]
        out = out.with_columns(pl.Series("format_ok", ok, dtype=pl.Boolean))
    if unique:
        dup = out.select((~pl.struct("event_id", "strategy_id").is_first_distinct()).arg_true().first()).item()
        if dup is not None:
            raise DecisionsError(
                f"{source_name}: row {dup}, columns 'event_id','strategy_id': "
                f"({out['event_id'][dup]!r}, {out['strategy_id'][dup]!r}) repeats an earlier row (rule: one decision "
                "per event and strategy)"
            )
    extras = [c for c in out.columns if c not in DECISION_SCHEMA]
    return out.select(*DECISION_SCHEMA, *extras)


def load_decisions(path: str | Path) -> pl.DataFrame:
    """Read a decisions file (Parquet, CSV or JSON Lines) with the data layer's strict loader
    (``janus_core.data.tables.load_table``: row-level errors name the file, row, column and rule), then
    apply :func:`validate_decisions` (type normalisation, ``format_ok``, one decision per event and
    strategy). Rows come back in the loader's canonical order."""

    loaded = load_table("decisions", Path(path), timezone=None)
    return validate_decisions(loaded.frame, str(path))
