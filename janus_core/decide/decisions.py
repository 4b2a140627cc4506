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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from janus_core.data.events import (
    EVENT_TYPES,
    UNKNOWN_EVENT_TYPE,
    normalise_event_type,
    normalise_event_types,
)
from janus_core.data.rows import DataValidationError, OnInvalid
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
    decimals = _written_decimals(text["car"]) if car is not None and isinstance(values["car"], str) else None
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


#: Rules of the decisions table, as they appear in problems and rejected rows.
DecisionRule = Literal[
    "missing_value",
    "invalid_enum",
    "non_finite",
    "wrong_type",
    "duplicate_key",
    "completion_mismatch",
    "unverifiable_format_ok",
]


@dataclass(frozen=True)
class DecisionsCheck:
    """A checked decisions table: ``frame`` the accepted rows (canonical, :func:`validate_decisions`);
    ``rejected`` the rejected rows in quarantine mode (their values as given, ``row`` as in the source
    and ``reason``; empty in strict mode, which raises instead); ``rows_read`` the rows given."""

    frame: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int


def _claimed_format_ok(out: pl.DataFrame, where: Callable[[int], str]) -> tuple[pl.DataFrame, dict[int, str]]:
    """The ``format_ok`` column as Boolean (true/false, any case, or 1/0 are accepted from text and
    integer columns); a value that is none of these is a problem of its row."""
    col = out["format_ok"]
    problems: dict[int, str] = {}
    if col.dtype == pl.Boolean:
        value = col
    elif col.dtype == pl.String or col.dtype.is_integer():
        text = col.cast(pl.String).str.strip_chars().str.to_lowercase()
        value = text.replace_strict(
            {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False},
            default=None,
            return_dtype=pl.Boolean,
        )
        for i in (value.is_null() & col.is_not_null()).arg_true().to_list():
            problems[i] = f"{where(i)}: format_ok: wrong_type: {col[i]!r} is not true/false"
    else:
        raise DecisionsError(f"{where(None)}column 'format_ok' is {col.dtype}, expected true/false")
    return out.with_columns(value.alias("format_ok")), problems


def _written_decimals(car_text: str | None) -> int | None:
    """Decimals a completion wrote its CAR with (``-1.23%`` -> 4, ``1.5e-3`` -> 4), None for none."""
    if car_text is None:
        return None
    v = car_text.strip().replace(" ", "")
    percent = v.endswith("%")
    mantissa, _, exponent = v.rstrip("%").lower().partition("e")
    decimals = len(mantissa.partition(".")[2]) - (int(exponent) if exponent else 0)
    return decimals + (2 if percent else 0)


def _car_agrees(column: float, parsed: float, decimals: int | None) -> bool:
    """A structured CAR agrees with the completion's when it is within half a unit of the last digit
    the completion wrote (the column may state the same prediction more precisely)."""
    tol = 0.5 * 10.0 ** -(decimals if decimals is not None else 12) + 1e-12
    return abs(column - parsed) <= tol


def _completion_problems(
    out: pl.DataFrame, claimed: pl.Series | None, where: Callable[[int], str]
) -> tuple[dict[int, str], dict[int, ParsedCompletion]]:
    """Parse every present completion (each distinct text once) and compare it with the row's
    structured columns: ``format_ok`` (when claimed), ``action``, and, when given, the predicted type,
    strength and CAR. A disagreement is a ``completion_mismatch`` problem of the row."""
    rows = out["completion"].is_not_null().arg_true().to_list()
    if not rows:
        return {}, {}
    sub = out[rows]
    texts = sub["completion"].to_list()
    cache = {t: parse_completion(t) for t in set(texts)}
    parsed = {i: cache[t] for i, t in zip(rows, texts, strict=True)}
    columns = {c: sub[c].to_list() for c in ("action", "predicted_event_type", "predicted_strength", "predicted_car")}
    claims = claimed[rows].to_list() if claimed is not None else [None] * len(rows)
    problems: dict[int, str] = {}
    for k, i in enumerate(rows):
        p = parsed[i]
        found: list[str] = []
        if claims[k] is not None and claims[k] != p.format_ok:
            found.append(
                f"format_ok {str(claims[k]).lower()} but the completion "
                + ("parses" if p.format_ok else f"is malformed ({p.format_error})")
            )
        if columns["action"][k] is not None and columns["action"][k] != p.action:
            found.append(
                f"action {columns['action'][k]!r} but the completion says {p.action!r}"
                + ("" if p.format_ok else f" (malformed: {p.format_error})")
            )
        for col, said in (
            ("predicted_event_type", p.predicted_event_type),
            ("predicted_strength", p.predicted_strength),
        ):
            if columns[col][k] is not None and columns[col][k] != said:
                found.append(f"{col} {columns[col][k]!r} but the completion says {said!r}")
        car = columns["predicted_car"][k]
        if car is not None and (p.predicted_car is None or not _car_agrees(car, p.predicted_car, p.car_decimals)):
            found.append(f"predicted_car {car!r} but the completion says {p.predicted_car!r}")
        if found:
            problems[i] = f"{where(i)}: completion: completion_mismatch: " + "; ".join(found)
    return problems, parsed


def _what_the_model_said(
    out: pl.DataFrame, claimed: pl.Series | None, parsed: Mapping[int, ParsedCompletion]
) -> pl.DataFrame:
    """``format_ok`` from each present completion (else the claimed flag, else false), and each
    unstated prediction filled from the completion."""
    fmt = (
        claimed.fill_null(False)
        if claimed is not None
        else pl.Series("format_ok", [False] * out.height, dtype=pl.Boolean)
    )
    if not parsed:
        return out.with_columns(fmt.alias("format_ok"))
    rows = sorted(parsed)
    fmt = fmt.scatter(rows, [parsed[i].format_ok for i in rows])
    filled = []
    for col in ("predicted_event_type", "predicted_strength", "predicted_car"):
        series = out[col]
        unstated = series.is_null().to_numpy()
        empty = [i for i in rows if unstated[i] and getattr(parsed[i], col) is not None]
        filled.append(series.scatter(empty, [getattr(parsed[i], col) for i in empty]) if empty else series)
    return out.with_columns(fmt.alias("format_ok"), *filled)


def check_decisions(
    df: pl.DataFrame,
    source_name: str,
    *,
    unique: bool = True,
    line_column: str | None = None,
    on_invalid: OnInvalid = "fail",
    format_claims_need_completion: bool = False,
) -> DecisionsCheck:
    """Check a decisions table against the contract and return it in canonical form (column order
    and dtypes of ``DECISION_SCHEMA``, extra columns kept after them, rows in input order).

    Rules: required columns present (else :class:`DecisionsError` in any mode); ``event_id``,
    ``strategy_id``, ``action`` non-null; ``action`` in long|short|hold; ``predicted_strength`` in
    strong|weak or null; ``predicted_event_type`` a taxonomy type (aliases normalised;
    ``unknown``/empty becomes null); ``predicted_car`` numeric and finite; with ``unique``, at most one
    decision per (event_id, strategy_id) (the later rows are the problem).

    Judged on what the model said: where a ``completion`` is present, ``format_ok`` and the parsed
    fields come from it (:func:`parse_completion`), never from a self-declared column. A structured
    column that disagrees with the completion (``format_ok``, ``action``, ``predicted_event_type``,
    ``predicted_strength``, or ``predicted_car`` beyond half a unit of the completion's last written
    digit) is a ``completion_mismatch``; a null prediction column is filled from the completion (a
    malformed completion: action hold, no predictions). Without a completion, ``format_ok`` is the
    column's (false when absent); with ``format_claims_need_completion`` (decisions files) a
    ``format_ok`` true with no completion to check is an ``unverifiable_format_ok`` problem.

    ``on_invalid="fail"`` raises :class:`DecisionsError` naming the first problem (rule order, then
    row): ``source:LINE: column: rule: message`` when ``line_column`` holds each row's line (or row)
    in its file, else ``source: row I, column ...`` with ``I`` the 0-based position. ``"quarantine"``
    keeps the good rows and returns the others in ``rejected`` with every reason.
    """
    missing = [c for c in REQUIRED_DECISION_COLUMNS if c not in df.columns]
    if missing:
        raise DecisionsError(f"{source_name}: decisions table lacks required column(s) {', '.join(missing)}")
    lines = df[line_column].to_list() if line_column is not None else None
    raw = df.drop(line_column) if line_column is not None else df

    def where(i: int | None) -> str:
        if i is None:
            return f"{source_name}: "
        return f"{source_name}:{lines[i]}" if lines is not None else f"{source_name}: row {i}"

    def at(i: int, column: str, rule: str, message: str) -> str:
        if lines is not None:
            return f"{where(i)}: {column}: {rule}: {message}"
        return f"{where(i)}, column {column!r}: {message}"

    out = raw
    for col, dtype in DECISION_SCHEMA.items():
        if col == "format_ok":
            continue
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(col))
            continue
        try:
            out = out.with_columns(pl.col(col).cast(dtype, strict=True))
        except pl.exceptions.InvalidOperationError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise DecisionsError(f"{source_name}: column {col!r} cannot be read as {dtype}: {first}") from None
    stages: list[dict[int, str]] = []
    for col in REQUIRED_DECISION_COLUMNS:
        bad = out[col].is_null().arg_true().to_list()
        stages.append({i: at(i, col, "missing_value", "value is missing (rule: required)") for i in bad})
    checks = (
        (
            "action",
            "invalid_enum",
            out["action"].is_not_null() & ~out["action"].is_in(ACTIONS),
            f"not one of {'|'.join(ACTIONS)}",
        ),
        (
            "predicted_strength",
            "invalid_enum",
            out["predicted_strength"].is_not_null() & ~out["predicted_strength"].is_in(STRENGTHS),
            f"not one of {'|'.join(STRENGTHS)}",
        ),
        (
            "predicted_car",
            "non_finite",
            out["predicted_car"].is_not_null() & ~out["predicted_car"].is_finite(),
            "not a finite number",
        ),
    )
    for col, rule, bad, text in checks:
        stages.append({i: at(i, col, rule, f"value {out[col][i]!r} {text}") for i in bad.arg_true().to_list()})
    out, type_problems = _normalise_predicted_types(
        out,
        lambda i, v: at(
            i,
            "predicted_event_type",
            "invalid_enum",
            f"value {v!r} is not one of the ten event types {', '.join(EVENT_TYPES)}",
        ),
    )
    stages.append(type_problems)
    claimed: pl.Series | None = None
    if "format_ok" in out.columns:
        out, format_problems = _claimed_format_ok(out, lambda i: where(i) if i is not None else f"{source_name}: ")
        stages.append(format_problems)
        stages.append(
            {
                i: at(i, "format_ok", "missing_value", "value is missing (rule: boolean)")
                for i in (out["format_ok"].is_null() & raw["format_ok"].is_null()).arg_true().to_list()
            }
        )
        claimed = out["format_ok"]
    mismatches, parsed = _completion_problems(out, claimed, where)
    stages.append(mismatches)
    if format_claims_need_completion and claimed is not None:
        unverifiable = (claimed.fill_null(False) & out["completion"].is_null()).arg_true().to_list()
        stages.append(
            {
                i: at(
                    i,
                    "format_ok",
                    "unverifiable_format_ok",
                    "true but there is no completion to check it "
                    "against (rule: format validity comes from the "
                    "model's output)",
                )
                for i in unverifiable
            }
        )
    if unique:
        dup = (~out.select(pl.struct("event_id", "strategy_id").is_first_distinct()).to_series()).arg_true().to_list()
        stages.append(
            {
                i: (
                    at(
                        i,
                        "event_id,strategy_id",
                        "duplicate_key",
                        f"({out['event_id'][i]!r}, {out['strategy_id'][i]!r}) repeats an earlier row (rule: "
                        f"one decision per event and strategy)",
                    )
                    if lines is not None
                    else f"{source_name}: row {i}, columns 'event_id','strategy_id': ({out['event_id'][i]!r}, "
                    f"{out['strategy_id'][i]!r}) repeats an earlier row (rule: one decision per event and "
                    f"strategy)"
                )
                for i in dup
            }
        )
    bad_rows: dict[int, list[str]] = {}
    for stage in stages:
        for i, message in sorted(stage.items()):
            bad_rows.setdefault(i, []).append(message)
    if bad_rows and on_invalid == "fail":
        first = next(stage for stage in stages if stage)
        raise DecisionsError(first[min(first)])
    n = out.height
    out = _what_the_model_said(out, claimed, parsed)
    extras = [c for c in out.columns if c not in DECISION_SCHEMA]
    out = out.select(*DECISION_SCHEMA, *extras)
    if not bad_rows:
        return DecisionsCheck(
            frame=out, rejected=pl.DataFrame(schema={"row": pl.Int64, "reason": pl.String}), rows_read=n
        )
    keep = pl.Series([i not in bad_rows for i in range(n)])
    rejected = (
        raw.with_row_index("__i")
        .filter(~keep)
        .select(
            pl.Series("row", [lines[i] if lines is not None else i for i in sorted(bad_rows)], dtype=pl.Int64),
            pl.Series("reason", ["; ".join(bad_rows[i]) for i in sorted(bad_rows)], dtype=pl.String),
            pl.exclude("__i").cast(pl.String, strict=False),
        )
        .sort("row")
    )
    return DecisionsCheck(frame=out.filter(keep), rejected=rejected, rows_read=n)


def _normalise_predicted_types(
    out: pl.DataFrame, problem: Callable[[int, object], str]
) -> tuple[pl.DataFrame, dict[int, str]]:
    """Map aliases of ``predicted_event_type`` to slugs and none-words to null; an unknown type is a
    problem of its row (and null in the returned frame)."""
    if out.select(
        pl.col("predicted_event_type").is_in(EVENT_TYPES).or_(pl.col("predicted_event_type").is_null()).all()
    ).item():
        return out, {}
    raw_type = pl.col("predicted_event_type").str.strip_chars()
    out = out.with_columns(
        pl.when(raw_type.is_null() | raw_type.str.to_lowercase().is_in(sorted(_NONE_WORDS)))
        .then(None)
        .otherwise(raw_type)
        .alias("predicted_event_type")
    )
    normalised = normalise_event_types(out["predicted_event_type"].fill_null(UNKNOWN_EVENT_TYPE))
    bad_type = out["predicted_event_type"].is_not_null() & (normalised == UNKNOWN_EVENT_TYPE)
    problems = {i: problem(i, out["predicted_event_type"][i]) for i in bad_type.arg_true().to_list()}
    out = out.with_columns(
        pl.when(pl.col("predicted_event_type").is_null() | bad_type)
        .then(None)
        .otherwise(normalised)
        .alias("predicted_event_type")
    )
    return out, problems


def validate_decisions(df: pl.DataFrame, source_name: str, *, unique: bool = True) -> pl.DataFrame:
    """:func:`check_decisions` in strict mode: the canonical decisions table, or
    :class:`DecisionsError` naming the first problem (its rules are there)."""
    return check_decisions(df, source_name, unique=unique).frame


#: Column :func:`load_decisions` keeps each row's line (CSV, JSON Lines) or row (Parquet) in while checking.
_LINE = "__source_line"


def load_decisions_checked(path: str | Path, on_invalid: OnInvalid = "fail") -> tuple[DecisionsCheck, str | None]:
    """Read a decisions file (Parquet, CSV or JSON Lines) once, literally, with the data layer's loader
    (``janus_core.data.tables.load_table``: type, enum and required-value errors name the file, row,
    column and rule), then :func:`check_decisions` with every problem at the file's own line number
    (never the position after sorting), ``format_ok`` claims needing a completion. Returns the check
    (rows in the loader's canonical order) and the SHA-256 of the bytes read. ``on_invalid`` as in
    :func:`check_decisions` (the loader's row problems become rejected rows too)."""
    try:
        loaded = load_table("decisions", Path(path), timezone=None, on_invalid=on_invalid, line_column=_LINE)
    except DataValidationError as exc:
        problems = exc.problems
        first = problems[0] if problems else None
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DecisionsError(f"{first}{more}" if first else str(exc)) from None
    check = check_decisions(
        loaded.frame, str(path), line_column=_LINE, on_invalid=on_invalid, format_claims_need_completion=True
    )
    if loaded.rejected.height:
        earlier = loaded.rejected.with_columns(pl.all().exclude("row", "reason").cast(pl.String, strict=False))
        rejected = pl.concat([earlier, check.rejected], how="diagonal_relaxed").sort("row")
        check = DecisionsCheck(frame=check.frame, rejected=rejected, rows_read=loaded.rows_read)
    return check, loaded.sha256


def load_decisions(path: str | Path) -> pl.DataFrame:
    """The decisions of a file, strictly checked (:func:`load_decisions_checked`); rows in the
    loader's canonical order."""
    return load_decisions_checked(path)[0].frame
