"""Counts by category for a reader (the review report draws them): records of an evidence file by
the text of some fields (e.g. the labels of event records, the gates of reward records) and table rows
by the value of a column (e.g. exclusions by reason, decisions by mapping status)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl


def text_counts(rows: Sequence[dict[str, Any]], keys: Sequence[str], name: str) -> pl.DataFrame:
    """How many records have each combination of the ``keys`` fields, each field as text
    (``str(value)``, so a missing field counts as ``None``): columns ``*keys, name``, sorted by the keys.
    E.g. the reward gates (``direction_gate``, ``event_type_gate``) or the labels of event records."""
    frame = pl.DataFrame({k: [str(r.get(k)) for r in rows] for k in keys}, schema={k: pl.String for k in keys})
    return frame.group_by(*keys).len(name).sort(*keys)


def column_counts(frame: pl.DataFrame, column: str, name: str) -> pl.DataFrame:
    """Rows per value of ``column`` (``column, name``), sorted by the value: e.g. the decision
    mapping's ``mapping_status`` or the exclusions' reason."""
    return frame.group_by(column).len(name).sort(column)
