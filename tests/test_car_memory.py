"""The memory-saving paths of the CAR study against the formulas they replaced (kept here as frozen
references): list columns built in polars against the pyarrow offsets build, events already in
study order passed through uncopied, the int32 day-count prefix against the float64 one, and the
export's release of a snapshot's panel."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from janus_core.data.events import CALENDAR_DAY_SPAN, first_session_index
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.study import car as car_module
from janus_core.study import panel as panel_module
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.panel import Moments, Panel, clear_snapshot_cache, release_snapshot, snapshot_state


def _list_column_reference(name: str, mat: np.ndarray, valid: np.ndarray) -> pl.Series:
    """The replaced build: Arrow offsets over the flat values, a validity mask, then polars."""
    n, w = mat.shape
    offsets = pa.array(np.arange(0, (n + 1) * w, w, dtype=np.int64))
    values = pa.array(np.ascontiguousarray(mat).reshape(-1))
    lists = pa.LargeListArray.from_arrays(offsets, values, mask=pa.array(~valid))
    return pl.Series(name, pl.from_arrow(lists), dtype=pl.List(pl.Float64))


@pytest.mark.parametrize("n, w", [(0, 3), (1, 1), (1, 3), (7, 3), (50, 5)])
def test_list_column_matches_the_arrow_build(n, w):
    rng = np.random.default_rng(n * 10 + w)
    mat = rng.normal(size=(n, w))
    if n:
        mat[0, -1] = np.nan  # a NaN inside a valid row stays NaN, not null
        mat[-1, 0] = np.inf
    for valid in (np.ones(n, dtype=bool), np.zeros(n, dtype=bool), rng.random(n) > 0.4):
        got = car_module._list_column("ar", mat, valid)
        want = _list_column_reference("ar", mat, valid)
        assert got.dtype == want.dtype == pl.List(pl.Float64)
        assert got.name == "ar"
        assert pl.DataFrame([got]).equals(pl.DataFrame([want]))
        assert got.null_count() == int((~valid).sum())


def test_events_in_study_order_are_not_copied():
    ds = generate(SyntheticConfig())
    ordered = car_module._study_order(ds.events)
    assert ordered is ds.events  # the canonical order is the study order
    shuffled = ds.events.sample(fraction=1.0, shuffle=True, seed=3)
    want = shuffled.sort(*car_module.STUDY_ORDER, maintain_order=True)
    assert car_module._study_order(shuffled).equals(want)
    # ties (same time and symbol) keep their input order, as the stable sort did
    tied = pl.concat([ds.events.head(3), ds.events.head(3).with_columns(pl.col("headline") + " again")])
    assert car_module._study_order(tied).equals(tied.sort(*car_module.STUDY_ORDER, maintain_order=True))
    assert car_module._study_order(ds.events.head(0)).height == 0


def test_int32_day_count_gives_the_float64_fit():
    ds = generate(SyntheticConfig())
    panel = Panel.build(ds)
    ok = panel.estimation_ok("market")
    moments = Moments("market", panel.r, panel.m, ok)
    assert moments.c["n"].dtype == np.int32
    float_n = np.concatenate([np.zeros((ok.shape[0], 1)), np.cumsum(ok, axis=1, dtype=np.float64)], axis=1)
    assert np.array_equal(moments.c["n"], float_n)
    rng = np.random.default_rng(0)
    j = rng.integers(0, ok.shape[0], 200)
    lo = rng.integers(0, ok.shape[1] - 30, 200)
    hi = lo + rng.integers(0, 30, 200)
    got = moments.fit(j, lo, hi)
    reference = copy.copy(moments)  # the same moments with the float64 count prefix
    reference.c = {**moments.c, "n": float_n}
    want = reference.fit(j, lo, hi)
    for field in dataclasses.fields(got):
        assert np.array_equal(getattr(got, field.name), getattr(want, field.name), equal_nan=True), field.name


def test_release_snapshot_drops_only_that_dataset():
    clear_snapshot_cache()
    ds = generate(SyntheticConfig())
    other = dataclasses.replace(ds, prices=ds.prices.with_columns(pl.col("close") * 1.01))
    first = compute_car(ds, CarConfig())
    state, kept = snapshot_state(ds), snapshot_state(other)
    release_snapshot(ds)
    assert len(panel_module._SNAPSHOTS) == 1
    assert snapshot_state(other) is kept
    assert snapshot_state(ds) is not state  # rebuilt on the next study
    release_snapshot(ds)
    release_snapshot(ds)  # releasing an absent snapshot is a no-op
    assert compute_car(ds, CarConfig()).equals(first)
    clear_snapshot_cache()


def test_close_at_reads_the_padded_close_matrix_it_replaced():
    """``Panel.close_at`` (a gather from the prices' own column) against the (symbol, day) close
    matrix the panel kept before, on a ragged panel with a null close, on every real cell."""
    ds = generate(SyntheticConfig.for_scale("demo", n_stocks=9, n_events=40))
    keep = np.random.default_rng(2).random(ds.prices.height) > 0.1
    prices = ds.prices.filter(pl.Series(keep))
    prices = prices.with_columns(close=pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("close")))
    panel = Panel.build(dataclasses.replace(ds, prices=prices))
    n_sym, width = panel.r.shape
    matrix = np.full((n_sym, width), np.nan)  # the replaced field: the close padded with NaN
    code = np.repeat(np.arange(n_sym), panel.length)
    matrix[code, np.arange(len(code)) - panel.start[code]] = prices["close"].to_numpy()
    j = np.repeat(np.arange(n_sym), width)
    k = np.tile(np.arange(width), n_sym)
    real = k < panel.length[j]
    got = panel.close_at(j, k)
    assert np.array_equal(got[real], matrix[j, k][real], equal_nan=True)
    assert np.isnan(got[real]).sum() == 1
    assert panel.close_at(j[:0], k[:0]).shape == (0,)


def test_release_free_heap_changes_nothing():
    ds = generate(SyntheticConfig.for_scale("demo", n_stocks=9, n_events=40))
    first = compute_car(ds, CarConfig())
    panel_module.release_free_heap()
    panel_module.release_free_heap()
    assert compute_car(ds, CarConfig()).equals(first)


@pytest.mark.parametrize("ragged", [False, True])
def test_first_sessions_match_the_kept_calendar_keys(ragged):
    """``Panel.first_sessions`` (keys built when asked; one search of the dates on a rectangular
    panel) against ``first_session_index`` on the keys the panel kept before (code * 2**20 + day of
    every price row), with unknown symbols, null and out-of-range days."""
    ds = generate(SyntheticConfig.for_scale("demo", n_stocks=9, n_events=40))
    prices = ds.prices
    if ragged:
        prices = prices.filter(pl.Series(np.random.default_rng(4).random(prices.height) > 0.2))
    panel = Panel.build(dataclasses.replace(ds, prices=prices))
    assert panel.rectangular is not ragged
    code = prices["symbol"].rle_id().to_numpy().astype(np.int64)
    kept = code * CALENDAR_DAY_SPAN + prices["date"].to_physical().to_numpy()
    assert np.array_equal(panel.calendar_keys(), kept)
    rng = np.random.default_rng(5)
    n = 2000
    codes = rng.integers(-1, len(panel.symbols), n)
    days = rng.integers(int(panel.days[0]) - 5, int(panel.days[-1]) + 5, n)
    days[:5] = [-1, 0, int(panel.days[0]), int(panel.days[-1]), 3 * CALENDAR_DAY_SPAN]
    want = first_session_index(kept, codes, days)
    assert np.array_equal(panel.first_sessions(codes, days), want)
    assert (want >= 0).any() and (want < 0).any()
