"""How numbers are shown to people in the notebooks' tables: the same rule as the review report
(floats to a few significant digits), as ``format_mapping`` for ``mo.ui.table``."""

from __future__ import annotations

import polars as pl

#: Significant digits of a float shown in a table (the review report's default too).
SIGNIFICANT_DIGITS = 4


def display_formats(frame: pl.DataFrame, digits: int = SIGNIFICANT_DIGITS) -> dict[str, str]:
    """A Python format string per numeric column of ``frame``: floats to ``digits`` significant
    digits (``0.005680605980490262`` shows as ``0.005681``), integers with thousands separators.
    Other columns are shown as they are."""
    out: dict[str, str] = {}
    for name, dtype in frame.schema.items():
        if dtype.is_float():
            out[name] = f"{{:.{digits}g}}"
        elif dtype.is_integer():
            out[name] = "{:,d}"
    return out
