"""Loading the data contract's tables (:mod:`janus_core.data.rows` declares them): read
(:mod:`janus_core.data.reading`), convert every column to its canonical type, check the rules
(:mod:`janus_core.data.rules`) and split good from rejected rows. Every step runs as polars
expressions over whole columns, and every problem names the file, the row as in the file, the column
and the rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from janus_core.data.events import (
    UNKNOWN_EVENT_TYPE,
    derive_event_id,
    normalise_event_types,
)
from janus_core.data.reading import RawTable, read_raw
from janus_core.data.rows import (
    _DATETIME_PATTERN,
    _FALSE,
    _ROW,
    _TRUE,
    MAX_OFFSET_MINUTES,
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
from janus_core.data.rules import check_rules, membership_problems

# --------------------------------------------------------------------------------------------------
# Coercion to canonical types (per-row problems as polars expressions)
# --------------------------------------------------------------------------------------------------


def _shown(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.slice(0, 60)


#: A per-row check: (condition that flags a bad row, message template with ``{}`` for the raw value).
Check = tuple[pl.Expr, str]


def _is_text(raw: pl.DataType) -> bool:
    return raw in (pl.String, pl.Categorical) or isinstance(raw, pl.Enum)


def _coerce_column(
    col: str, dtype: pl.DataType, raw: pl.DataType, timezone: str | None, *, strip: bool = True
) -> tuple[pl.Expr, dict[Rule, Check]] | str:
    """(value expression, {rule: check}) converting ``col`` to ``dtype``, or a string describing
    why the column's type cannot be converted at all. Text is converted after stripping surrounding
    white space; ``strip=False`` converts it as it is (the fast path of :func:`_converted`)."""
    c = pl.col(col)
    if raw == pl.Null:
        return c.cast(dtype), {}
    is_text = _is_text(raw)
    if dtype == pl.String:
        if is_text:
            return c.cast(pl.String), {}
        return f"expected text, the file has {raw}"
    s = (c.cast(pl.String).str.strip_chars() if strip else c.cast(pl.String)) if is_text else c
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
    elif is_text:  # the parts of the text are columns that _converted adds first (_datetime_parts)
        s, local, offset = (pl.col(f"{col}\x1f{part}") for part in ("text", "local", "offset"))
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


def _datetime_parts(frame: pl.DataFrame, col: str) -> pl.DataFrame:
    """The parts of an ISO-8601 text column, as the columns ``col\\x1ftext`` (stripped),
    ``col\\x1flocal`` (the date-time without its offset, naive) and ``col\\x1foffset`` (the offset text,
    null when absent), computed once for every check of :func:`_coerce_datetime`."""
    s = pl.col(col).cast(pl.String).str.strip_chars()
    parts = pl.col(f"{col}\x1fparts")
    text = pl.concat_str(
        parts.struct.field("d"), pl.lit(" "), parts.struct.field("hm"), parts.struct.field("s").fill_null(":00")
    )
    return (
        frame.lazy()
        .select(s.alias(f"{col}\x1ftext"))
        .with_columns(pl.col(f"{col}\x1ftext").str.extract_groups(_DATETIME_PATTERN).alias(f"{col}\x1fparts"))
        .select(
            pl.col(f"{col}\x1ftext"),
            text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us").alias(f"{col}\x1flocal"),
            parts.struct.field("z").alias(f"{col}\x1foffset"),
        )
        .collect()
    )


def event_ts_iso(expr: pl.Expr) -> pl.Expr:
    """A UTC Datetime as the ISO-8601 string used for event identity: ``YYYY-MM-DDTHH:MM:SS[.f]Z``."""
    return expr.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")


def _derive_event_ids(frame: pl.DataFrame) -> pl.Series:
    """``event_id`` where given, else ``derive_event_id(published_at ISO UTC, symbol, seq, source,
    headline + "\\n" + body)`` for rows whose inputs are present (null otherwise). The SHA-256 of each
    derived id is computed per row (no vectorised SHA-256 in polars), for the rows without an id only."""
    given = frame["event_id"]
    absent = given.is_null()
    if not absent.any():
        return given
    parts = frame.filter(absent).select(
        event_ts_iso(pl.col("published_at")).alias("ts"),
        pl.col("symbol"),
        pl.col("seq"),
        pl.col("source"),
        (pl.col("headline") + pl.lit("\n") + pl.col("body").fill_null("")).alias("payload"),
    )
    derived = pl.Series(
        [
            derive_event_id(ts, sym, seq, src, payload)
            if ts is not None and sym is not None and payload is not None
            else None
            for ts, sym, seq, src, payload in parts.iter_rows()
        ],
        dtype=pl.String,
    )
    return given.clone().scatter(absent.arg_true(), derived)


#: Canonical types whose conversion from text can take the fast path of :func:`_converted`.
_FAST_FROM_TEXT = (pl.Float64, pl.Int64, pl.Boolean, pl.Date)


def _converted(
    frame: pl.DataFrame, targets: list[ColumnSpec], timezone: str | None, file: str
) -> tuple[pl.DataFrame, dict[str, tuple[Rule, str, str]], list[pl.DataFrame]]:
    """Every target column converted (with ``__row``) in one parallel pass, plus one boolean flag
    column per (rule, column) check (``checks`` names them), and the problems of whole columns that
    cannot be converted at all.

    Fast path: a text column bound for a number, boolean or date is first converted as it is (no
    copy stripped of white space). When every non-null value converts, that is the result: no value
    is wrong, and a value that converts unstripped converts to the same value stripped (the parsers
    accept no surrounding white space, except the date parser's leading white space, which it
    ignores). Only columns with a value that does not convert are converted again the full way,
    stripped and with their checks."""
    column_problems: list[pl.DataFrame] = []
    checks: dict[str, tuple[Rule, str, str]] = {}

    def full(specs: list[ColumnSpec]) -> list[pl.Expr]:
        exprs: list[pl.Expr] = []
        for spec in specs:
            converted = _coerce_column(spec.name, spec.dtype, frame.schema[spec.name], timezone)
            if isinstance(converted, str):
                column_problems.append(_table_problem(file, spec.name, "wrong_type", converted))
                continue
            value, errs = converted
            if spec.allowed is not None:  # enums: case and surrounding spaces ignored, empty is absent
                value = value.str.strip_chars().str.to_lowercase()
                value = pl.when(value != "").then(value)
            exprs.append(value.alias(spec.name))
            for rule, (cond, template) in errs.items():
                flag = f"{rule}\x1f{spec.name}"
                checks[flag] = (rule, spec.name, template)
                exprs.append(cond.fill_null(False).alias(flag))
        return exprs

    fast = [s for s in targets if s.allowed is None and s.dtype in _FAST_FROM_TEXT and _is_text(frame.schema[s.name])]
    fast_exprs = [_coerce_column(s.name, s.dtype, frame.schema[s.name], timezone, strip=False) for s in fast]
    slow = [s for s in targets if s not in fast]
    staged = [s.name for s in slow if s.dtype == UTC_DATETIME and _is_text(frame.schema[s.name])]
    if staged:
        frame = pl.concat([frame, *(_datetime_parts(frame, c) for c in staged)], how="horizontal")
    out = (
        frame.lazy()
        .select(pl.col(_ROW), *(v.alias(s.name) for s, (v, _) in zip(fast, fast_exprs, strict=True)), *full(slow))
        .collect()
    )
    again = [s for s in fast if (out[s.name].is_null() & frame[s.name].is_not_null()).any()]
    if again:
        out = out.with_columns(frame.lazy().select(full(again)).collect().get_columns())
    order = [_ROW, *(s.name for s in targets if s.name in out.columns), *checks]
    return out.select(order), checks, column_problems


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
    targets = [s for s in specs if s.name in frame.columns] + (
        [ColumnSpec(c, pl.Float64(), False) for c in extras] if model.numeric_extras else []
    )
    out, checks, column_problems = _converted(frame, targets, timezone, raw.file)
    problems += column_problems
    if any(p["row"].is_null().any() for p in problems):
        return frame.select(_ROW), pl.concat(problems)
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
    (the table's ``sort_by``, nulls last, ties in input order). Rows already in that order (the
    usual case: files written in it) are not copied: the stable arg-sort is checked against the
    identity before any gather."""
    declared = [s.name for s in table_columns(table)]
    extras = sorted(c for c in frame.columns if c not in declared and c not in keep)
    present = [c for c in (*keep, *declared, *extras) if c in frame.columns]
    sort_by = list(TABLE_SCHEMAS[table].sort_by)
    order = frame.select(pl.arg_sort_by(sort_by, nulls_last=True, maintain_order=True)).to_series().to_numpy()
    ordered = frame.select(present)
    return ordered if np.array_equal(order, np.arange(frame.height)) else ordered[order]


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


def _raw_text(raw: RawTable, needed: bool) -> pl.DataFrame:
    """The raw values as read, every CSV column as text: the file read again when its number columns
    were parsed as numbers and rows are rejected (``needed``), else the schema alone."""
    if raw.text is None:
        return raw.frame
    if needed:
        return raw.text()
    return raw.frame.clear().cast({c: pl.String for c, t in raw.frame.schema.items() if t == pl.Float64})


def _float_columns(table: str) -> Callable[[list[str]], list[str]]:
    """The columns of a ``table`` file bound for Float64: its declared number columns, and every column
    other than the declared ones when its extras are numeric factors (exposures)."""
    specs = table_columns(table)
    declared = {s.name for s in specs}
    floats = [s.name for s in specs if s.dtype == pl.Float64]
    numeric_extras = TABLE_SCHEMAS[table].numeric_extras

    def columns(header: list[str]) -> list[str]:
        return floats + ([c for c in header if c not in declared] if numeric_extras else [])

    return columns


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
    good = frame.join(reasons, on=_ROW, how="anti", maintain_order="left") if reasons.height else frame
    if line_column is not None:
        good = good.with_columns(pl.Series(line_column, raw.row_numbers(good[_ROW].to_list()), dtype=pl.Int64))
    good = good.drop(_ROW)
    rejected = _raw_text(raw, reasons.height > 0).join(reasons, on=_ROW, how="inner").sort(_ROW)
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
    return TableLoad(table, raw.file, good, rejected, raw.rows_read, raw.sha256), _sort_problems(problems)


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
            raw = read_raw(
                source,
                formats.get(table),
                name=f"<{table}>" if isinstance(source, pl.DataFrame) else None,
                numbers=_float_columns(table),
            )
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
                    membership_problems(frame, raw.file, "benchmark", known, "unknown_benchmark", "benchmarks table"),
                ]
            )
        if table in ("prices", "exposures") and "securities" in loads:
            known = _good_values(loads["securities"], "symbol")
            problems = pl.concat(
                [problems, membership_problems(frame, raw.file, "symbol", known, "unknown_symbol", "securities table")]
            )
        if not problems.height:  # no row is rejected: the raw values are not needed any more (memory)
            raw = dataclasses.replace(raw, frame=raw.frame.clear(), rows_read_=raw.frame.height)
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
