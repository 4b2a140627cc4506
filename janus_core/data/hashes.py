"""Content hashes of tables (data-contract.md, "Manifest"): a hash of a table's values that does not
depend on the file format, the row order or the column order, and the dataset's snapshot hash over
them. :mod:`janus_core.data.manifest` records both."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import polars as pl

from janus_core.data.rows import TABLE_SCHEMAS
from janus_core.hashing import H, canonical_json


def type_name(dtype: pl.DataType) -> str:
    """Stable type name used in schemas and content hashes."""
    if isinstance(dtype, pl.Datetime):
        return f"datetime[{dtype.time_unit},{dtype.time_zone or 'naive'}]"
    return str(dtype).lower()


def table_schema(frame: pl.DataFrame) -> list[dict[str, str]]:
    """Column names and type names, in the frame's column order."""
    return [{"name": c, "type": type_name(t)} for c, t in frame.schema.items()]


def _order_codes(s: pl.Series) -> list[np.ndarray]:
    """numpy sort keys for one column (primary key first): a null flag (nulls last), then the value,
    with text replaced by its rank among the column's distinct values (sorting a few thousand
    distinct strings is much faster than sorting millions of rows of them)."""
    nulls = s.is_null().to_numpy().astype(np.int8)
    is_text = s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum)
    if is_text or not (s.dtype.is_numeric() or s.dtype.is_temporal() or s.dtype == pl.Boolean):
        text = s.cast(pl.String) if is_text else _rows_as_json(s)
        distinct = text.drop_nulls().unique().sort()
        values = text.replace_strict(
            distinct, pl.Series(np.arange(distinct.len(), dtype=np.int64)), default=-1, return_dtype=pl.Int64
        ).to_numpy()
    else:
        values = s.to_physical().cast(pl.Float64 if s.dtype.is_float() else pl.Int64).fill_null(0).to_numpy()
    return [nulls, values]


def _rows_as_json(s: pl.Series) -> pl.Series:
    return pl.DataFrame([s]).select(pl.struct(pl.all()).struct.json_encode()).to_series().fill_null("")


def _column_bytes(s: pl.Series) -> list[bytes]:
    """The canonical bytes of one column: its null mask, then its values (little-endian fixed
    width numbers; dates as days, times as integers of their unit since the epoch in UTC; text as
    UTF-8 lengths and bytes; any other type as per-row JSON text)."""
    pieces = [s.is_null().to_numpy().astype(np.uint8).tobytes()]
    dtype = s.dtype
    is_text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if is_text or not (dtype.is_numeric() or dtype.is_temporal() or dtype == pl.Boolean):
        text = s.cast(pl.String).fill_null("") if is_text else _rows_as_json(s)
        pieces.append(text.str.len_bytes().to_numpy().astype("<u8").tobytes())
        pieces.append(text.str.join("").item().encode("utf-8") if text.len() else b"")
    elif dtype == pl.Boolean:
        pieces.append(s.fill_null(False).cast(pl.UInt8).to_numpy().astype("u1").tobytes())
    elif dtype.is_float():
        values = s.cast(pl.Float64).fill_null(0.0).to_numpy() + 0.0  # -0.0 and 0.0 alike
        pieces.append(np.where(np.isnan(values), np.nan, values).astype("<f8").tobytes())
    elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        pieces.append(s.dt.convert_time_zone("UTC").to_physical().fill_null(0).to_numpy().astype("<i8").tobytes())
    elif dtype == pl.UInt64:
        pieces.append(s.fill_null(0).to_numpy().astype("<u8").tobytes())
    else:
        pieces.append(s.to_physical().cast(pl.Int64).fill_null(0).to_numpy().astype("<i8").tobytes())
    return pieces


def content_hash(frame: pl.DataFrame, order_by: Sequence[str] | None = None) -> str:
    """Hash of a table's content, independent of file format, row order and column order.

    Rows are first put in canonical order: by ``order_by`` (the table's key, unique in valid data),
    else by every column (columns by name; text by its order, nulls last). Then
    ``sha256(header + for each column by name: name, and each piece of its canonical bytes, each
    preceded by its length as 8-byte little-endian)`` where header is the canonical JSON of
    ``[[name, type name], ...]`` (see :func:`_column_bytes` for the bytes of a column).
    """
    columns = sorted(frame.columns)
    header = canonical_json([[c, type_name(frame.schema[c])] for c in columns])
    digest = hashlib.sha256(header.encode("utf-8"))
    if frame.height:
        keys = [k for c in (list(order_by) if order_by else columns) for k in _order_codes(frame[c])]
        order = np.lexsort(keys[::-1])
        frame = frame.select(pl.all().gather(order))
    for c in columns:
        for piece in [c.encode("utf-8"), *_column_bytes(frame[c])]:
            digest.update(len(piece).to_bytes(8, "little"))
            digest.update(piece)
    return digest.hexdigest()


def snapshot_hash(content_hashes: dict[str, str]) -> str:
    """``H({table: content_hash})``: one hash for the dataset's content."""
    return H(dict(sorted(content_hashes.items())))


def hash_order(table: str, frame: pl.DataFrame, rejected: bool = False) -> tuple[str, ...] | None:
    """Row order used for a table's content hash: its key (``row`` for rejected rows), when present."""
    key = ("row",) if rejected else TABLE_SCHEMAS[table].key
    return key if key and set(key) <= set(frame.columns) else None
