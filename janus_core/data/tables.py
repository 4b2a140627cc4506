"""Reading, coercing and checking the data contract's tables (:mod:`janus_core.data.rows` declares
them): every rule runs as a polars expression over whole columns, and every problem names the file,
the row as in the file, the column and the rule."""

from __future__ import annotations

import csv
import datetime as dt
import io
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from janus_core.data.events import (
    EVENT_TYPES,
    UNKNOWN_EVENT_TYPE,
    derive_event_id,
    normalise_event_types,
)
from janus_core.data.rows import (
    _DATETIME_PATTERN,
    _FALSE,
    _ROW,
    _TRUE,
    MAX_OFFSET_MINUTES,
    PRICE_MAX,
    PRICE_MIN,
    TABLE_SCHEMAS,
    UTC_DATETIME,
    ColumnSpec,
    DataValidationError,
    FileFormat,
    OnInvalid,
    Rule,
    _empty_problems,
    _sort_problems,
    _table_problem,
    table_columns,
)
from janus_core.hashing import sha256_bytes

if typing.TYPE_CHECKING:
    pass

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
    index), how to turn record indices into the row numbers a person sees in the file, and the SHA-256
    of exactly the bytes that were parsed (None for an in-memory frame)."""

    file: str
    frame: pl.DataFrame
    row_numbers: Callable[[list[int]], list[int]]
    sha256: str | None = None


def _identity_rows(indices: list[int]) -> list[int]:
    return indices


def _csv_rows(data: bytes) -> Callable[[list[int]], list[int]]:
    """Record index -> line where that record starts (header is line 1). Uses the csv module only
    when asked (on error), so quoted fields spanning lines are numbered correctly."""

    def rows(indices: list[int]) -> list[int]:
        starts: list[int] = []
        reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
        last = 0
        for _ in reader:
            starts.append(last + 1)
            last = reader.line_num
        return [starts[i] if i < len(starts) else last for i in indices]  # starts[0] is the header line

    return rows


def _jsonl_rows(data: bytes) -> Callable[[list[int]], list[int]]:
    """Record index -> line number, skipping blank lines as the JSON Lines reader does."""

    def rows(indices: list[int]) -> list[int]:
        lines = [n for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
        return [lines[i - 1] if 0 < i <= len(lines) else i for i in indices]

    return rows


def read_raw(source: str | Path | pl.DataFrame, fmt: FileFormat | None = None, *, name: str | None = None) -> RawTable:
    """Read a table file (or take an in-memory frame) without interpreting its values.

    The path is taken literally (no glob expansion: ``evg[1].csv`` is that file, never ``evg1.csv``):
    the file's bytes are read once, hashed (``RawTable.sha256``) and parsed from memory, so what is
    recorded is exactly what was read. CSV and JSON Lines are read with every column as String so that
    each value is parsed and checked by the rules; Parquet keeps its types. Raises
    :class:`DataValidationError` (``unreadable_file``) when the file cannot be read at all.
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
        data = path.read_bytes()
    except OSError as exc:
        raise DataValidationError(
            _table_problem(label, None, "unreadable_file", f"cannot read the file: {exc.strerror or exc}")
        ) from exc
    try:
        if fmt == "parquet":
            frame, rows = pl.read_parquet(io.BytesIO(data)), _identity_rows
        elif fmt == "csv":
            frame, rows = pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False), _csv_rows(data)
        else:
            columns = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None).columns
            frame = pl.read_ndjson(io.BytesIO(data), schema={c: pl.String for c in columns})
            rows = _jsonl_rows(data)
    except (OSError, pl.exceptions.PolarsError, ValueError, RecursionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(
            _table_problem(label, None, "unreadable_file", f"cannot read as {fmt}: {first}")
        ) from exc
    frame = frame.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))
    return RawTable(label, frame, rows, sha256_bytes(data))


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
    offset_hours = digits.str.slice(0, 2).cast(pl.Int64, strict=False)
    offset_minutes = digits.str.slice(2, 2).cast(pl.Int64, strict=False).fill_null(0)
    bad_offset = (
        offset.is_not_null()
        & (offset.str.to_lowercase() != "z")
        & ((offset_minutes >= 60) | (offset_hours * 60 + offset_minutes > MAX_OFFSET_MINUTES))
    ).fill_null(False)
    exact = pl.when(~bad_offset).then(local.dt.replace_time_zone("UTC") - pl.duration(minutes=minutes))
    errors: dict[Rule, Check] = {
        "wrong_type": (unparsed, "'{}' is not an ISO-8601 date-time"),
        "invalid_offset": (
            given & ~unparsed & bad_offset,
            "'{}' has a UTC offset outside -14:00..+14:00 or with minutes >= 60",
        ),
    }
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
        out.append(
            _row_problems(
                frame,
                file,
                name,
                "price_out_of_range",
                c.is_finite() & (c > 0) & ((c < PRICE_MIN) | (c > PRICE_MAX)),
                pl.format(f"price {{}} is outside [{PRICE_MIN:g}, {PRICE_MAX:g}]", c),
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
    #: SHA-256 of the bytes that were parsed (None for an in-memory frame).
    sha256: str | None = None

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


def _finish(
    table: str, raw: RawTable, frame: pl.DataFrame, problems: pl.DataFrame, line_column: str | None = None
) -> tuple[TableLoad, pl.DataFrame]:
    """Split ``frame`` into good and rejected rows by ``problems`` (whose rows are record indices)
    and map every row to the row number a person sees in the file (kept for the good rows in
    ``line_column`` when given)."""
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
    good = frame.join(reasons, on=_ROW, how="anti", maintain_order="left")
    if line_column is not None:
        good = good.with_columns(pl.Series(line_column, raw.row_numbers(good[_ROW].to_list()), dtype=pl.Int64))
    good = good.drop(_ROW)
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
    return TableLoad(table, raw.file, good, rejected, raw.frame.height, raw.sha256), _sort_problems(problems)


def load_tables(
    sources: Mapping[str, str | Path | pl.DataFrame],
    *,
    timezone: str | None,
    on_invalid: OnInvalid = "fail",
    formats: Mapping[str, FileFormat] | None = None,
    progress: Callable[[str], None] | None = None,
    line_column: str | None = None,
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
    ``progress(table)`` is called after each table is read and checked. ``line_column`` keeps each
    accepted row's number in its file (line for CSV and JSON Lines, row for Parquet) in that column.
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
    finished = {t: _finish(t, raw, frame, problems, line_column) for t, (raw, frame, problems) in loads.items()}
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
    line_column: str | None = None,
) -> TableLoad:
    """Read and validate one table on its own (no cross-table rules); see :func:`load_tables`."""
    return load_tables(
        {table: source},
        timezone=timezone,
        on_invalid=on_invalid,
        formats={table: fmt} if fmt else None,
        line_column=line_column,
    ).tables[table]
