"""Data: the input tables of the data contract, validated and loaded into polars.

A *dataset* is a folder of tables (events, prices, benchmarks, securities, optional exposures) plus
a manifest in ``data_manifests/``. After loading, every table has the canonical columns and dtypes
below; extra columns are kept (after the canonical ones, sorted by name, with the type the file gives
them: CSV extras stay String; exposures' extras are the style factors and become Float64).

Canonical dtypes after loading
------------------------------
- events: ``event_id`` String, ``symbol`` String, ``published_at`` Datetime(us, UTC),
  ``event_type`` String (one of ``events.EVENT_TYPES`` or ``"unknown"``), ``event_type_raw`` String,
  ``headline`` String, ``seq`` Int64 (nullable), ``body`` String, ``sentiment`` String
  (positive|negative|neutral, nullable), ``source`` String (nullable).
  Sorted by (published_at, symbol, event_id).
- prices: ``symbol`` String, ``date`` Date, ``open`` Float64, ``close`` Float64, ``volume`` Float64
  (nullable), ``tradable`` Boolean (true when absent). Sorted by (symbol, date).
- benchmarks: ``benchmark`` String, ``date`` Date, ``close`` Float64. Sorted by (benchmark, date).
- securities: ``symbol`` String, ``benchmark`` String, ``name``/``industry``/``size_tier`` String
  (nullable). Sorted by symbol.
- exposures (optional): ``symbol`` String, ``date`` Date, one Float64 column per style factor.
  Sorted by (symbol, date).
- decisions (not part of a Dataset; read with :func:`load_table`): ``event_id``, ``strategy_id``,
  ``action`` (long|short|hold), optional ``predicted_event_type``, ``predicted_strength``
  (strong|weak), ``predicted_car`` Float64, ``rationale``, ``completion``.

The pydantic row models (:data:`TABLE_SCHEMAS`) are the declared schema of each table; the checks
run as polars expressions over whole columns. Every rule produces a :class:`Problem` naming the
file, the row (1-based, as in the file: the line number for CSV, whose header is line 1, and for
JSON Lines; the row index for Parquet and in-memory frames), the column and the rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from janus_core.events import EVENT_TYPES, UNKNOWN_EVENT_TYPE, derive_event_id, normalise_event_types

if typing.TYPE_CHECKING:
    from janus_core.paths import WorkbenchPaths

Provenance = Literal["synthetic_generated", "historical_market_replay"]

TABLE_NAMES: tuple[str, ...] = ("events", "prices", "benchmarks", "securities", "exposures")
REQUIRED_TABLES: tuple[str, ...] = ("events", "prices", "benchmarks", "securities")

FileFormat = Literal["parquet", "csv", "jsonl"]
OnInvalid = Literal["fail", "quarantine"]

#: Problem rules, as they appear in a :class:`Problem`'s ``rule`` field.
Rule = Literal[
    "unreadable_file",
    "missing_column",
    "wrong_type",
    "missing_value",
    "non_finite",
    "non_positive_price",
    "duplicate_key",
    "naive_time",
    "nonexistent_local_time",
    "invalid_enum",
    "unknown_benchmark",
    "unknown_symbol",
]

#: ISO-8601 date-time as accepted in files: date, ``T`` or space, ``HH:MM[:SS[.fff]]``, optional
#: offset (``Z`` or ``+HH:MM``, ``+HHMM``, ``+HH``).
_DATETIME_PATTERN = (
    r"^(?P<d>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})(?P<s>:\d{2}(?:\.\d{1,9})?)?"
    r"\s*(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
UTC_DATETIME = pl.Datetime("us", "UTC")
#: Position of a row in its source (record index for ``__row`` before mapping to file lines).
_ROW = "__row"


# --------------------------------------------------------------------------------------------------
# Row schemas (the declared schema of each table)
# --------------------------------------------------------------------------------------------------


class TableRow(BaseModel):
    """Base of the row schemas. Fields without a default are required columns; the others are
    optional columns. Class variables declare the table-level rules."""

    model_config = ConfigDict(extra="allow")

    #: Columns that identify a row; two rows with the same key are a ``duplicate_key`` problem.
    key: ClassVar[tuple[str, ...]] = ()
    #: Canonical row order (must break all ties of valid data).
    sort_by: ClassVar[tuple[str, ...]] = ()
    #: Prices that must be > 0 (``non_positive_price``).
    positive: ClassVar[tuple[str, ...]] = ()
    #: Columns the loader fills in (not read from the input when absent).
    derived: ClassVar[tuple[str, ...]] = ()
    #: When true, every extra column is a numeric factor (Float64).
    numeric_extras: ClassVar[bool] = False


class EventRow(TableRow):
    """One news event. ``event_type`` is normalised to one of the ten slugs (unknown labels become
    ``"unknown"``, counted, not rejected) and the input label is kept in ``event_type_raw``.
    A missing ``event_id`` is derived as ``events.derive_event_id(published_at as UTC ISO string,
    symbol, seq, source, headline + "\\n" + body)`` (an absent body counts as empty).
    Times without an offset are read in the dataset's exchange time zone."""

    key: ClassVar[tuple[str, ...]] = ("event_id",)
    sort_by: ClassVar[tuple[str, ...]] = ("published_at", "symbol", "event_id")
    derived: ClassVar[tuple[str, ...]] = ("event_id", "event_type_raw")

    event_id: str | None = Field(None, description="unique id; derived from the content when absent")
    symbol: str
    published_at: dt.datetime
    event_type: str
    event_type_raw: str | None = Field(None, description="the input event_type label (set by the loader)")
    headline: str
    seq: int | None = None
    body: str | None = None
    sentiment: Literal["positive", "negative", "neutral"] | None = None
    source: str | None = None


class PriceRow(TableRow):
    """One stock-day. ``open``/``close`` are split- and dividend-adjusted and must be > 0;
    ``tradable`` false marks a suspended or limit-locked day (true when absent)."""

    key: ClassVar[tuple[str, ...]] = ("symbol", "date")
    sort_by: ClassVar[tuple[str, ...]] = ("symbol", "date")
    positive: ClassVar[tuple[str, ...]] = ("open", "close")

    symbol: str
    date: dt.date
    open: float
    close: float
    volume: float | None = None
    tradable: bool | None = None


class BenchmarkRow(TableRow):
    """One benchmark-index day; ``close`` must be > 0."""

    key: ClassVar[tuple[str, ...]] = ("benchmark", "date")
    sort_by: ClassVar[tuple[str, ...]] = ("benchmark", "date")
    positive: ClassVar[tuple[str, ...]] = ("close",)

    benchmark: str
    date: dt.date
    close: float


class SecurityRow(TableRow):
    """One stock; ``benchmark`` must name a series of the benchmarks table (its market model)."""

    key: ClassVar[tuple[str, ...]] = ("symbol",)
    sort_by: ClassVar[tuple[str, ...]] = ("symbol",)

    symbol: str
    benchmark: str
    name: str | None = None
    industry: str | None = None
    size_tier: str | None = None


class ExposureRow(TableRow):
    """One stock-day of risk-model exposures: every column other than symbol and date is a numeric
    style factor."""

    key: ClassVar[tuple[str, ...]] = ("symbol", "date")
    sort_by: ClassVar[tuple[str, ...]] = ("symbol", "date")
    numeric_extras: ClassVar[bool] = True

    symbol: str
    date: dt.date


class DecisionRow(TableRow):
    """One trading decision of a strategy on an event."""

    sort_by: ClassVar[tuple[str, ...]] = (
        "event_id",
        "strategy_id",
        "action",
        "predicted_event_type",
        "predicted_strength",
        "predicted_car",
        "rationale",
        "completion",
    )

    event_id: str
    strategy_id: str
    action: Literal["long", "short", "hold"]
    predicted_event_type: str | None = None
    predicted_strength: Literal["strong", "weak"] | None = None
    predicted_car: float | None = None
    rationale: str | None = None
    completion: str | None = None


TABLE_SCHEMAS: dict[str, type[TableRow]] = {
    "events": EventRow,
    "prices": PriceRow,
    "benchmarks": BenchmarkRow,
    "securities": SecurityRow,
    "exposures": ExposureRow,
    "decisions": DecisionRow,
}


@dataclass(frozen=True)
class ColumnSpec:
    """A declared column: canonical polars dtype, whether required, and allowed values (enums)."""

    name: str
    dtype: pl.DataType
    required: bool
    allowed: tuple[str, ...] | None = None


def _column_spec(name: str, annotation: Any, required: bool) -> ColumnSpec:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) else annotation
    if typing.get_origin(base) is Literal:
        return ColumnSpec(name, pl.String(), required, tuple(typing.get_args(base)))
    dtypes: dict[Any, pl.DataType] = {
        str: pl.String(),
        float: pl.Float64(),
        int: pl.Int64(),
        bool: pl.Boolean(),
        dt.date: pl.Date(),
        dt.datetime: UTC_DATETIME,
    }
    return ColumnSpec(name, dtypes[base], required)


def table_columns(table: str) -> tuple[ColumnSpec, ...]:
    """The declared columns of ``table`` in canonical order, read from its row model."""
    model = TABLE_SCHEMAS[table]
    return tuple(_column_spec(name, f.annotation, f.is_required()) for name, f in model.model_fields.items())


# --------------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------------


class Problem(BaseModel):
    """One violated rule. ``row`` is None for a problem of the whole column or file."""

    model_config = ConfigDict(frozen=True)

    file: str
    row: int | None
    column: str | None
    rule: Rule
    message: str

    def __str__(self) -> str:
        row = "-" if self.row is None else str(self.row)
        return f"{self.file}:{row}: {self.column or '-'}: {self.rule}: {self.message}"


PROBLEM_SCHEMA = {"file": pl.String, "row": pl.Int64, "column": pl.String, "rule": pl.String, "message": pl.String}
#: How many problems an error message lists before summarising the rest.
MAX_LISTED_PROBLEMS = 200


class DataValidationError(ValueError):
    """Input data broke one or more rules. ``problems`` lists every one (sorted by file, row,
    column, rule); the message lists each as ``file:row: column: rule: message``."""

    def __init__(self, problems: pl.DataFrame):
        self.problem_frame = problems
        lines = [str(p) for p in _problem_list(problems.head(MAX_LISTED_PROBLEMS))]
        if problems.height > MAX_LISTED_PROBLEMS:
            lines.append(f"... and {problems.height - MAX_LISTED_PROBLEMS} more problems")
        super().__init__(f"{problems.height} data problem(s):\n" + "\n".join(lines))

    @property
    def problems(self) -> list[Problem]:
        return _problem_list(self.problem_frame)


def _problem_list(frame: pl.DataFrame) -> list[Problem]:
    return [Problem(**r) for r in frame.iter_rows(named=True)]


def _sort_problems(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("file", "row", "column", "rule", "message", nulls_last=False)


def _empty_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def _table_problem(file: str, column: str | None, rule: Rule, message: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"file": [file], "row": [None], "column": [column], "rule": [rule], "message": [message]},
        schema=PROBLEM_SCHEMA,
    )


# --------------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------------


def detect_format(path: str | Path) -> FileFormat:
    """File format from the extension: .parquet/.pq, .csv, .jsonl/.ndjson/.json (JSON Lines)."""
    suffix = Path(path).suffix.lower()
    formats: dict[str, FileFormat] = {
        ".parquet": "parquet",
        ".pq": "parquet",
        ".csv": "csv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
    }
    if suffix not in formats:
        raise ValueError(f"{path}: cannot tell the format from the extension {suffix!r}; give it explicitly")
    return formats[suffix]


@dataclass(frozen=True)
class RawTable:
    """A table as read: raw columns (CSV and JSON Lines: all String) plus ``__row`` (1-based record
    index), and how to turn record indices into the row numbers a person sees in the file."""

    file: str
    frame: pl.DataFrame
    row_numbers: Callable[[list[int]], list[int]]


def _identity_rows(indices: list[int]) -> list[int]:
    return indices


def _csv_rows(path: Path) -> Callable[[list[int]], list[int]]:
    """Record index -> line where that record starts (header is line 1). Uses the csv module only
    when asked (on error), so quoted fields spanning lines are numbered correctly."""

    def rows(indices: list[int]) -> list[int]:
        starts: list[int] = []
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            last = 0
            for _ in reader:
                starts.append(last + 1)
                last = reader.line_num
        return [starts[i] for i in indices]  # starts[0] is the header line, so record i starts at starts[i]

    return rows


def _jsonl_rows(path: Path) -> Callable[[list[int]], list[int]]:
    """Record index -> line number, skipping blank lines as the JSON Lines reader does."""

    def rows(indices: list[int]) -> list[int]:
        lines = [n for n, line in enumerate(path.read_bytes().split(b"\n"), start=1) if line.strip()]
        return [lines[i - 1] for i in indices]

    return rows


def read_raw(source: str | Path | pl.DataFrame, fmt: FileFormat | None = None, *, name: str | None = None) -> RawTable:
    """Read a table file (or take an in-memory frame) without interpreting its values.

    CSV and JSON Lines are read with every column as String so that each value is parsed and
    checked by the rules; Parquet keeps its types. Raises :class:`DataValidationError`
    (``unreadable_file``) when the file cannot be read at all.
    """
    if isinstance(source, pl.DataFrame):
        label = name or "<memory>"
        return RawTable(
            label, source.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64)), _identity_rows
        )
    path = Path(source)
    label = name or str(path)
    fmt = fmt or detect_format(path)
    try:
        if fmt == "parquet":
            frame, rows = pl.read_parquet(path), _identity_rows
        elif fmt == "csv":
            frame, rows = pl.read_csv(path, infer_schema=False, raise_if_empty=False), _csv_rows(path)
        else:
            columns = pl.read_ndjson(path, infer_schema_length=None).columns
            frame = pl.read_ndjson(path, schema={c: pl.String for c in columns})
            rows = _jsonl_rows(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataValidationError(
            _table_problem(label, None, "unreadable_file", f"cannot read as {fmt}: {exc}")
        ) from exc
    frame = frame.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))
    return RawTable(label, frame, rows)


# --------------------------------------------------------------------------------------------------
# Coercion to canonical types (per-row problems as polars expressions)
# --------------------------------------------------------------------------------------------------


def _shown(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.slice(0, 60)


#: A per-row check: (condition that flags a bad row, message template with ``{}`` for the raw value).
Check = tuple[pl.Expr, str]


def _coerce_column(
    col: str, dtype: pl.DataType, raw: pl.DataType, timezone: str | None
) -> tuple[pl.Expr, dict[Rule, Check]] | str:
    """(value expression, {rule: check}) converting ``col`` to ``dtype``, or a string describing
    why the column's type cannot be converted at all."""
    c = pl.col(col)
    if raw == pl.Null:
        return c.cast(dtype), {}
    is_text = raw in (pl.String, pl.Categorical) or isinstance(raw, pl.Enum)
    if dtype == pl.String:
        if is_text:
            return c.cast(pl.String), {}
        return f"expected text, the file has {raw}"
    s = c.cast(pl.String).str.strip_chars() if is_text else c
    given = s.is_not_null() & (s != "") if is_text else c.is_not_null()
    if dtype in (pl.Float64, pl.Int64):
        kind = "a number" if dtype == pl.Float64 else "an integer"
        if is_text:
            value = s.cast(dtype, strict=False)
        elif raw.is_numeric() and dtype == pl.Int64 and raw.is_float():
            value = pl.when(c == c.floor()).then(c).cast(pl.Int64, strict=False)
        elif raw.is_numeric():
            value = c.cast(dtype)
        else:
            return f"expected {kind}, the file has {raw}"
        return value, {"wrong_type": (given & value.is_null(), "'{}' is not " + kind)}
    if dtype == pl.Boolean:
        if raw == pl.Boolean:
            return c, {}
        if is_text:
            low = s.str.to_lowercase()
            value = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
        elif raw.is_integer():
            value = pl.when(c == 1).then(True).when(c == 0).then(False).otherwise(None)
        else:
            return f"expected true/false, the file has {raw}"
        return value, {"wrong_type": (given & value.is_null(), "'{}' is not true/false")}
    if dtype == pl.Date:
        if raw == pl.Date:
            return c, {}
        if is_text:
            value = s.str.to_date("%Y-%m-%d", strict=False)
        elif isinstance(raw, pl.Datetime):
            value = pl.when(c.dt.time() == dt.time(0)).then(c.dt.date())
        else:
            return f"expected a date, the file has {raw}"
        return value, {"wrong_type": (given & value.is_null(), "'{}' is not a date (YYYY-MM-DD)")}
    if dtype == UTC_DATETIME:
        return _coerce_datetime(col, raw, timezone, is_text)
    raise TypeError(f"no conversion to {dtype}")


def _coerce_datetime(
    col: str, raw: pl.DataType, timezone: str | None, is_text: bool
) -> tuple[pl.Expr, dict[Rule, Check]] | str:
    """ISO-8601 text or a Datetime column -> Datetime(us, UTC). With an offset the time is exact;
    without one it is exchange-local time in ``timezone`` (a ``naive_time`` problem when None)."""
    c = pl.col(col)
    if isinstance(raw, pl.Datetime) and raw.time_zone is not None:
        return c.dt.convert_time_zone("UTC").cast(UTC_DATETIME), {}
    if isinstance(raw, pl.Datetime):
        local, offset = c.cast(pl.Datetime("us")), pl.lit(None, dtype=pl.String)
        given = c.is_not_null()
        unparsed = pl.lit(False)
    elif is_text:
        s = c.cast(pl.String).str.strip_chars()
        parts = s.str.extract_groups(_DATETIME_PATTERN)
        text = pl.concat_str(
            parts.struct.field("d"), pl.lit(" "), parts.struct.field("hm"), parts.struct.field("s").fill_null(":00")
        )
        local = text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
        offset = parts.struct.field("z")
        given = s.is_not_null() & (s != "")
        unparsed = given & local.is_null()
    else:
        return f"expected an ISO-8601 date-time, the file has {raw}"
    sign = pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    digits = offset.str.replace_all(r"[+\-:]", "")
    minutes = (
        pl.when(offset.str.to_lowercase() == "z")
        .then(0)
        .otherwise(
            sign
            * (
                digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60
                + digits.str.slice(2, 2).cast(pl.Int64, strict=False).fill_null(0)
            )
        )
    )
    exact = local.dt.replace_time_zone("UTC") - pl.duration(minutes=minutes)
    errors: dict[Rule, Check] = {"wrong_type": (unparsed, "'{}' is not an ISO-8601 date-time")}
    naive = given & ~unparsed & offset.is_null()
    if timezone is None:
        value = pl.when(offset.is_not_null()).then(exact)
        errors["naive_time"] = (naive, "'{}' has no UTC offset and the dataset declares no time zone")
    else:
        zoned = local.dt.replace_time_zone(timezone, ambiguous="null", non_existent="null").dt.convert_time_zone("UTC")
        value = pl.when(offset.is_not_null()).then(exact).otherwise(zoned)
        errors["nonexistent_local_time"] = (
            naive & zoned.is_null(),
            "'{}' does not exist or is ambiguous in " + timezone.replace("{", "("),
        )
    return value.cast(UTC_DATETIME), errors


def event_ts_iso(expr: pl.Expr) -> pl.Expr:
    """A UTC Datetime as the ISO-8601 string used for event identity: ``YYYY-MM-DDTHH:MM:SS[.f]Z``."""
    return expr.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")


def _derive_event_ids(frame: pl.DataFrame) -> pl.Series:
    """``event_id`` where given, else ``derive_event_id(published_at ISO UTC, symbol, seq, source,
    headline + "\\n" + body)`` for rows whose inputs are present (null otherwise)."""
    parts = frame.select(
        pl.col("event_id"),
        event_ts_iso(pl.col("published_at")).alias("ts"),
        pl.col("symbol"),
        pl.col("seq"),
        pl.col("source"),
        (pl.col("headline") + pl.lit("\n") + pl.col("body").fill_null("")).alias("payload"),
    )
    out = [
        given
        if given is not None
        else (
            derive_event_id(ts, sym, seq, src, payload)
            if ts is not None and sym is not None and payload is not None
            else None
        )
        for given, ts, sym, seq, src, payload in parts.iter_rows()
    ]
    return pl.Series("event_id", out, dtype=pl.String)


def _coerce(table: str, raw: RawTable, timezone: str | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical columns (with ``__row``) from a raw table, plus a problem frame whose ``row`` is
    still the record index. Table-level problems have a null row."""
    specs = table_columns(table)
    model = TABLE_SCHEMAS[table]
    frame = raw.frame
    problems: list[pl.DataFrame] = []
    missing = [s.name for s in specs if s.required and s.name not in frame.columns and s.name not in model.derived]
    for name in missing:
        problems.append(_table_problem(raw.file, name, "missing_column", f"required column '{name}' is missing"))
    declared = {s.name for s in specs}
    extras = sorted(c for c in frame.columns if c not in declared and c != _ROW)
    values: list[pl.Expr] = [pl.col(_ROW)]
    checks: dict[str, tuple[Rule, str, str]] = {}
    flags: list[pl.Expr] = []
    targets = [s for s in specs if s.name in frame.columns] + (
        [ColumnSpec(c, pl.Float64(), False) for c in extras] if model.numeric_extras else []
    )
    for spec in targets:
        converted = _coerce_column(spec.name, spec.dtype, frame.schema[spec.name], timezone)
        if isinstance(converted, str):
            problems.append(_table_problem(raw.file, spec.name, "wrong_type", converted))
            continue
        value, errs = converted
        if spec.allowed is not None:  # enums: case and surrounding spaces ignored, empty is absent
            value = value.str.strip_chars().str.to_lowercase()
            value = pl.when(value != "").then(value)
        values.append(value.alias(spec.name))
        for rule, (cond, template) in errs.items():
            flag = f"{rule}\x1f{spec.name}"
            checks[flag] = (rule, spec.name, template)
            flags.append(cond.fill_null(False).alias(flag))
    if any(p["row"].is_null().any() for p in problems):
        return frame.select(_ROW), pl.concat(problems)
    out = frame.lazy().select(*values, *flags).collect()  # lazy: shared conversions computed once
    for flag, (rule, column, template) in checks.items():
        if out[flag].any():  # messages only for the flagged rows
            problems.append(
                frame.filter(out[flag]).select(
                    pl.lit(raw.file).alias("file"),
                    pl.col(_ROW).alias("row"),
                    pl.lit(column).alias("column"),
                    pl.lit(rule).alias("rule"),
                    pl.format(template, _shown(column)).alias("message"),
                )
            )
    out = out.drop(list(checks))
    for spec in specs:
        if spec.name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=spec.dtype).alias(spec.name))
    out = pl.concat([out, frame.select([c for c in extras if c not in out.columns])], how="horizontal")
    if table == "prices":
        out = out.with_columns(pl.col("tradable").fill_null(True))
    if table == "events":
        out = out.with_columns(
            pl.coalesce(pl.col("event_type_raw"), pl.col("event_type")).alias("event_type_raw"),
            normalise_event_types(out["event_type"].fill_null("")),
        )
        out = out.with_columns(_derive_event_ids(out))
    return canonical_order(table, out, keep=(_ROW,)), pl.concat([_empty_problems(), *problems])


def canonical_order(table: str, frame: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """Canonical column order (declared columns, then extras sorted by name) and row order
    (the table's ``sort_by``, nulls last)."""
    declared = [s.name for s in table_columns(table)]
    extras = sorted(c for c in frame.columns if c not in declared and c not in keep)
    present = [c for c in (*keep, *declared, *extras) if c in frame.columns]
    sort_by = list(TABLE_SCHEMAS[table].sort_by)
    return frame.select(present).sort(sort_by, nulls_last=True, maintain_order=True)


# --------------------------------------------------------------------------------------------------
# Rules over canonical frames
# --------------------------------------------------------------------------------------------------


def _row_problems(
    frame: pl.DataFrame, file: str, column: str, rule: Rule, cond: pl.Expr, message: pl.Expr
) -> pl.DataFrame:
    return frame.filter(cond).select(
        pl.lit(file).alias("file"),
        pl.col(_ROW).alias("row"),
        pl.lit(column).alias("column"),
        pl.lit(rule).alias("rule"),
        message.cast(pl.String).alias("message"),
    )


def check_rules(table: str, frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """Single-table rules on a canonical frame that has a ``__row`` column: missing required
    values, NaN/inf, non-positive prices, invalid enums, duplicate keys (every row sharing a key is
    a problem: which copy is right cannot be known)."""
    model = TABLE_SCHEMAS[table]
    specs = table_columns(table)
    out: list[pl.DataFrame] = [_empty_problems()]
    for spec in specs:
        c = pl.col(spec.name)
        if spec.required:
            blank = c.is_null() | (c.str.strip_chars() == "") if spec.dtype == pl.String else c.is_null()
            out.append(
                _row_problems(
                    frame, file, spec.name, "missing_value", blank, pl.lit(f"required value of '{spec.name}' is empty")
                )
            )
        if spec.allowed is not None:
            out.append(
                _row_problems(
                    frame,
                    file,
                    spec.name,
                    "invalid_enum",
                    c.is_not_null() & ~c.is_in(spec.allowed),
                    pl.format("'{}' is not one of " + ", ".join(spec.allowed), c),
                )
            )
    floats = [c for c, t in frame.schema.items() if t == pl.Float64]
    for name in floats:
        c = pl.col(name)
        out.append(
            _row_problems(
                frame, file, name, "non_finite", c.is_nan() | c.is_infinite(), pl.format("{} is not a finite number", c)
            )
        )
    for name in model.positive:
        c = pl.col(name)
        out.append(
            _row_problems(
                frame, file, name, "non_positive_price", c.is_finite() & (c <= 0), pl.format("price {} is not > 0", c)
            )
        )
    if table == "events":
        allowed_types = (*EVENT_TYPES, UNKNOWN_EVENT_TYPE)
        out.append(
            _row_problems(
                frame,
                file,
                "event_type",
                "invalid_enum",
                ~pl.col("event_type").is_in(allowed_types),
                pl.format("'{}' is not an event-type slug or 'unknown'", pl.col("event_type")),
            )
        )
    if model.key:
        keyed = frame.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in model.key))
        shown = pl.concat_str([pl.format(f"{k}={{}}", pl.col(k)) for k in model.key], separator=", ")
        out.append(
            _row_problems(
                keyed,
                file,
                ",".join(model.key),
                "duplicate_key",
                pl.len().over(model.key) > 1,
                pl.format("duplicate key ({}): {} rows share it", shown, pl.len().over(model.key)),
            )
        )
    return pl.concat(out)


def _membership_problems(
    frame: pl.DataFrame, file: str, column: str, known: pl.Series, rule: Rule, what: str
) -> pl.DataFrame:
    c = pl.col(column)
    return _row_problems(
        frame,
        file,
        column,
        rule,
        c.is_not_null() & ~c.is_in(known.implode()),
        pl.format("'{}' is not in the " + what, c),
    )


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableLoad:
    """One loaded table: the good rows (canonical), the rejected rows (raw values plus ``row`` as
    in the file and ``reason``), and counts."""

    table: str
    file: str
    frame: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int

    @property
    def unknown_event_types(self) -> int:
        """Events whose type normalised to ``"unknown"`` (counted, not rejected)."""
        if self.table != "events":
            return 0
        return int((self.frame["event_type"] == UNKNOWN_EVENT_TYPE).sum())


@dataclass(frozen=True)
class DatasetLoad:
    """Every table of an import, with all problems found (empty in strict mode, which raises)."""

    tables: dict[str, TableLoad]
    problems: pl.DataFrame = field(default_factory=_empty_problems)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: t.frame for name, t in self.tables.items()}

    def rejected(self) -> dict[str, pl.DataFrame]:
        """Rejected rows per table (only tables that rejected any)."""
        return {name: t.rejected for name, t in self.tables.items() if t.rejected.height}

    def counts(self) -> dict[str, dict[str, int]]:
        """Per table: rows read, accepted, rejected (and unknown event types for events)."""
        out: dict[str, dict[str, int]] = {}
        for name, t in self.tables.items():
            out[name] = {"read": t.rows_read, "accepted": t.frame.height, "rejected": t.rejected.height}
            if name == "events":
                out[name]["unknown_event_type"] = t.unknown_event_types
        return out


def _finish(table: str, raw: RawTable, frame: pl.DataFrame, problems: pl.DataFrame) -> tuple[TableLoad, pl.DataFrame]:
    """Split ``frame`` into good and rejected rows by ``problems`` (whose rows are record indices)
    and map every row to the row number a person sees in the file."""
    reasons = (
        problems.filter(pl.col("row").is_not_null())
        .group_by("row")
        .agg(
            pl.concat_str(pl.col("column"), pl.lit(": "), pl.col("rule"), pl.lit(": "), pl.col("message"))
            .sort()
            .str.join("; ")
            .alias("reason")
        )
        .rename({"row": _ROW})
    )
    good = frame.join(reasons, on=_ROW, how="anti", maintain_order="left").drop(_ROW)
    rejected = raw.frame.join(reasons, on=_ROW, how="inner").sort(_ROW)
    if problems.height:
        indices = pl.concat([problems["row"].drop_nulls(), rejected[_ROW]]).unique().sort()
        lines = pl.DataFrame(
            {_ROW: indices, "line": raw.row_numbers(indices.to_list())}, schema={_ROW: pl.Int64, "line": pl.Int64}
        )
        problems = (
            problems.join(lines.rename({_ROW: "row"}), on="row", how="left", maintain_order="left")
            .with_columns(pl.col("line").alias("row"))
            .drop("line")
        )
        rejected = (
            rejected.join(lines, on=_ROW, how="left", maintain_order="left")
            .with_columns(pl.col("line").alias(_ROW))
            .drop("line")
        )
    rejected = rejected.rename({_ROW: "row"}).select("row", "reason", pl.exclude("row", "reason"))
    return TableLoad(table, raw.file, good, rejected, raw.frame.height), _sort_problems(problems)


def load_tables(
    sources: Mapping[str, str | Path | pl.DataFrame],
    *,
    timezone: str | None,
    on_invalid: OnInvalid = "fail",
    formats: Mapping[str, FileFormat] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DatasetLoad:
    """Read, convert and validate every table of a dataset (files or in-memory frames).

    Single-table rules run per table; then the cross-table rules: ``securities.benchmark`` must be
    a benchmark of the (good) benchmarks rows (``unknown_benchmark``), and prices/exposures rows
    must name a (good) security (``unknown_symbol``). Times without an offset are read in
    ``timezone`` (``naive_time`` problems when None).

    ``on_invalid="fail"`` (strict, the default) raises :class:`DataValidationError` listing every
    problem of every table. ``"quarantine"`` returns the good rows and the rejected rows with their
    reasons; problems of a whole file or column (unreadable file, missing required column, a
    column of the wrong type) still raise, since no row of that table can be trusted.
    ``progress(table)`` is called after each table is read and checked.
    """
    unknown = sorted(set(sources) - set(TABLE_SCHEMAS))
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; known: {sorted(TABLE_SCHEMAS)}")
    order = [t for t in ("benchmarks", "securities", "prices", "exposures", "events", "decisions") if t in sources]
    formats = formats or {}
    loads: dict[str, tuple[RawTable, pl.DataFrame, pl.DataFrame]] = {}
    fatal: list[pl.DataFrame] = []
    for table in order:
        source = sources[table]
        try:
            raw = read_raw(source, formats.get(table), name=f"<{table}>" if isinstance(source, pl.DataFrame) else None)
        except DataValidationError as exc:
            fatal.append(exc.problem_frame)
            continue
        frame, problems = _coerce(table, raw, timezone)
        if problems["row"].is_null().any():
            fatal.append(problems)
            continue
        # a value that failed conversion is null now: do not report it again as missing
        rules = check_rules(table, frame, raw.file).join(
            problems.select("row", "column"), on=["row", "column"], how="anti"
        )
        problems = pl.concat([problems, rules])
        if table == "securities" and "benchmarks" in loads:
            known = _good_values(loads["benchmarks"], "benchmark")
            problems = pl.concat(
                [
                    problems,
                    _membership_problems(frame, raw.file, "benchmark", known, "unknown_benchmark", "benchmarks table"),
                ]
            )
        if table in ("prices", "exposures") and "securities" in loads:
            known = _good_values(loads["securities"], "symbol")
            problems = pl.concat(
                [problems, _membership_problems(frame, raw.file, "symbol", known, "unknown_symbol", "securities table")]
            )
        loads[table] = (raw, frame, problems)
        if progress is not None:
            progress(table)
    if fatal:
        raise DataValidationError(_sort_problems(pl.concat([*fatal, *(p for _, _, p in loads.values())])))
    finished = {t: _finish(t, raw, frame, problems) for t, (raw, frame, problems) in loads.items()}
    all_problems = _sort_problems(pl.concat([_empty_problems(), *(p for _, p in finished.values())]))
    if on_invalid == "fail" and all_problems.height:
        raise DataValidationError(all_problems)
    return DatasetLoad({t: finished[t][0] for t in TABLE_SCHEMAS if t in finished}, all_problems)


def _good_values(load: tuple[RawTable, pl.DataFrame, pl.DataFrame], column: str) -> pl.Series:
    _, frame, problems = load
    return frame.filter(~pl.col(_ROW).is_in(problems["row"].implode()))[column].unique()


def load_table(
    table: str,
    source: str | Path | pl.DataFrame,
    *,
    timezone: str | None,
    fmt: FileFormat | None = None,
    on_invalid: OnInvalid = "fail",
) -> TableLoad:
    """Read and validate one table on its own (no cross-table rules); see :func:`load_tables`."""
    return load_tables(
        {table: source}, timezone=timezone, on_invalid=on_invalid, formats={table: fmt} if fmt else None
    ).tables[table]


# --------------------------------------------------------------------------------------------------
# The canonical in-memory dataset
# --------------------------------------------------------------------------------------------------


def check_timezone(zone: str) -> str:
    """``zone`` when it is an IANA time-zone name (e.g. ``Asia/Shanghai``), else ValueError."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{zone!r} is not an IANA time zone (e.g. Asia/Shanghai, America/New_York)") from exc
    return zone


def check_news_cutoff(cutoff: str) -> str:
    """``cutoff`` when it is an exchange-local ``HH:MM`` time, else ValueError."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", cutoff):
        raise ValueError(f"news cut-off {cutoff!r} must be HH:MM (exchange local time)")
    return cutoff


class DatasetMeta(BaseModel):
    """Per-dataset facts from the manifest that the computation needs (time zone and cut-off are
    checked: an IANA zone name and ``HH:MM``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    provenance: Provenance
    exchange_timezone: str
    #: Point-in-time cut-off in exchange local time: news from this time on day t up to the same
    #: time on the next trading day informs day t+1 (the paper: 09:30, UTC+8).
    news_cutoff: str = "09:30"
    as_of: str
    #: H over the tables' content hashes, from the manifest (None before the dataset is saved).
    snapshot_hash: str | None = None

    @field_validator("exchange_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return check_timezone(zone)

    @field_validator("news_cutoff")
    @classmethod
    def _hh_mm(cls, cutoff: str) -> str:
        return check_news_cutoff(cutoff)


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated dataset: canonical polars frames plus its manifest metadata."""

    meta: DatasetMeta
    events: pl.DataFrame
    prices: pl.DataFrame
    benchmarks: pl.DataFrame
    securities: pl.DataFrame
    exposures: pl.DataFrame | None = None

    @property
    def name(self) -> str:
        return self.meta.name

    def tables(self) -> dict[str, pl.DataFrame]:
        """The present tables by name, in ``TABLE_NAMES`` order."""
        frames = {
            "events": self.events,
            "prices": self.prices,
            "benchmarks": self.benchmarks,
            "securities": self.securities,
            "exposures": self.exposures,
        }
        return {name: frames[name] for name in TABLE_NAMES if frames[name] is not None}

    def style_factors(self) -> list[str]:
        """Names of the numeric style-factor columns in ``exposures`` (empty when absent)."""
        if self.exposures is None:
            return []
        return [c for c in self.exposures.columns if c not in ("symbol", "date")]


def check_dataset(ds: Dataset) -> None:
    """Fail closed unless every table of ``ds`` is canonical: each declared column present with its
    canonical dtype (exposure factors Float64) and every rule of :func:`load_tables` satisfied.
    Raises :class:`DataValidationError`; problem rows are 1-based row indices of the frames."""
    problems: list[pl.DataFrame] = [_empty_problems()]
    tables = ds.tables()
    for table, frame in tables.items():
        file = f"<{ds.name}/{table}>"
        wrong = [
            _table_problem(
                file,
                s.name,
                "missing_column" if s.name not in frame.columns else "wrong_type",
                f"canonical column '{s.name}' must be {s.dtype}"
                + ("" if s.name not in frame.columns else f", is {frame.schema[s.name]}"),
            )
            for s in table_columns(table)
            if s.name not in frame.columns or frame.schema[s.name] != s.dtype
        ]
        if table == "exposures":
            wrong += [
                _table_problem(file, c, "wrong_type", f"style factor '{c}' must be Float64, is {t}")
                for c, t in frame.schema.items()
                if c not in ("symbol", "date") and t != pl.Float64
            ]
        if wrong:
            problems += wrong
            continue
        indexed = frame.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))
        problems.append(check_rules(table, indexed, file))
        if table == "securities":
            problems.append(
                _membership_problems(
                    indexed,
                    file,
                    "benchmark",
                    ds.benchmarks["benchmark"].unique(),
                    "unknown_benchmark",
                    "benchmarks table",
                )
            )
        if table in ("prices", "exposures"):
            problems.append(
                _membership_problems(
                    indexed, file, "symbol", ds.securities["symbol"].unique(), "unknown_symbol", "securities table"
                )
            )
    found = pl.concat(problems)
    if found.height:
        raise DataValidationError(_sort_problems(found))


def load_dataset(name: str, paths: WorkbenchPaths | None = None, *, verify_files: bool = True) -> Dataset:
    """The saved dataset ``name`` (see :func:`janus_core.manifest.load_dataset`)."""
    from janus_core import manifest

    return manifest.load_dataset(name, paths, verify_files=verify_files)


def list_datasets(paths: WorkbenchPaths | None = None) -> list[str]:
    """Names of the datasets whose manifests are present (see :func:`janus_core.manifest.list_datasets`)."""
    from janus_core import manifest

    return manifest.list_datasets(paths)


def dataset_choices(paths: WorkbenchPaths | None, requested: object = None,
                    default: str = "synthetic-ashare") -> tuple[list[str], str]:
    """A dataset picker's options and value: the datasets with a manifest under ``paths`` plus the
    requested one (``requested`` or ``default`` when empty), sorted by name."""
    value = str(requested or default)
    return sorted(set(list_datasets(paths)) | {value}), value
