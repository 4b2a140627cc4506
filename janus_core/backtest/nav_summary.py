"""The NAV table summarised per series for a reader (the review report draws it)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def nav_ends(nav: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """Per series (``keys``, e.g. ``kind, series``), in the order of the NAV sorted by ``keys`` then
    ``date``: ``first_date``, ``last_date``, ``days`` (rows), ``final_nav`` (the last NAV) and
    ``min_nav``."""
    return (
        nav.sort([*keys, "date"])
        .group_by(list(keys), maintain_order=True)
        .agg(
            pl.col("date").first().alias("first_date"),
            pl.col("date").last().alias("last_date"),
            pl.len().alias("days"),
            pl.col("nav").last().alias("final_nav"),
            pl.col("nav").min().alias("min_nav"),
        )
    )
