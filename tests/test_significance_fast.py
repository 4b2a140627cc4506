"""The fast forms of the event-study statistics (issue 13) against the frozen references of
``tests/significance_reference.py``: the Kolari-Pynnonen r from one pair matrix per event day, and
the Corrado ranks from one sort per row."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import significance_reference as ref
from scipy import special, stats

from janus_core.study import significance as sg


def _clusters(rng: np.random.Generator, sizes: list[int], length: int = 120, missing: float = 0.05) -> tuple:
    """Estimation ARs of clusters of the given sizes (one event day each), sharing a market shock
    within a cluster, with random missing days."""
    day = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)
    shock = rng.normal(size=(len(sizes), length))
    est = 0.6 * shock[np.repeat(np.arange(len(sizes)), sizes)] + rng.normal(size=(len(day), length))
    est *= rng.uniform(0.005, 0.05, size=(len(day), 1))
    est[rng.random(est.shape) < missing] = np.nan
    return est, day


@pytest.mark.parametrize("sizes", [[1], [2], [1, 2, 1], [3, 1, 5], [40], [300, 2, 7], [1, 1, 1]])
def test_same_day_correlation_matches_the_reference(sizes):
    rng = np.random.default_rng(len(sizes) * 1000 + sum(sizes))
    est, day = _clusters(rng, sizes)
    rng.shuffle(order := np.arange(len(day)))
    est, day = est[order], day[order]
    got, want = sg.same_day_correlation(est, day), ref.same_day_correlation(est, day)
    assert got == pytest.approx(want, abs=1e-14)


def test_same_day_correlation_edge_pairs_match_the_reference():
    rng = np.random.default_rng(7)
    est, day = _clusters(rng, [12, 6], length=30, missing=0.1)
    est[0, :28] = np.nan  # two days left: every pair with it has < 3 common days
    est[1, ::2] = np.nan
    est[2, 1::2] = np.nan  # rows 1 and 2 share no day
    est[3] = np.where(np.isfinite(est[3]), 0.0, np.nan)  # no variation
    est[4] = 1.0  # no variation, every day present
    est[13] = np.nan  # nothing at all
    est[14, 5:8] = [0.5, 0.25, 0.75]
    est[14, np.r_[0:5, 8:30]] = np.nan  # exactly 3 days
    got, want = sg.same_day_correlation(est, day), ref.same_day_correlation(est, day)
    assert got == pytest.approx(want, abs=1e-14)
    assert sg.same_day_correlation(est[:0], day[:0]) == 0.0
    assert sg.same_day_correlation(est[:, :0], day) == 0.0


def test_same_day_correlation_aligns_dates_like_the_reference():
    """Rows of one day whose windows cover different calendar dates (a missing price row, a stock
    listed mid-window: dates -1), against the reference's union-of-dates alignment."""
    rng = np.random.default_rng(8)
    est, day = _clusters(rng, [9, 4, 1], length=40)
    dates = np.tile(np.arange(100, 140), (len(day), 1))
    dates[1] = np.r_[np.arange(99, 119), np.arange(120, 140)]  # no row on date 119
    dates[2, :10] = -1
    dates[10] = dates[10] + 3
    got, want = sg.same_day_correlation(est, day, dates), ref.same_day_correlation(est, day, dates)
    assert got == pytest.approx(want, abs=1e-14)
    same = np.tile(np.arange(100, 140), (len(day), 1))
    assert sg.same_day_correlation(est, day, same) == pytest.approx(ref.same_day_correlation(est, day), abs=1e-14)


def test_group_sums_are_each_groups_own_r():
    """One pair matrix per day gives every group's r and the pooled r, as the reference computes
    them group by group."""
    rng = np.random.default_rng(9)
    est, day = _clusters(rng, [30, 1, 17, 2, 45])
    code = rng.integers(0, 4, len(day))
    code[0] = 5  # a group of one event; group 4 is empty
    sums, total = sg.same_day_pair_sums(est, day, code, 6)
    n = len(day)
    assert total / (n * (n - 1) / 2) == pytest.approx(ref.same_day_correlation(est, day), abs=1e-14)
    for k in range(6):
        rows = code == k
        m = int(rows.sum())
        want = ref.same_day_correlation(est[rows], day[rows]) * (m * (m - 1) / 2)
        assert sums[k] == pytest.approx(want, abs=1e-13)
    # Clusters by (day, group) give the same group sums without forming the cross-group pairs.
    alone, _ = sg.same_day_pair_sums(est, day * 6 + code, code, 6)
    np.testing.assert_allclose(alone, sums, rtol=0, atol=1e-13)


def test_pair_moments_are_exact_integer_products():
    """The digits of each row times the digits or presence of another are float64 integers below
    2^53, so BLAS forms them exactly: the float product equals the int64 one."""
    rng = np.random.default_rng(10)
    x = rng.normal(size=(50, 250)) * np.exp(rng.normal(size=(50, 1)) * 3)
    bits = sg._digit_bits(x.shape[1])
    d1, d2, scale = sg._digits(x, bits)
    assert np.abs(d1).max() <= 2.0**bits and np.abs(d2).max() <= 2.0 ** (bits - 1)
    error = np.abs(scale[:, None] * (d1 + d2 * 2.0**-bits) - x)
    assert (error <= scale[:, None] * 2.0 ** (-bits - 1)).all()  # 2b bits of each row's largest |x|
    for a, b in ((d1, d1), (d1, d2), (d1 * d1, np.ones_like(d1)), (d1 * d2, np.ones_like(d1))):
        exact = a.astype(np.int64) @ b.astype(np.int64).T
        assert np.array_equal(a @ b.T, exact.astype(np.float64))
        assert np.abs(exact).max() < 2**53


def test_row_ranks_are_scipys_average_ranks():
    rng = np.random.default_rng(11)
    a = np.round(rng.normal(size=(200, 37)), 1)  # many ties
    a[rng.random(a.shape) < 0.1] = np.nan
    a[0] = np.nan
    a[1] = 2.5
    a[2, :5] = [0.0, -0.0, 0.0, np.nan, -0.0]
    a[3, :6] = [np.inf, -np.inf, 1.0, np.inf, np.nan, -np.inf]
    a[4, 1:] = np.nan  # a single value
    want = stats.rankdata(a, axis=1, nan_policy="omit")
    assert np.array_equal(sg.row_ranks(a), want, equal_nan=True)
    est, ev = a[:, :30], a[:, 30:]
    assert np.array_equal(sg.corrado_ranks(est, ev), ref.corrado_ranks(est, ev), equal_nan=True)
    assert sg.row_ranks(np.empty((0, 4))).shape == (0, 4)


def _car_table(rng: np.random.Generator, types: np.ndarray, day: np.ndarray, excluded: list) -> pl.DataFrame:
    """A CAR table of ``len(types)`` events with random CARs and two-day ARs (unit SEs)."""
    n = len(types)
    return pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "event_type": types,
            "event_day": day,
            "excluded_reason": excluded,
            "car": rng.normal(size=n),
            "car_se": np.full(n, 1.0),
            "ar": rng.normal(size=(n, 2)).tolist(),
            "ar_se": np.ones((n, 2)).tolist(),
            "estimation_days": np.full(n, 100),
            "model": ["market"] * n,
        },
        schema_overrides={"excluded_reason": pl.String, "event_day": pl.Date},
    )


def test_rbar_of_a_table_is_the_reference_per_group():
    """``significance_table``'s rbar column: each group's reference r and the pooled one."""
    rng = np.random.default_rng(12)
    est, day = _clusters(rng, [20, 9, 1, 33])
    n = len(day)
    types = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    car = _car_table(rng, types, day, [None] * n)
    est_frame = pl.DataFrame({"event_id": car["event_id"], "ar_estimation": est.tolist()})
    table = sg.significance_table(car, est_frame)
    for row in table.iter_rows(named=True):
        rows = np.ones(n, dtype=bool) if row["event_type"] == "all" else types == row["event_type"]
        assert row["rbar"] == pytest.approx(ref.same_day_correlation(est[rows], day[rows]), abs=1e-14)
    daily = sg.daily_significance(car, est_frame)
    assert daily.height == 2 * table.height


def test_p_values_and_quantiles_equal_scipy_stats_bit_for_bit() -> None:
    """significance reads Student t and normal tails from scipy.special (stdtr, stdtrit, ndtr), the
    functions scipy.stats.t / norm call, without importing scipy.stats (about 0.8 s per process):
    the same bits, NaN and infinities included."""
    x = np.r_[np.linspace(-40, 40, 801), 1e-300, 5e-324, 1e300, np.inf, -np.inf, np.nan, 0.0, -0.0]
    for df in (None, 1.0, 2.0, 3.5, 29.0, 61_999.0):
        got = np.array([sg._two_sided(v, df) for v in x])
        ref = 2 * (stats.norm.sf(np.abs(x)) if df is None else stats.t.sf(np.abs(x), df))
        np.testing.assert_array_equal(got, ref)
    q = np.r_[np.linspace(0.5, 1.0, 51), 0.975, 0.995]
    df = np.r_[1.0, 2.0, 5.0, 30.0, 1000.0, 61_999.0]
    np.testing.assert_array_equal(special.stdtrit(df[:, None], q[None, :]), stats.t.ppf(q[None, :], df[:, None]))


@pytest.mark.parametrize(
    ("size", "length", "missing"), [(2, 120, 0.05), (3, 5, 0.3), (166, 120, 0.04), (300, 40, 0.1), (257, 12, 0.0)]
)
def test_pair_sums_give_the_bits_of_the_frozen_form(size, length, missing):
    """The cluster's pair sums, from the G x 3c moments and one digit product less per block, are
    the bits of the form they replaced (one block, several blocks, every day present)."""
    rng = np.random.default_rng(size * 31 + length)
    est, _ = _clusters(rng, [size], length=length, missing=missing)
    est[0, : max(length - 2, 0)] = np.nan  # < 3 common days with every other row
    est[1] = np.where(np.isfinite(est[1]), 0.0, np.nan)  # no variation
    est[min(2, size - 1), :3] = -0.0
    x, present = sg._on_common_dates(est, None)
    spans = [(0, size // 3), (size // 3, size // 3 + 1), (size // 3 + 1, size)]
    block = min(size, sg._PAIR_BLOCK)
    upper = np.triu(np.ones((block, block)), k=1)
    got = sg._pair_correlation_sums(x, present, spans, np.empty(5 * block * size), upper)
    want = ref.pair_correlation_sums(x, present, spans, np.empty(5 * block * size), upper)
    assert np.array_equal(np.array([*got[0], got[1]]).view(np.int64), np.array([*want[0], want[1]]).view(np.int64))


def test_estimation_ars_in_the_tables_order_give_the_joined_tables_bits():
    """Estimation ARs in the order of the table's included events are taken as they are (no join);
    shuffled, with an extra event or with a dates column, they are joined: the tables are the same."""
    rng = np.random.default_rng(13)
    est, day = _clusters(rng, [20, 9, 1, 33])
    n = len(day)
    types = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    car = _car_table(rng, types, day, [None if i % 7 else "no_price" for i in range(n)])
    dates = np.tile(np.arange(19000, 19000 + est.shape[1]), (n, 1)).astype("datetime64[D]")
    dates[3, :5] = np.datetime64("NaT")
    frame = pl.DataFrame(
        {
            "event_id": car["event_id"],
            "ar_estimation": pl.Series(est, dtype=pl.Array(pl.Float64, est.shape[1])),
            "estimation_dates": pl.Series(dates.tolist(), dtype=pl.Array(pl.Date, est.shape[1])),
        }
    )
    in_order = frame.filter(
        pl.col("event_id").is_in(car.filter(pl.col("excluded_reason").is_null())["event_id"].implode())
    )
    want = sg.significance_table(car, frame.sample(fraction=1.0, shuffle=True, seed=1))
    assert sg.significance_table(car, in_order).equals(want)
    assert sg.significance_table(car, frame).equals(want)  # an extra (excluded) event: joined
    clash = in_order.with_columns(event_type=pl.lit("x"))
    assert sg.significance_table(car, clash).equals(want)  # a column of both: joined (the table's is read)
