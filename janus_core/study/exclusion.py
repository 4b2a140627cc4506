"""The one rule that says which events an analysis uses: an event is *included* when the event study
gave it a result (``excluded_reason`` is null) and *excluded* otherwise, with that reason. Every table
built from a labelled CAR table uses these, so the rule is written once."""

from __future__ import annotations

import polars as pl


def is_included() -> pl.Expr:
    """``excluded_reason IS NULL``: the event has a CAR and labels."""
    return pl.col("excluded_reason").is_null()


def included(table: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``table`` whose event the study included (row order kept)."""
    return table.filter(is_included())


def excluded(table: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``table`` whose event the study excluded, each with its ``excluded_reason``."""
    return table.filter(~is_included())
