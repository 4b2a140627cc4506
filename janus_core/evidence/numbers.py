"""Whole columns as the evidence's text: decimal strings (``hashing.decimal_str``) and UTC timestamps
(``schema.iso_utc``) for a column at once, in C-level code (NumPy, polars), the same strings the
per-value functions write (tested against them).

Decimal strings: ``decimal_str(x)`` rounds the *shortest repr* of ``x`` half-even to ``places``
decimals. Here ``s = x * 10**places`` is rounded to the nearest integer ``n`` in float64 and written
as ``sign, n // 10**places, ".", n % 10**places`` with trailing zeros stripped. That is the same
decimal whenever ``s`` is clearly away from a half: the float product, the exact binary value and the
shortest repr all lie within ``|s| * 2**-52`` of each other, so a value whose fraction of ``s`` is
within ``|s| * 2**-50 + 1e-7`` of one half (a possible tie), or with ``|s| >= 2**50``, is written by
``decimal_str`` itself (a handful per million values).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from janus_core.hashing import DECIMAL_PLACES, decimal_str

#: Above this ``|x * 10**places|`` a float64 no longer carries the units digit safely.
_EXACT_LIMIT = 2.0**50


def _float_strs(x: np.ndarray, places: int) -> tuple[pl.Series, np.ndarray]:
    """The fast strings of finite floats ``x`` and the mask of those :func:`decimal_str` must write."""
    scaled = x * 10.0**places
    with np.errstate(invalid="ignore"):
        frac = scaled - np.floor(scaled)
        risky = (np.abs(frac - 0.5) <= np.abs(scaled) * 2.0**-50 + 1e-7) | ~(np.abs(scaled) < _EXACT_LIMIT)
    n = np.rint(np.where(risky, 0.0, scaled)).astype(np.int64)
    return _int_strs(n, places), risky


def _int_strs(n: np.ndarray, places: int) -> pl.Series:
    """``n / 10**places`` written exactly: sign, integer part, and the fraction without trailing zeros."""
    s = pl.Series("n", n, dtype=pl.Int64)
    a = s.abs()
    unit = 10**places
    frame = pl.DataFrame({"n": s, "whole": a // unit, "frac": a % unit})
    frac = pl.col("frac").cast(pl.String).str.zfill(places).str.strip_chars_end("0")
    return frame.select(
        pl.concat_str(
            pl.when(pl.col("n") < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            pl.col("whole").cast(pl.String),
            pl.when(frac != "").then(pl.lit(".") + frac).otherwise(pl.lit("")),
        )
    ).to_series()


def decimal_strs(values: pl.Series, places: int = DECIMAL_PLACES) -> pl.Series:
    """``hashing.decimal_str`` of every value of a numeric column, as a String column (null stays null;
    NaN or infinity raises ``ValueError`` like ``decimal_str``)."""
    name = values.name
    if values.dtype == pl.Null or values.len() == 0:
        return pl.Series(name, [None] * values.len(), dtype=pl.String)
    if values.dtype.is_integer():
        # exact already: decimal_str of an integer is its digits (decimal_str checks the size limit)
        big = (values.cast(pl.Int128, strict=False).abs() >= 10**17).fill_null(False)
        text = values.cast(pl.String)
        if big.any():
            idx = big.arg_true()
            text = text.scatter(idx, [decimal_str(v, places) for v in values.gather(idx).to_list()])
        return text.alias(name)
    if not values.dtype.is_float():
        raise TypeError(f"column {name!r} is {values.dtype}, not a number")
    x = values.cast(pl.Float64).to_numpy()  # nulls become NaN here; they are restored below
    nulls = values.is_null().to_numpy()
    bad = ~np.isfinite(x) & ~nulls
    if bad.any():
        decimal_str(float(x[np.argmax(bad)]), places)  # raises the per-value error
    text, risky = _float_strs(np.where(nulls, 0.0, x), places)
    risky &= ~nulls
    if risky.any():
        idx = np.flatnonzero(risky)
        text = text.scatter(idx, [decimal_str(float(v), places) for v in x[idx]])
    if nulls.any():
        text = text.scatter(np.flatnonzero(nulls), None)
    return text.alias(name)


def record_numbers(values: pl.Series) -> list[str | None]:
    """``schema._num`` of every value of a column: decimal strings, ``None`` for null and for NaN
    (missing, never written)."""
    if values.dtype.is_float():
        values = values.fill_nan(None)
    return decimal_strs(values).to_list()


def iso_utc_strs(values: pl.Series) -> list[str | None]:
    """``schema.iso_utc`` of every value of a datetime column (naive values taken as UTC): seconds,
    then the fraction omitted when zero, 3 digits for whole milliseconds, else 6; null stays ``None``.
    Sub-microsecond digits are dropped, as the conversion to Python datetimes does."""
    dtype = values.dtype
    if not isinstance(dtype, pl.Datetime):
        raise TypeError(f"column {values.name!r} is {dtype}, not a datetime")
    utc = values.dt.convert_time_zone("UTC") if dtype.time_zone is not None else values
    frame = pl.DataFrame({"t": utc})
    t = pl.col("t")
    micro = t.dt.microsecond()
    text = pl.concat_str(
        t.dt.strftime("%Y-%m-%dT%H:%M:%S"),
        pl.when(micro % 1000 != 0)
        .then(pl.lit(".") + micro.cast(pl.String).str.zfill(6))
        .when(micro != 0)
        .then(pl.lit(".") + (micro // 1000).cast(pl.String).str.zfill(3))
        .otherwise(pl.lit("")),
        pl.lit("Z"),
    )
    return frame.select(text).to_series().to_list()
