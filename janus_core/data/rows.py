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

import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

if typing.TYPE_CHECKING:
    pass

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
    "invalid_offset",
    "price_out_of_range",
]

#: Prices and index levels a table may hold: positive and within [PRICE_MIN, PRICE_MAX]
#: (``price_out_of_range`` otherwise). Below a millionth or above a billion per share is a unit or
#: data error, not a market (the highest listed share price is below a million); the bounds also keep
#: every derived return and decimal string far from floating-point and decimal-context limits.
PRICE_MIN = 1e-6
PRICE_MAX = 1e9
#: Largest UTC offset a time may carry (``invalid_offset`` beyond it, or with minutes >= 60): real
#: offsets run from -12:00 to +14:00.
MAX_OFFSET_MINUTES = 14 * 60

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
