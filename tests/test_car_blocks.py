"""The CAR engine's block-wise fits (prefix sums built per block of panel rows and never kept)
against the panel-wide prefix sums they replaced (``tests/moments_reference.py``), bit for bit, on
synthetic panels with missing rows, untradable days, null exposures and industries, several row
blocks, every model and thread count."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pytest
from moments_reference import PanelMoments, adjusted_returns, cell_abnormal_returns, neutral_fit
from polars.testing import assert_frame_equal

from janus_core.data.dataset import Dataset
from janus_core.data.synthetic import SyntheticConfig, generate
from janus_core.study import panel as panel_module
from janus_core.study import risk_model
from janus_core.study.car import CarConfig, compute_car
from janus_core.study.panel import Fit, Panel, clear_snapshot_cache, fit_events, plain_returns, row_blocks
from janus_core.study.risk_model import _cell_abnormal_returns, cross_sections, exposures_on_panel, neutral_window_fits

MODELS = ("market", "market_adjusted", "constant_mean")


def _same(got: Fit, want: Fit) -> None:
    for field in dataclasses.fields(Fit):
        g, w = getattr(got, field.name), getattr(want, field.name)
        assert g.dtype == w.dtype, field.name
        assert np.array_equal(g, w, equal_nan=True), field.name


def _ragged(ds: Dataset, seed: int) -> Dataset:
    """Rows dropped from prices and exposures, untradable days, null exposures and industries."""
    rng = np.random.default_rng(seed)
    keep = rng.random(ds.prices.height) > 0.05
    keep[:3] = True
    prices = ds.prices.filter(pl.Series(keep))
    prices = prices.with_columns(
        tradable=pl.when(pl.Series(rng.random(prices.height) < 0.03)).then(False).otherwise(pl.col("tradable"))
    )
    assert ds.exposures is not None
    ex = ds.exposures.filter(pl.Series(rng.random(ds.exposures.height) > 0.1))
    ex = ex.with_columns(size=pl.when(pl.Series(rng.random(ex.height) < 0.02)).then(None).otherwise(pl.col("size")))
    sec = ds.securities.with_columns(
        industry=pl.when(pl.col("symbol").hash(1) % 5 == 0).then(None).otherwise(pl.col("industry"))
    )
    return dataclasses.replace(ds, prices=prices, exposures=ex, securities=sec)


@pytest.fixture(scope="module")
def datasets() -> dict[str, Dataset]:
    small = generate(SyntheticConfig.for_scale("demo", n_stocks=23, n_events=300, seed=4))
    return {"rectangular": small, "ragged": _ragged(small, 1)}


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of 5 rows, so 23 symbols span several blocks (the last one short)."""
    monkeypatch.setattr(panel_module, "ROW_BLOCK", 5)


def _windows(panel: Panel, seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random events: rows in any order (ties too), windows of 0..130 days, clipped to the panel."""
    rng = np.random.default_rng(seed)
    n_sym, width = panel.r.shape
    j = rng.integers(0, n_sym, n)
    lo = rng.integers(0, width, n)
    hi = np.minimum(lo + rng.integers(0, 130, n), width)
    return j, lo, hi


def test_row_blocks_cover_every_row_once():
    assert row_blocks(0) == []
    assert row_blocks(5) == [slice(0, 5)]
    assert row_blocks(11) == [slice(0, 5), slice(5, 10), slice(10, 11)]


@pytest.mark.parametrize("kind", ["rectangular", "ragged"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("threads", [1, 3])
def test_event_fits_match_the_panel_wide_prefix_sums(datasets, kind, model, threads):
    panel = Panel.build(datasets[kind])
    reference = PanelMoments(panel, model)
    with ThreadPoolExecutor(threads) as pool:
        for seed, n in ((0, 400), (1, 1), (2, 0)):
            j, lo, hi = _windows(panel, seed, n)
            _same(fit_events(panel, model, pool, j, lo, hi, plain_returns(panel, model)), reference.fit(j, lo, hi))
        one_row = np.full(50, 7)  # every event on one symbol, one block
        lo, hi = np.arange(50), np.arange(50) + 60
        _same(
            fit_events(panel, model, pool, one_row, lo, hi, plain_returns(panel, model)), reference.fit(one_row, lo, hi)
        )


@pytest.mark.parametrize("kind", ["rectangular", "ragged"])
@pytest.mark.parametrize("model", MODELS)
def test_cell_ars_and_neutral_fit_match_the_panel_wide_prefix_sums(datasets, kind, model):
    ds = datasets[kind]
    panel = Panel.build(ds)
    settings = CarConfig(model=model, min_cross_section_dof=3).risk_model
    want = cell_abnormal_returns(panel, settings)
    for threads in (1, 2):
        with ThreadPoolExecutor(threads) as pool:
            got = _cell_abnormal_returns(panel, settings, pool)
            assert np.array_equal(got, want, equal_nan=True)
            xs = cross_sections(panel, ds, settings, pool, exposures_on_panel(panel, ds, ds.style_factors()))
            assert np.isfinite(xs.gamma).any()
            j, lo, hi = _windows(panel, 5, 300)
            got_fit = fit_events(panel, model, pool, j, lo, hi, xs.neutral_returns(panel, model))
            _same(got_fit, neutral_fit(panel, xs, model, j, lo, hi))
            want_adjusted = adjusted_returns(panel, xs)
            for rows in (slice(None), slice(3, 9), slice(20, 23)):
                got_adjusted = xs.adjusted_returns(panel, rows)
                assert np.array_equal(got_adjusted, want_adjusted[rows], equal_nan=True)


@pytest.mark.parametrize("kind", ["rectangular", "ragged"])
@pytest.mark.parametrize("model", MODELS)
def test_neutral_window_fits_are_the_events_own_fits(datasets, kind, model):
    """The snapshot's per-cell neutralised fits (read by the study for an event whose window starts
    at column c) against the event's own fit on [c - gap - L, c - gap), on every column."""
    ds = datasets[kind]
    panel = Panel.build(ds)
    settings = CarConfig(model=model, min_cross_section_dof=3, estimation_window=40, gap=3, min_estimation_obs=10)
    settings = settings.risk_model
    with ThreadPoolExecutor(2) as pool:
        xs = cross_sections(panel, ds, settings, pool, exposures_on_panel(panel, ds, ds.style_factors()))
        fits = neutral_window_fits(panel, settings, pool, xs)
        n_sym, width = panel.r.shape
        j = np.repeat(np.arange(n_sym), width)
        c = np.tile(np.arange(width), n_sym)
        lo = np.clip(c - settings.gap - settings.estimation_window, 0, width)
        hi = np.clip(c - settings.gap, 0, width)
        own = neutral_fit(panel, xs, model, j, lo, hi)
    assert np.array_equal(fits.sigma[j, c], own.sigma, equal_nan=True)
    assert np.array_equal(fits.n[j, c].astype(np.int64), own.n)
    assert (own.n >= settings.min_estimation_obs).any()


@pytest.mark.parametrize("kind", ["rectangular", "ragged"])
def test_neutralised_ars_do_not_depend_on_the_residual_blocks(datasets, kind, monkeypatch):
    """The neutralised ARs (``CrossSections.residual``, per block of events) are the same frame with
    blocks of 7 events as in one block: every cell is computed on its own."""
    ds = datasets[kind]
    cfg = CarConfig(min_cross_section_dof=3, estimation_window=40, gap=3, min_estimation_obs=10)
    whole = compute_car(ds, cfg)
    clear_snapshot_cache()
    monkeypatch.setattr(risk_model, "_RESIDUAL_BLOCK", 7)
    blocks = compute_car(ds, cfg)
    assert whole.height > 7 and whole["car"].is_not_null().sum() > 7
    assert_frame_equal(blocks, whole)
