"""The synthetic sample is the same on every CPU: the library's tables equal, bit for bit, an
independent pure-Python recomputation (``tests/reference_market.py``: Python-int PCG64, scalar
formulas, no numpy arithmetic), on a small market in full and on rows of the demo sample."""

from __future__ import annotations

import struct

import polars as pl
import pytest
from reference_market import reference_market

from janus_core.data.synthetic import (
    BENCHMARKS,
    STYLE_FACTORS,
    SyntheticConfig,
    generate,
)

#: Small, with every mechanism switched on often: suspensions, one-price limit moves, events up to
#: the per-stock capacity (so the allocation re-draws), a Student-t and an Erlang of other orders.
SMALL = SyntheticConfig(
    n_stocks=12, n_days=90, n_events=110, warmup_days=30, suspension_rate=0.02, limit_lock_rate=0.02,
    t_dof=5, magnitude_shape=3, seed=12345,
)  # fmt: skip


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _check(ds, cfg: SyntheticConfig, stocks: list[int]) -> int:
    """Compare the library's dataset with the reference for ``stocks``; returns the values compared."""
    want = reference_market(cfg, stocks)
    symbols = ds.securities["symbol"].to_list()  # index i of the generator is the i-th symbol, sorted
    compared = 0

    sec = ds.securities.to_dicts()
    for i in range(cfg.n_stocks):
        assert sec[i]["benchmark"] == BENCHMARKS[want.tier[i]], symbols[i]
        assert (_bits(sec[i]["true_alpha"]), _bits(sec[i]["true_beta"])) == (
            _bits(want.alpha[i]), _bits(want.beta[i])), symbols[i]  # fmt: skip
        compared += 2

    bench = {(r["benchmark"], r["date"]): r["close"] for r in ds.benchmarks.to_dicts()}
    dates = ds.prices.filter(pl.col("symbol") == symbols[0])["date"].to_list()
    for t, day in enumerate(dates):
        for b, name in enumerate(BENCHMARKS):
            assert _bits(bench[(name, day)]) == _bits(want.bench_close[t][b]), (name, day)
            compared += 1

    chosen = {symbols[i]: i for i in stocks}
    prices = ds.prices.filter(pl.col("symbol").is_in(list(chosen))).to_dicts()
    assert len(prices) == len(stocks) * cfg.n_days
    for row in prices:
        t = dates.index(row["date"])
        o, c, v, ok = want.prices[(chosen[row["symbol"]], t)]
        got = (_bits(row["open"]), _bits(row["close"]), _bits(row["volume"]), row["tradable"])
        assert got == (_bits(o), _bits(c), _bits(v), ok), (row["symbol"], row["date"])
        compared += 3

    factors = sorted(range(len(STYLE_FACTORS)), key=lambda k: STYLE_FACTORS[k])
    exposures = ds.exposures.filter(pl.col("symbol").is_in(list(chosen))).to_dicts()
    for row in exposures:
        values = want.exposures[(chosen[row["symbol"]], dates.index(row["date"]))]
        for k in factors:
            assert _bits(row[STYLE_FACTORS[k]]) == _bits(values[k]), (row["symbol"], row["date"], STYLE_FACTORS[k])
            compared += 1

    got_events = sorted((r["symbol"], r["injected_event_day"], _bits(r["injected_car"])) for r in ds.events.to_dicts())
    want_events = sorted((symbols[s], dates[d], _bits(car)) for s, d, car in want.events)
    assert got_events == want_events
    return compared + len(want_events)


def test_small_market_equals_pure_python_bit_for_bit():
    ds = generate(SMALL)
    prices = ds.prices
    assert (prices["volume"] == 0).sum() > 0, "the small market should have suspensions"
    assert prices.filter(pl.col("volume") > 0, ~pl.col("tradable")).height > 0, "and limit-locked days"
    assert _check(ds, SMALL, list(range(SMALL.n_stocks))) > 7_000


@pytest.fixture(scope="module")
def demo():
    return generate(SyntheticConfig.for_scale("demo"))


def test_demo_sample_rows_equal_pure_python_bit_for_bit(demo):
    """Three stocks of the committed sample over all 420 days (with the whole cross-section their
    exposures are standardised on): one with a suspension, one with a limit-locked day, one with
    the most events."""
    symbols = demo.securities["symbol"].to_list()
    p = demo.prices
    suspended = p.filter(pl.col("volume") == 0)["symbol"].sort().to_list()[0]
    locked = p.filter(pl.col("volume") > 0, ~pl.col("tradable"))["symbol"].sort().to_list()[-1]
    busiest = demo.events.group_by("symbol").len().sort("len", "symbol", descending=[True, False])["symbol"][0]
    stocks = sorted({symbols.index(s) for s in (suspended, locked, busiest)})
    assert _check(demo, SyntheticConfig.for_scale("demo"), stocks) > 5_000
