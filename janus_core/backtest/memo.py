"""One-entry memos of values derived from polars frames: a holding-period or config sweep, or several
policies, backtest one dataset and labelled table many times, and every backtest and DA interval checks
the same labelled table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import TypeVar, cast

import numpy as np
import polars as pl

T = TypeVar("T")


#: Every :class:`LastBuilt`, for :func:`release_memos`.
_MEMOS: list[LastBuilt] = []


def release_memos() -> None:
    """Forget every remembered value of the backtest (the stock days of a paper-scale prices table
    hold about 160 MB), when a caller has run the last backtest it will run on these frames."""
    for memo in _MEMOS:
        memo.release()


class LastBuilt:
    """A one-entry memo of a value derived from polars frames and plain values. Keyed on
    the frames' ``id`` (the entry holds the frames, so no other frame can take their id while it
    lives) and the plain values; the value's arrays are made read only, as every later call shares
    them. Frames are taken as immutable (the workbench never changes one in place: a changed table
    is a new frame, with a new id)."""

    def __init__(self) -> None:
        self._entry: tuple[tuple[object, ...], tuple[pl.DataFrame, ...], object] | None = None
        _MEMOS.append(self)

    def release(self) -> None:
        """Forget the remembered value (and the frames it holds)."""
        self._entry = None

    def get(self, frames: tuple[pl.DataFrame, ...], values: tuple[object, ...], build: Callable[[], T]) -> T:
        key = (*(id(f) for f in frames), *values)
        entry = self._entry  # read once: another thread may replace it
        if entry is not None and entry[0] == key:
            return cast(T, entry[2])
        value = build()
        arrays = [getattr(value, f.name) for f in fields(value)] if is_dataclass(value) else [value]
        for array in arrays:
            if isinstance(array, np.ndarray):
                array.setflags(write=False)
        self._entry = (key, frames, value)
        return value


_DUPLICATES = LastBuilt()


def duplicated_event_id(frame: pl.DataFrame) -> object | None:
    """The first ``event_id`` of ``frame`` that appears more than once (None when every one is
    unique; nulls count as one value), remembered for the last frame asked about."""

    def first() -> object | None:
        ids = frame.get_column("event_id")
        return None if ids.n_unique() == ids.len() else frame.filter(pl.col("event_id").is_duplicated())["event_id"][0]

    return _DUPLICATES.get((frame,), (), first)
