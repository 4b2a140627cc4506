"""Reading a table file as it is (no value interpreted yet), hashing exactly the bytes parsed, and
numbering its records as a person sees them in the file (CSV and JSON Lines lines)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from janus_core.data.rows import _ROW, DataValidationError, FileFormat, _table_problem
from janus_core.hashing import sha256_bytes


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
    index), how to turn record indices (each in 1..height) into the row numbers a person sees in the
    file, and the SHA-256 of exactly the bytes that were parsed (None for an in-memory frame)."""

    file: str
    frame: pl.DataFrame
    row_numbers: Callable[[list[int]], list[int]]
    sha256: str | None = None
    #: The file's values all as text (with ``__row``), for a CSV whose number columns were parsed as
    #: numbers (:func:`_read_csv`): re-read and re-hashed only when some row is rejected. None: ``frame``.
    text: Callable[[], pl.DataFrame] | None = None
    #: Records read (None: ``frame.height``; set when the raw values are dropped after a clean check).
    rows_read_: int | None = None

    @property
    def rows_read(self) -> int:
        return self.frame.height if self.rows_read_ is None else self.rows_read_


def _identity_rows(indices: list[int]) -> list[int]:
    return indices


def _csv_rows_by_reader(data: bytes) -> Callable[[list[int]], list[int]]:
    """Record index -> line where that record starts (header is line 1), by the csv module (only run
    when asked, on error), so quoted fields spanning lines are numbered correctly. Keeps the bytes: the
    fallback for files whose line count does not follow from the parsed values (see :func:`_csv_rows`)."""

    def rows(indices: list[int]) -> list[int]:
        starts: list[int] = []
        reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
        last = 0
        for _ in reader:
            starts.append(last + 1)
            last = reader.line_num
        return [starts[i] if i < len(starts) else last for i in indices]  # starts[0] is the header line

    return rows


def _embedded_newlines(frame: pl.DataFrame) -> np.ndarray:
    """Per record, the line breaks inside its (quoted) values: ``sum over columns of count("\\n")``."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return np.zeros(frame.height, dtype=np.int64)
    counts = frame.select(
        pl.sum_horizontal(pl.col(text).str.count_matches("\n", literal=True).fill_null(0).cast(pl.Int64))
    )
    return counts.to_series().to_numpy()


def _csv_rows(data: bytes, frame: pl.DataFrame) -> Callable[[list[int]], list[int]]:
    """Record index -> line where that record starts (header is line 1), without keeping the file.

    When every line break of the file is the header's, a record's end or inside a quoted value
    (``count("\\n") == 1 + records + embedded`` with a final line break, one less without; no bare
    carriage returns, no line break in the header), record ``i`` starts on line
    ``2 + (i - 1) + sum of the embedded line breaks of records 1..i-1``: a prefix sum over the parsed
    values. Any other file (blank lines, bare CR line ends) is numbered by the csv module
    (:func:`_csv_rows_by_reader`), which keeps the bytes."""
    quoted = b'"' in data  # without a quote character no value can hold a line break
    embedded = _embedded_newlines(frame) if quoted else np.zeros(frame.height, dtype=np.int64)
    breaks = data.count(b"\n")
    lines = breaks + (1 if data and not data.endswith(b"\n") else 0)
    header_ok = not any("\n" in c or "\r" in c for c in frame.columns)
    if not (header_ok and data.count(b"\r") == data.count(b"\r\n") and lines == 1 + frame.height + int(embedded.sum())):
        return _csv_rows_by_reader(data)
    before = np.concatenate([[0], np.cumsum(embedded)])  # embedded line breaks before record i (1-based)

    def rows(indices: list[int]) -> list[int]:
        at = np.asarray(indices, dtype=np.int64)
        return (at + 1 + before[at - 1]).tolist()

    return rows


def _jsonl_rows(data: bytes, height: int) -> Callable[[list[int]], list[int]]:
    """Record index -> line number, skipping blank lines as the JSON Lines reader does. When the file
    has exactly one line per record (no blank line), record ``i`` is line ``i`` and the bytes are not
    kept."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if lines == height and b"\r" not in data:
        return _identity_rows

    def rows(indices: list[int]) -> list[int]:
        starts = [n for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
        return [starts[i - 1] if 0 < i <= len(starts) else i for i in indices]

    return rows


def _with_row_index(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index(_ROW, offset=1).with_columns(pl.col(_ROW).cast(pl.Int64))


def _read_csv(data: bytes, numbers: Callable[[list[str]], list[str]] | None) -> tuple[pl.DataFrame, bool]:
    """The CSV's columns as text, except the columns ``numbers(header)`` names, parsed as Float64 when
    every one of their values parses (half the memory and no text to convert); (frame, whether any
    column was parsed as a number). When one value does not parse, the whole file is read as text and
    the rules name each bad value. Polars' CSV number parser gives the value the text conversion of
    :mod:`janus_core.data.tables` gives (stripped), and accepts no value that conversion rejects
    (``tests/test_data_fast_paths.py`` checks both on a broad set of spellings)."""
    header = pl.read_csv(io.BytesIO(data), infer_schema=False, n_rows=0, raise_if_empty=False).columns
    typed = [c for c in (numbers(header) if numbers is not None else []) if c in header]
    if typed and len(set(header)) == len(header):
        try:
            frame = pl.read_csv(
                io.BytesIO(data),
                infer_schema=False,
                schema_overrides={c: pl.Float64 for c in typed},
                raise_if_empty=False,
            )
            return frame, True
        except pl.exceptions.PolarsError:
            pass  # a value that is not a number: read everything as text, the rules say which
    return pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False), False


def _text_again(path: Path, label: str, digest: str) -> pl.DataFrame:
    """The file read again, every column as text (with ``__row``): the raw values of rejected rows.
    :class:`DataValidationError` when the file changed since it was read (its SHA-256 differs)."""
    data = path.read_bytes()
    if sha256_bytes(data) != digest:
        raise DataValidationError(
            _table_problem(label, None, "unreadable_file", "the file changed while it was being imported")
        )
    return _with_row_index(pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=False))


def read_raw(
    source: str | Path | pl.DataFrame,
    fmt: FileFormat | None = None,
    *,
    name: str | None = None,
    numbers: Callable[[list[str]], list[str]] | None = None,
) -> RawTable:
    """Read a table file (or take an in-memory frame) without interpreting its values.

    The path is taken literally (no glob expansion: ``evg[1].csv`` is that file, never ``evg1.csv``):
    the file's bytes are read once, hashed (``RawTable.sha256``) and parsed from memory, so what is
    recorded is exactly what was read. CSV and JSON Lines are read with every column as String so that
    each value is parsed and checked by the rules; Parquet keeps its types. ``numbers(header)`` names
    the CSV columns bound for Float64, read as numbers when every value parses (:func:`_read_csv`).
    Raises :class:`DataValidationError` (``unreadable_file``) when the file cannot be read at all.
    """
    if isinstance(source, pl.DataFrame):
        return RawTable(name or "<memory>", _with_row_index(source), _identity_rows)
    path = Path(source)
    label = name or str(path)
    fmt = fmt or detect_format(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataValidationError(
            _table_problem(label, None, "unreadable_file", f"cannot read the file: {exc.strerror or exc}")
        ) from exc
    digest, text = sha256_bytes(data), None
    try:
        if fmt == "parquet":
            frame, rows = pl.read_parquet(io.BytesIO(data)), _identity_rows
        elif fmt == "csv":
            frame, typed = _read_csv(data, numbers)
            rows = _csv_rows(data, frame)
            text = (lambda: _text_again(path, label, digest)) if typed else None
        else:
            columns = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None).columns
            frame = pl.read_ndjson(io.BytesIO(data), schema={c: pl.String for c in columns})
            rows = _jsonl_rows(data, frame.height)
    except (OSError, pl.exceptions.PolarsError, ValueError, RecursionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataValidationError(
            _table_problem(label, None, "unreadable_file", f"cannot read as {fmt}: {first}")
        ) from exc
    return RawTable(label, _with_row_index(frame), rows, digest, text)
