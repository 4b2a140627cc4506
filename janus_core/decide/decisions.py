"""Decisions: the decisions table of the data contract and the paper's structured model output.

A *decision* is what a strategy does with one event: ``long``, ``short`` or ``hold``, optionally with
its predicted event type, strength and CAR, a rationale and the model's full output text.

Decisions frame (canonical columns and dtypes after :func:`validate_decisions`)
-------------------------------------------------------------------------------
``event_id`` String, ``strategy_id`` String, ``action`` String (long|short|hold),
``predicted_event_type`` String (one of ``events.EVENT_TYPES``; null when none was predicted),
``predicted_strength`` String (strong|weak, nullable), ``predicted_car`` Float64 (nullable),
``rationale`` String (nullable), ``completion`` String (nullable: the model's full output text),
``format_ok`` Boolean (the completion parsed in the structured format; true for the
baseline policies, which write structured completions). Extra columns are kept after these.

The structured output grammar, its parser and writer live in :mod:`janus_core.decide.structured_output`
(re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from janus_core.data.events import (
    EVENT_TYPES,
    UNKNOWN_EVENT_TYPE,
    normalise_event_types,
)
from janus_core.data.rows import DataValidationError, OnInvalid
from janus_core.data.tables import load_table
from janus_core.decide.structured_output import ACTIONS as ACTIONS
from janus_core.decide.structured_output import CONCLUSION_KEYS as CONCLUSION_KEYS
from janus_core.decide.structured_output import NONE_WORDS
from janus_core.decide.structured_output import SECTION_TAGS as SECTION_TAGS
from janus_core.decide.structured_output import STRENGTHS as STRENGTHS
from janus_core.decide.structured_output import DecisionsError as DecisionsError
from janus_core.decide.structured_output import ParsedCompletion as ParsedCompletion
from janus_core.decide.structured_output import completion_text as completion_text
from janus_core.decide.structured_output import format_completion as format_completion
from janus_core.decide.structured_output import parse_completion as parse_completion
from janus_core.decide.structured_output import parse_completions as parse_completions
from janus_core.decide.structured_output import parse_conclusion as parse_conclusion

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


def _car_tolerance(decimals: int | None) -> float:
    """Half a unit of the last digit a completion wrote its CAR with (``decimals``; 12 when unknown),
    plus 1e-12: ``0.5 * 10 ** -decimals + 1e-12``."""
    return 0.5 * 10.0 ** -(decimals if decimals is not None else 12) + 1e-12


def _car_agrees(column: float, parsed: float, decimals: int | None) -> bool:
    """A structured CAR agrees with the completion's when it is within half a unit of the last digit
    the completion wrote (the column may state the same prediction more precisely)."""
    return abs(column - parsed) <= _car_tolerance(decimals)


#: The structured columns a present completion is compared with and may fill.
_STATED: tuple[str, ...] = ("action", "predicted_event_type", "predicted_strength", "predicted_car")


@dataclass(frozen=True)
class _Said:
    """What the present completions said: ``rows`` (positions in the frame of the rows with a
    completion), ``parsed`` (:func:`parse_completions` of their texts without the reasons, one row
    each) and ``stated``
    (their structured columns ``_STATED`` as given)."""

    rows: pl.Series
    parsed: pl.DataFrame
    stated: pl.DataFrame


def _completion_problems(
    out: pl.DataFrame, claimed: pl.Series | None, where: Callable[[int], str]
) -> tuple[dict[int, str], _Said | None]:
    """Parse every present completion (:func:`parse_completions`, on those rows only) and compare it
    with the row's structured columns: ``format_ok`` (when claimed), ``action``, and, when given, the
    predicted type, strength and CAR. A disagreement is a ``completion_mismatch`` problem of the
    row. Returns the problems and what the completions said (None when no completion is present).

    The disagreement test runs column-wise (``_disagrees``, exactly the rules below); only the rows
    it flags are re-parsed (each distinct text once) and described one by one (:func:`_mismatch_message`)."""
    rows = out["completion"].is_not_null().arg_true()
    if rows.len() == 0:
        return {}, None
    present = out.select("completion", *_STATED)[rows]
    parsed = parse_completions(present["completion"], reasons=False)
    claims = None if claimed is None else claimed.gather(rows)
    flagged = rows.gather(_disagrees(present, claims, parsed).arg_true()).to_list()
    problems: dict[int, str] = {}
    said: dict[str, ParsedCompletion] = {}
    for i in flagged:
        text = out["completion"][i]
        if text not in said:
            said[text] = parse_completion(text)
        found = _mismatch_message(said[text], None if claimed is None else claimed[i], {c: out[c][i] for c in _STATED})
        if found:
            problems[i] = f"{where(i)}: completion: completion_mismatch: " + "; ".join(found)
    return problems, _Said(rows, parsed, present.drop("completion"))


def _disagrees(out: pl.DataFrame, claimed: pl.Series | None, parsed: pl.DataFrame) -> pl.Series:
    """Rows whose structured columns disagree with their parsed completion (the rules of
    :func:`_mismatch_message`, column-wise): a stated ``format_ok`` or ``action`` other than the
    parsed one, a stated type or strength other than the parsed one (or none parsed), a stated CAR
    when none was parsed or with ``|column - parsed| > tol`` (``tol`` from :func:`_car_tolerance`,
    computed once per distinct decimals). Null where the comparison is null (no completion)."""
    car, said_car = out["predicted_car"], parsed["predicted_car"]
    compared = car.is_not_null() & said_car.is_not_null()
    decimals = parsed["car_decimals"].fill_null(12).filter(compared)
    tol_of = {d: _car_tolerance(d) for d in decimals.unique().to_list()}
    tol = parsed["car_decimals"].fill_null(12).replace_strict(tol_of, default=None, return_dtype=pl.Float64)
    bad = car.is_not_null() & (said_car.is_null() | car.is_nan() | ((car - said_car).abs() > tol))
    for col in ("predicted_event_type", "predicted_strength"):
        said = parsed[col]
        bad = bad | (out[col].is_not_null() & (said.is_null() | (out[col] != said)))
    bad = bad | (out["action"].is_not_null() & (out["action"] != parsed["action"]))
    if claimed is not None:
        bad = bad | (claimed.is_not_null() & (claimed != parsed["format_ok"]))
    return bad.fill_null(False)


def _mismatch_message(p: ParsedCompletion, claim: bool | None, columns: Mapping[str, object]) -> list[str]:
    """What a row's structured columns (``columns``, ``claim`` its ``format_ok``) say that its parsed
    completion ``p`` does not, one message per disagreeing column (empty when they agree)."""
    found: list[str] = []
    if claim is not None and claim != p.format_ok:
        found.append(
            f"format_ok {str(claim).lower()} but the completion "
            + ("parses" if p.format_ok else f"is malformed ({p.format_error})")
        )
    if columns["action"] is not None and columns["action"] != p.action:
        found.append(
            f"action {columns['action']!r} but the completion says {p.action!r}"
            + ("" if p.format_ok else f" (malformed: {p.format_error})")
        )
    for col, said in (
        ("predicted_event_type", p.predicted_event_type),
        ("predicted_strength", p.predicted_strength),
    ):
        if columns[col] is not None and columns[col] != said:
            found.append(f"{col} {columns[col]!r} but the completion says {said!r}")
    car = columns["predicted_car"]
    if car is not None and (p.predicted_car is None or not _car_agrees(car, p.predicted_car, p.car_decimals)):
        found.append(f"predicted_car {car!r} but the completion says {p.predicted_car!r}")
    return found


def _what_the_model_said(out: pl.DataFrame, claimed: pl.Series | None, said: _Said | None) -> pl.DataFrame:
    """``format_ok`` from each present completion (else the claimed flag, else false), and each
    unstated prediction filled from the completion. Only the rows with a completion are touched;
    a column none of them changes is kept as it is."""
    fmt = claimed.fill_null(False) if claimed is not None else pl.repeat(False, out.height, eager=True)
    if said is None:
        return out.with_columns(fmt.alias("format_ok"))
    before = fmt.gather(said.rows)
    after = said.parsed["format_ok"].fill_null(before)
    if not (after == before).all():
        fmt = fmt.scatter(said.rows, after)
    changed = []
    for c in ("predicted_event_type", "predicted_strength", "predicted_car"):
        filled = said.stated[c].fill_null(said.parsed[c])
        if filled.null_count() != said.stated[c].null_count():
            changed.append(out[c].scatter(said.rows, filled))
    return out.with_columns(fmt.alias("format_ok"), *changed)


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
    place = _Place(source_name, df[line_column].to_list() if line_column is not None else None)
    raw = df.drop(line_column) if line_column is not None else df
    out, stages = _value_problems(_cast_to_schema(raw, source_name), place)
    claimed: pl.Series | None = None
    if "format_ok" in out.columns:
        out, format_problems = _claimed_format_ok(out, place.where)
        stages.append(format_problems)
        missing_ok = (out["format_ok"].is_null() & raw["format_ok"].is_null()).arg_true().to_list()
        stages.append(
            {i: place.at(i, "format_ok", "missing_value", "value is missing (rule: boolean)") for i in missing_ok}
        )
        claimed = out["format_ok"]
    mismatches, parsed = _completion_problems(out, claimed, place.where)
    stages.append(mismatches)
    if format_claims_need_completion and claimed is not None:
        unverifiable = (claimed.fill_null(False) & out["completion"].is_null()).arg_true().to_list()
        stages.append({i: place.at(i, "format_ok", "unverifiable_format_ok", _UNVERIFIABLE) for i in unverifiable})
    if unique:
        stages.append(_duplicate_problems(out, place))
    bad_rows: dict[int, list[str]] = {}
    for stage in stages:
        for i, message in sorted(stage.items()):
            bad_rows.setdefault(i, []).append(message)
    if bad_rows and on_invalid == "fail":
        first = next(stage for stage in stages if stage)
        raise DecisionsError(first[min(first)])
    out = _what_the_model_said(out, claimed, parsed)
    return _split_rejected(
        raw, out.select(*DECISION_SCHEMA, *(c for c in out.columns if c not in DECISION_SCHEMA)), bad_rows, place
    )


_UNVERIFIABLE = (
    "true but there is no completion to check it against (rule: format validity comes from the model's output)"
)


@dataclass(frozen=True)
class _Place:
    """Where a row's problem is: ``source:LINE`` when ``lines`` holds each row's line in its file,
    else ``source: row I`` (0-based position)."""

    source: str
    lines: list[int] | None

    def where(self, i: int | None) -> str:
        if i is None:
            return f"{self.source}: "
        return f"{self.source}:{self.lines[i]}" if self.lines is not None else f"{self.source}: row {i}"

    def at(self, i: int, column: str, rule: str, message: str) -> str:
        if self.lines is not None:
            return f"{self.where(i)}: {column}: {rule}: {message}"
        return f"{self.where(i)}, column {column!r}: {message}"


def _cast_to_schema(raw: pl.DataFrame, source_name: str) -> pl.DataFrame:
    """Every ``DECISION_SCHEMA`` column but ``format_ok`` cast strictly to its dtype (null when absent)."""
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
    return out


def _value_problems(out: pl.DataFrame, place: _Place) -> tuple[pl.DataFrame, list[dict[int, str]]]:
    """The per-value rules, one stage each in rule order (required, enums, finite CAR, event type),
    and the frame with the predicted types normalised. Whether each rule fails anywhere is one
    polars ``select`` (its expressions run in parallel); only a failing rule's rows are listed."""
    rules: list[tuple[str, pl.Expr, Callable[[int], str]]] = [
        (col, pl.col(col).is_null(), lambda i, col=col: place.at(i, col, "missing_value", _REQUIRED))
        for col in REQUIRED_DECISION_COLUMNS
    ]
    for col, rule, failed, text in (
        ("action", "invalid_enum", _not_one_of("action", ACTIONS), f"not one of {'|'.join(ACTIONS)}"),
        (
            "predicted_strength",
            "invalid_enum",
            _not_one_of("predicted_strength", STRENGTHS),
            f"not one of {'|'.join(STRENGTHS)}",
        ),
        (
            "predicted_car",
            "non_finite",
            (pl.col("predicted_car").is_not_null() & ~pl.col("predicted_car").is_finite()).fill_null(False),
            "not a finite number",
        ),
    ):
        rules.append(
            (
                col,
                failed,
                lambda i, col=col, rule=rule, text=text: place.at(i, col, rule, f"value {out[col][i]!r} {text}"),
            )
        )
    known_type = pl.col("predicted_event_type").is_in(EVENT_TYPES).or_(pl.col("predicted_event_type").is_null())
    anywhere = out.select(
        *(failed.any().alias(str(k)) for k, (_, failed, _) in enumerate(rules)), known_type.all().alias("known_types")
    ).row(0)
    stages: list[dict[int, str]] = []
    for (_, failed, message), fails in zip(rules, anywhere, strict=False):
        bad = out.select(failed).to_series().arg_true().to_list() if fails else []
        stages.append({i: message(i) for i in bad})
    types = ", ".join(EVENT_TYPES)
    out, type_problems = (
        (out, {})
        if anywhere[-1]
        else _normalise_predicted_types(
            out,
            lambda i, v: place.at(
                i, "predicted_event_type", "invalid_enum", f"value {v!r} is not one of the ten event types {types}"
            ),
        )
    )
    stages.append(type_problems)
    return out, stages


_REQUIRED = "value is missing (rule: required)"


def _not_one_of(col: str, allowed: tuple[str, ...]) -> pl.Expr:
    """The non-null values of ``col`` that are none of ``allowed`` (equality tests, a few words:
    cheaper than a hash lookup per value)."""
    known = pl.col(col) == allowed[0]
    for word in allowed[1:]:
        known = known | (pl.col(col) == word)
    return (~known).fill_null(False)


def _duplicate_problems(out: pl.DataFrame, place: _Place) -> dict[int, str]:
    """Rows repeating an earlier (event_id, strategy_id): one decision per event and strategy."""
    dup = (~out.select(pl.struct("event_id", "strategy_id").is_first_distinct()).to_series()).arg_true().to_list()
    problems = {}
    for i in dup:
        key = f"({out['event_id'][i]!r}, {out['strategy_id'][i]!r}) repeats an earlier row (rule: "
        if place.lines is not None:
            text = f"{key}one decision per event and strategy)"
            problems[i] = place.at(i, "event_id,strategy_id", "duplicate_key", text)
        else:
            problems[i] = (
                f"{place.source}: row {i}, columns 'event_id','strategy_id': {key}one decision per event and strategy)"
            )
    return problems


def _split_rejected(
    raw: pl.DataFrame, out: pl.DataFrame, bad_rows: Mapping[int, list[str]], place: _Place
) -> DecisionsCheck:
    """The accepted rows of ``out`` and the rejected rows of ``raw`` (values as given, ``row`` as in
    the source, every ``reason``)."""
    n = out.height
    if not bad_rows:
        return DecisionsCheck(
            frame=out, rejected=pl.DataFrame(schema={"row": pl.Int64, "reason": pl.String}), rows_read=n
        )
    keep = pl.Series([i not in bad_rows for i in range(n)])
    lines = place.lines
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
    problem of its row (and null in the returned frame). Run only when some value is not a slug."""
    raw_type = pl.col("predicted_event_type").str.strip_chars()
    out = out.with_columns(
        pl.when(raw_type.is_null() | raw_type.str.to_lowercase().is_in(sorted(NONE_WORDS)))
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
